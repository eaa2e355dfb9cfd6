//go:build !purego

package kernels

// packA4x8AVX writes dst[p·mr+r] = alpha·a[r·lda+p] for r < 4 and p < 8·blocks: 4 rows of a row-major A
// transposed into the micro-kernel's panel layout, 8 columns at a time with in-lane 4×4 transposes (AVX).
//
//go:noescape
func packA4x8AVX(dst, a *float32, lda, mr, blocks int, alpha float32)

// packAPanelAsm packs one panel of A (packA's non-transposed case: rows ≤ mr rows of kc values, row i at
// a[i·lda:]) into dst, and reports whether it did: each group of 4 rows goes through packA4x8AVX, and the rows
// and columns past the last whole group and block in Go. Rows from rows to mr are zeroed.
func packAPanelAsm(dst, a []float32, lda, rows, mr, kc int, alpha float32) bool {
	if level < implAVX2 || kc < 8 || rows < 4 || mr < 4 {
		return false
	}
	blocks := kc / 8
	_, _ = dst[kc*mr-1], a[(rows-1)*lda+kc-1]
	r := 0
	for ; r+4 <= rows; r += 4 {
		packA4x8AVX(&dst[r], &a[r*lda], lda, mr, blocks, alpha)
		for p := blocks * 8; p < kc; p++ {
			for i := r; i < r+4; i++ {
				dst[p*mr+i] = alpha * a[i*lda+p]
			}
		}
	}
	for ; r < mr; r++ {
		if r >= rows {
			for p := range kc {
				dst[p*mr+r] = 0
			}
			continue
		}
		for p, v := range a[r*lda : r*lda+kc] {
			dst[p*mr+r] = alpha * v
		}
	}
	return true
}
