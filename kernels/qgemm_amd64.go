//go:build !purego

package kernels

// qmaxImpl is the best integer SIMD level this CPU supports. VNNI needs AVX-512F (for the zmm loads and
// broadcasts) plus AVX512_VNNI.
var qmaxImpl = func() qimpl {
	switch {
	case X86.AVX512F && X86.AVX512VNNI:
		return qimplVNNI
	case X86.AVX2:
		return qimplAVX2
	}
	return qimplGeneric
}()

// qgemmKernel8x32VNNI is the AVX-512 VNNI micro-kernel: qmicroGeneric(kp, lda, a, b, c, ldc, init) with kg = kp/4
// groups, the 8 rows of a at stride kp, and 16 zmm accumulators (two per row) fed by VPDPBUSD.
//
//go:noescape
func qgemmKernel8x32VNNI(kg int, a *uint8, kp int, b *int8, c *int32, ldc int, init *int32)

// qgemmKernel1x32VNNI is the AVX-512 VNNI micro-kernel for one row: c[j] = init[j] + Σ_k a[k]·b[k/4*128+j*4+k%4]
// for j < 32, over kg groups of 4 k. QGemmPacked runs it on the rows of a last row block of at most 3 rows,
// where the 8-row kernel would spend most of its multiply-adds on padding (ResNet-18's 7×7 layer4 maps: 49
// pixels, 6 blocks and one row).
//
//go:noescape
func qgemmKernel1x32VNNI(kg int, a *uint8, b *int8, c *int32, init *int32)

// qgemmKernel1x32AVX2 is the AVX2 micro-kernel for one row: c[j] = init[j] + Σ_k a[k]·b[k/4*128+j*4+k%4] for
// j < 32, over kg groups of 4 k. Bytes are widened to int16 and multiplied with VPMADDWD, which is exact
// (VPMADDUBSW would saturate 255·127 + 255·127 at int16).
//
//go:noescape
func qgemmKernel1x32AVX2(kg int, a *uint8, b *int8, c *int32, init *int32)

// qgemmKernel8x32F32VNNI is qgemmKernel8x32VNNI dequantizing as it stores: c[i·ldc + j] = float32(Σ + init[j])·
// scale[j] + fbias[j] (fbias nil: no addition), the GEMM epilogue of MatMulIntegerToFloat done in registers.
//
//go:noescape
func qgemmKernel8x32F32VNNI(kg int, a *uint8, kp int, b *int8, c *float32, ldc int, init *int32, scale *float32, fbias *float32)

// qmicroF32For returns the dequantizing micro-kernel for full tiles at an integer SIMD level, or nil where there
// is none (the tile then goes through qepilogue).
func qmicroF32For(l qimpl) func(kp, lda int, a []uint8, b []int8, c []float32, ldc int, init []int32, scale, fbias []float32) {
	if l == qimplVNNI {
		return qmicroF32VNNI
	}
	return nil
}

func qmicroF32VNNI(kp, lda int, a []uint8, b []int8, c []float32, ldc int, init []int32, scale, fbias []float32) {
	if kp == 0 {
		qmicroF32Generic(kp, lda, a, b, c, ldc, init, scale, fbias)
		return
	}
	_, _, _, _, _ = a[(qgemmMR-1)*lda+kp-1], b[kp*qgemmNR-1], c[(qgemmMR-1)*ldc+qgemmNR-1], init[qgemmNR-1], scale[qgemmNR-1]
	var fb *float32
	if fbias != nil {
		_ = fbias[qgemmNR-1]
		fb = &fbias[0]
	}
	qgemmKernel8x32F32VNNI(kp/qgemmKU, &a[0], lda, &b[0], &c[0], ldc, &init[0], &scale[0], fb)
}

// qgemmKernel8x32Q8VNNI is qgemmKernel8x32VNNI requantizing as it stores: row i of c (ldc bytes apart) gets
// qrequantRowGeneric of the tile's row with corrections init, multipliers scale and clamps flo, fhi around zp.
//
//go:noescape
func qgemmKernel8x32Q8VNNI(kg int, a *uint8, kp int, b *int8, c *uint8, ldc int, init *int32, scale *float32, flo, fhi float32, zp int32)

// qmicroQ8For returns the requantizing micro-kernel for full tiles at an integer SIMD level, or nil where there is
// none (the tile then goes through qepilogue).
func qmicroQ8For(l qimpl) func(kp, lda int, a []uint8, b []int8, c []uint8, ldc int, init []int32, scale []float32, flo, fhi float32, zp int32) {
	if l == qimplVNNI {
		return qmicroQ8VNNI
	}
	return nil
}

