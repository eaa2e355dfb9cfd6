package kernels

// sgemmGeneric is the reference loop every faster Sgemm path is tested against.
func sgemmGeneric(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	for i := 0; i < m; i++ {
		crow := c[i*ldc : i*ldc+n]
		if beta == 0 {
			for j := range crow {
				crow[j] = 0
			}
		} else if beta != 1 {
			for j := range crow {
				crow[j] *= beta
			}
		}
		for p := 0; p < k; p++ {
			var av float32
			if transA {
				av = a[p*lda+i]
			} else {
				av = a[i*lda+p]
			}
			av *= alpha
			if av == 0 {
				continue
			}
			if transB {
				for j := 0; j < n; j++ {
					crow[j] += av * b[j*ldb+p]
				}
			} else {
				brow := b[p*ldb : p*ldb+n]
				for j, bv := range brow {
					crow[j] += av * bv
				}
			}
		}
	}
}

// microGeneric is the micro-kernel contract in Go: C[i][j] (+)= Σ_p a[p*mr+i]·b[p*nr+j] for an mr×nr tile, then
// the fused epilogue ep (nil: none). Every assembly micro-kernel is tested against it.
func microGeneric(mr, nr, kc int, a, b, c []float32, ldc int, acc bool, ep *tileEp) {
	microGenericRows(mr, mr, nr, kc, a, b, c, ldc, acc, ep)
}

// microGenericRows is microGeneric for only the first rows rows of each mr-row A panel group (the edge kernels).
func microGenericRows(rows, mr, nr, kc int, a, b, c []float32, ldc int, acc bool, ep *tileEp) {
	var buf [16 * 64]float32
	t := buf[:rows*nr]
	for p := 0; p < kc; p++ {
		ap := a[p*mr : p*mr+rows]
		bp := b[p*nr : p*nr+nr]
		for i, av := range ap {
			row := t[i*nr : i*nr+nr]
			for j, bv := range bp {
				row[j] += av * bv
			}
		}
	}
	for i := 0; i < rows; i++ {
		dst := c[i*ldc : i*ldc+nr]
		src := t[i*nr : i*nr+nr]
		if acc {
			for j := range dst {
				dst[j] += src[j]
			}
		} else {
			copy(dst, src)
		}
		ep.apply(dst, i)
	}
}

// apply is the fused epilogue on row i of a tile, in the assembly's order: + bias[i], then max(lo, ·), min(hi, ·)
// with NaN passing through (as the Relu and Clip kernels do).
func (ep *tileEp) apply(row []float32, i int) {
	if ep == nil {
		return
	}
	if ep.bias != nil {
		b := ep.bias[i]
		for j := range row {
			row[j] += b
		}
	}
	if ep.clamp {
		for j, v := range row {
			if v < ep.lo {
				v = ep.lo
			}
			if v > ep.hi {
				v = ep.hi
			}
			row[j] = v
		}
	}
}
