//go:build !purego

package kernels

// qgemmKernel8x16VNNI is qgemmKernel8x32VNNI for the panel's first 16 columns: qmicroGenericN(16, …), with 8 zmm
// accumulators; c's columns 16–31 are not touched.
//
//go:noescape
func qgemmKernel8x16VNNI(kg int, a *uint8, kp int, b *int8, c *int32, ldc int, init *int32)

// qgemmKernel8x24VNNI is qgemmKernel8x32VNNI for the panel's first 24 columns: qmicroGenericN(24, …), with 8 zmm
// and 8 ymm accumulators; c's columns 24–31 are not touched.
//
//go:noescape
func qgemmKernel8x24VNNI(kg int, a *uint8, kp int, b *int8, c *int32, ldc int, init *int32)

func qmicroVNNI16(kp, lda int, a []uint8, b []int8, c []int32, ldc int, init []int32) {
	if kp == 0 {
		qmicroGenericN(16, kp, lda, a, b, c, ldc, init)
		return
	}
	_, _, _, _ = a[(qgemmMR-1)*lda+kp-1], b[kp*qgemmNR-1], c[(qgemmMR-1)*ldc+15], init[15]
	qgemmKernel8x16VNNI(kp/qgemmKU, &a[0], lda, &b[0], &c[0], ldc, &init[0])
}

func qmicroVNNI24(kp, lda int, a []uint8, b []int8, c []int32, ldc int, init []int32) {
	if kp == 0 {
		qmicroGenericN(24, kp, lda, a, b, c, ldc, init)
		return
	}
	_, _, _, _ = a[(qgemmMR-1)*lda+kp-1], b[kp*qgemmNR-1], c[(qgemmMR-1)*ldc+23], init[23]
	qgemmKernel8x24VNNI(kp/qgemmKU, &a[0], lda, &b[0], &c[0], ldc, &init[0])
}

// qmicroNarrowFor returns a micro-kernel for a panel of cols < qgemmNR columns that computes only the first w ≥
// cols of them, or nil where the level has none (the full kernel then serves).
func qmicroNarrowFor(l qimpl, cols int) (micro func(kp, lda int, a []uint8, b []int8, c []int32, ldc int, init []int32), w int) {
	if l == qimplAVX2 { // the 4×8 kernel covers any multiple of 8 columns
		switch {
		case cols <= 8:
			return qmicroAVX2x8, 8
		case cols <= 16:
			return qmicroAVX2x16, 16
		case cols <= 24:
			return qmicroAVX2x24, 24
		}
		return nil, qgemmNR
	}
	if l != qimplVNNI || !X86.AVX512VL { // the ymm VPDPBUSD is AVX512VL
		return nil, qgemmNR
	}
	switch {
	case cols <= 16:
		return qmicroVNNI16, 16
	case cols <= 24:
		return qmicroVNNI24, 24
	}
	return nil, qgemmNR
}