func qmicroQ8VNNI(kp, lda int, a []uint8, b []int8, c []uint8, ldc int, init []int32, scale []float32, flo, fhi float32, zp int32) {
	if kp == 0 {
		qmicroQ8Generic(kp, lda, a, b, c, ldc, init, scale, flo, fhi, zp)
		return
	}
	_, _, _, _, _ = a[(qgemmMR-1)*lda+kp-1], b[kp*qgemmNR-1], c[(qgemmMR-1)*ldc+qgemmNR-1], init[qgemmNR-1], scale[qgemmNR-1]
	qgemmKernel8x32Q8VNNI(kp/qgemmKU, &a[0], lda, &b[0], &c[0], ldc, &init[0], &scale[0], flo, fhi, zp)
}

// qrequantRowAVX512 is qrequantRowGeneric over n elements (a multiple of 16) with AVX-512F.
//
//go:noescape
func qrequantRowAVX512(t *int32, corr *int32, scale *float32, d *uint8, n int, flo, fhi float32, zp int32)

// qdequantRowAVX512 is qdequantRowGeneric over n elements (a multiple of 16) with AVX-512F; fbias may be nil.
//
//go:noescape
func qdequantRowAVX512(t *int32, corr *int32, scale *float32, fbias *float32, d *float32, n int)

// qdequantFor returns the float32 row epilogue for an integer SIMD level.
func qdequantFor(l qimpl) func(t, corr []int32, scale, fbias, d []float32) {
	switch l {
	case qimplVNNI:
		return qdequantRowVec
	case qimplAVX2:
		return qdequantRowVecAVX2
	}
	return qdequantRowGeneric
}

func qdequantRowVec(t, corr []int32, scale, fbias, d []float32) {
	qdequantRowWith(qdequantRowAVX512, 16, t, corr, scale, fbias, d)
}

// qdequantRowWith runs a vector row epilogue on the longest prefix of d that is a multiple of its width and the
// twin on the rest.
func qdequantRowWith(kernel func(t, corr *int32, scale, fbias, d *float32, n int), width int, t, corr []int32, scale, fbias, d []float32) {
	n := len(d) / width * width
	if n > 0 {
		_, _, _ = t[n-1], corr[n-1], scale[n-1]
		var fb *float32
		if fbias != nil {
			_ = fbias[n-1]
			fb = &fbias[0]
		}
		kernel(&t[0], &corr[0], &scale[0], fb, &d[0], n)
	}
	if n < len(d) {
		if fbias != nil {
			fbias = fbias[n:]
		}
		qdequantRowGeneric(t[n:], corr[n:], scale[n:], fbias, d[n:])
	}
}

// qrequantTileTransAVX512 is qrequantTileTransGeneric with AVX-512F: the requantizing of qrequantRowAVX512 on
// all 8 rows, then an 8×16 byte transpose per half so each column's 8 rows leave as one 8-byte store.
//
//go:noescape
func qrequantTileTransAVX512(t *int32, corr *int32, scale *float32, d *uint8, ldd int, flo, fhi float32, zp int32, halves int)

// qrequantTileFor returns the transposing tile epilogue for an integer SIMD level.
func qrequantTileFor(l qimpl) func(t, corr []int32, scale []float32, d []uint8, ldd int, flo, fhi float32, zp int32, cols int) {
	switch l {
	case qimplVNNI:
		return qrequantTileTransVec
	case qimplAVX2:
		return qrequantTileTransVecAVX2
	}
	return qrequantTileTransGeneric
}

func qrequantTileTransVec(t, corr []int32, scale []float32, d []uint8, ldd int, flo, fhi float32, zp int32, cols int) {
	if cols != qgemmNR && cols != qgemmNR/2 {
		qrequantTileTransGeneric(t, corr, scale, d, ldd, flo, fhi, zp, cols)
		return
	}
	_, _, _, _ = t[qgemmMR*qgemmNR-1], corr[qgemmNR-1], scale[qgemmNR-1], d[(cols-1)*ldd+qgemmMR-1]
	qrequantTileTransAVX512(&t[0], &corr[0], &scale[0], &d[0], ldd, flo, fhi, zp, cols/16)
}

// qtileTrans32AVX512 is qtileTrans32Generic with AVX-512F: each half's 8 rows of 16 values are transposed by two
// rounds of unpacks within the 128-bit lanes, after which every column's 8 rows are two 16-byte stores.
//
//go:noescape
func qtileTrans32AVX512(t *int32, corr *int32, scale *float32, fbias *float32, d *int32, ldd int, mode int)

// qtileTrans32For returns the transposing int32/float32 tile epilogue for an integer SIMD level.
func qtileTrans32For(l qimpl) func(t, corr []int32, scale, fbias []float32, d []int32, ldd int, mode qtileMode) {
	switch l {
	case qimplVNNI:
		return qtileTrans32Vec
	case qimplAVX2:
		return qtileTrans32VecAVX2
	}
	return qtileTrans32Generic
}

