//go:build !amd64 || purego

package kernels

// qmaxImpl is generic: this build has no assembly.
const qmaxImpl = qimplGeneric

// qmicroFor returns the pure-Go micro-kernel.
func qmicroFor(qimpl) func(kp, lda int, a []uint8, b []int8, c []int32, ldc int, init []int32) {
	return qmicroGeneric
}

// qmicroRowsFor returns the pure-Go micro-kernel for fewer than qgemmMR rows.
func qmicroRowsFor(qimpl) func(rows, kp, lda int, a []uint8, b []int8, c []int32, ldc int, init []int32) {
	return qmicroGenericRows
}

// qmicroNarrowFor has no narrow kernels to offer: the pure-Go one computes whole panels.
func qmicroNarrowFor(qimpl, int) (func(kp, lda int, a []uint8, b []int8, c []int32, ldc int, init []int32), int) {
	return nil, qgemmNR
}

// qrequantFor returns the pure-Go requantizing epilogue.
func qrequantFor(qimpl) func(t, corr []int32, scale []float32, d []uint8, flo, fhi float32, zp int32) {
	return qrequantRowGeneric
}

// qdequantFor returns the pure-Go float32 row epilogue.
func qdequantFor(qimpl) func(t, corr []int32, scale, fbias, d []float32) {
	return qdequantRowGeneric
}

// qrequantTileFor returns the pure-Go transposing tile epilogue.
func qrequantTileFor(qimpl) func(t, corr []int32, scale []float32, d []uint8, ldd int, flo, fhi float32, zp int32, cols int) {
	return qrequantTileTransGeneric
}

// qtileTrans32For returns the pure-Go transposing int32/float32 tile epilogue.
func qtileTrans32For(qimpl) func(t, corr []int32, scale, fbias []float32, d []int32, ldd int, mode qtileMode) {
	return qtileTrans32Generic
}

// qmicroF32For has no dequantizing micro-kernel: tiles go through qepilogue.
func qmicroF32For(qimpl) func(kp, lda int, a []uint8, b []int8, c []float32, ldc int, init []int32, scale, fbias []float32) {
	return nil
}

// qmicroQ8For has no requantizing micro-kernel: tiles go through qepilogue.
func qmicroQ8For(qimpl) func(kp, lda int, a []uint8, b []int8, c []uint8, ldc int, init []int32, scale []float32, flo, fhi float32, zp int32) {
	return nil
}
