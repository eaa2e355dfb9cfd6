//go:build !purego

package kernels

// qgemmKernel4x8AVX2 is the AVX2 micro-kernel for 4 rows × 8 columns: c[i·ldc + j] = init[j] + Σ_k
// a[i·lda + k]·b[k/4·128 + j·4 + k%4] for i < 4, j < 8, over kg groups of 4 k; b points at the 8 columns within
// a 32-column packed panel. Each group's B bytes are widened to int16 once and serve all 4 rows (VPMADDWD, exact:
// VPMADDUBSW would saturate 255·127 + 255·127 at int16); the one-row kernel widens them for every row, which
// left the AVX2 GEMM at about the fp32 one's speed.
//
//go:noescape
func qgemmKernel4x8AVX2(kg int, a *uint8, lda int, b *int8, c *int32, ldcBytes int, init *int32)

// qmicroAVX2 is qmicroGeneric on the 4×8 kernel: two row halves × four column octets.
func qmicroAVX2(kp, lda int, a []uint8, b []int8, c []int32, ldc int, init []int32) {
	qmicroAVX2RW(qgemmMR, qgemmNR, kp, lda, a, b, c, ldc, init)
}

// qmicroAVX2x8, x16 and x24 are qmicroGenericN's AVX2 kernels for a last panel's first 8, 16 or 24 columns.
func qmicroAVX2x8(kp, lda int, a []uint8, b []int8, c []int32, ldc int, init []int32) {
	qmicroAVX2RW(qgemmMR, 8, kp, lda, a, b, c, ldc, init)
}

func qmicroAVX2x16(kp, lda int, a []uint8, b []int8, c []int32, ldc int, init []int32) {
	qmicroAVX2RW(qgemmMR, 16, kp, lda, a, b, c, ldc, init)
}

func qmicroAVX2x24(kp, lda int, a []uint8, b []int8, c []int32, ldc int, init []int32) {
	qmicroAVX2RW(qgemmMR, 24, kp, lda, a, b, c, ldc, init)
}

// qmicroRowsAVX2 is qmicroGenericRows with AVX2: the 4×8 kernel on a block of 4 rows, the one-row kernel on the
// rest.
func qmicroRowsAVX2(rows, kp, lda int, a []uint8, b []int8, c []int32, ldc int, init []int32) {
	qmicroAVX2RW(rows, qgemmNR, kp, lda, a, b, c, ldc, init)
}

// qmicroAVX2RW computes the first rows rows and w columns (a multiple of 8) of the tile, as qmicroGenericRW.
func qmicroAVX2RW(rows, w, kp, lda int, a []uint8, b []int8, c []int32, ldc int, init []int32) {
	if kp == 0 || rows <= 0 { // K = 0: nothing to point the assembly at
		qmicroGenericRW(rows, w, kp, lda, a, b, c, ldc, init)
		return
	}
	// Bounds checks up front keep the assembly inside the slices.
	_, _, _, _ = a[(rows-1)*lda+kp-1], b[kp*qgemmNR-1], c[(rows-1)*ldc+w-1], init[w-1]
	kg := kp / qgemmKU
	i := 0
	for ; i+4 <= rows; i += 4 {
		for j := 0; j < w; j += 8 {
			qgemmKernel4x8AVX2(kg, &a[i*lda], lda, &b[j*qgemmKU], &c[i*ldc+j], ldc*4, &init[j])
		}
	}
	for ; i < rows; i++ {
		if w == qgemmNR {
			qgemmKernel1x32AVX2(kg, &a[i*lda], &b[0], &c[i*ldc], &init[0])
			continue
		}
		var row [qgemmNR]int32 // the one-row kernel writes all 32 columns; c's columns from w keep their values
		qgemmKernel1x32AVX2(kg, &a[i*lda], &b[0], &row[0], &init[0])
		copy(c[i*ldc:i*ldc+w], row[:w])
	}
}