func qtileTrans32Vec(t, corr []int32, scale, fbias []float32, d []int32, ldd int, mode qtileMode) {
	_, _, _, _, _ = t[qgemmMR*qgemmNR-1], corr[qgemmNR-1], scale[qgemmNR-1], fbias[qgemmNR-1], d[(qgemmNR-1)*ldd+qgemmMR-1]
	qtileTrans32AVX512(&t[0], &corr[0], &scale[0], &fbias[0], &d[0], ldd, int(mode))
}

// qrequantFor returns the requantizing epilogue for an integer SIMD level: the AVX-512 one on VNNI machines
// (which have AVX-512F), the AVX2 one on AVX2 machines.
func qrequantFor(l qimpl) func(t, corr []int32, scale []float32, d []uint8, flo, fhi float32, zp int32) {
	switch l {
	case qimplVNNI:
		return qrequantRowVec
	case qimplAVX2:
		return qrequantRowVecAVX2
	}
	return qrequantRowGeneric
}

func qrequantRowVec(t, corr []int32, scale []float32, d []uint8, flo, fhi float32, zp int32) {
	qrequantRowWith(qrequantRowAVX512, 16, t, corr, scale, d, flo, fhi, zp)
}

// qrequantRowWith runs a vector requantizing row epilogue on the longest prefix of d that is a multiple of its
// width and the twin on the rest.
func qrequantRowWith(kernel func(t, corr *int32, scale *float32, d *uint8, n int, flo, fhi float32, zp int32), width int,
	t, corr []int32, scale []float32, d []uint8, flo, fhi float32, zp int32) {
	n := len(d) / width * width
	if n > 0 {
		_, _, _ = t[n-1], corr[n-1], scale[n-1]
		kernel(&t[0], &corr[0], &scale[0], &d[0], n, flo, fhi, zp)
	}
	if n < len(d) {
		qrequantRowGeneric(t[n:], corr[n:], scale[n:], d[n:], flo, fhi, zp)
	}
}

func qmicroVNNI(kp, lda int, a []uint8, b []int8, c []int32, ldc int, init []int32) {
	if kp == 0 { // K = 0: nothing to point the assembly at
		qmicroGeneric(kp, lda, a, b, c, ldc, init)
		return
	}
	// Bounds checks up front keep the assembly inside the slices.
	_, _, _, _ = a[(qgemmMR-1)*lda+kp-1], b[kp*qgemmNR-1], c[(qgemmMR-1)*ldc+qgemmNR-1], init[qgemmNR-1]
	qgemmKernel8x32VNNI(kp/qgemmKU, &a[0], lda, &b[0], &c[0], ldc, &init[0])
}

// qmicroRowsVNNI is qmicroGenericRows on the one-row VNNI kernel.
func qmicroRowsVNNI(rows, kp, lda int, a []uint8, b []int8, c []int32, ldc int, init []int32) {
	qmicroRowByRow(qgemmKernel1x32VNNI, rows, kp, lda, a, b, c, ldc, init)
}

// qmicroRowByRow runs a one-row kernel on each of the first rows rows.
func qmicroRowByRow(kernel func(kg int, a *uint8, b *int8, c *int32, init *int32), rows, kp, lda int, a []uint8, b []int8, c []int32, ldc int, init []int32) {
	if kp == 0 || rows <= 0 { // K = 0: nothing to point the assembly at
		qmicroGenericRows(rows, kp, lda, a, b, c, ldc, init)
		return
	}
	_, _, _, _ = a[(rows-1)*lda+kp-1], b[kp*qgemmNR-1], c[(rows-1)*ldc+qgemmNR-1], init[qgemmNR-1]
	for i := 0; i < rows; i++ {
		kernel(kp/qgemmKU, &a[i*lda], &b[0], &c[i*ldc], &init[0])
	}
}

// qmicroRowsFor returns the micro-kernel for fewer than qgemmMR rows at an integer SIMD level.
func qmicroRowsFor(l qimpl) func(rows, kp, lda int, a []uint8, b []int8, c []int32, ldc int, init []int32) {
	switch l {
	case qimplVNNI:
		return qmicroRowsVNNI
	case qimplAVX2:
		return qmicroRowsAVX2
	}
	return qmicroGenericRows
}

// qmicroFor returns the micro-kernel for an integer SIMD level.
func qmicroFor(l qimpl) func(kp, lda int, a []uint8, b []int8, c []int32, ldc int, init []int32) {
	switch l {
	case qimplVNNI:
		return qmicroVNNI
	case qimplAVX2:
		return qmicroAVX2
	}
	return qmicroGeneric
}
