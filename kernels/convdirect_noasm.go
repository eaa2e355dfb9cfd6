//go:build !amd64 || purego

package kernels

// convRowsVector reports whether convRows runs vector code; the Go twin is slower than im2col and the GEMM.
func convRowsVector() bool { return false }

// convRows computes 16 channels of oh output rows with the Go loop.
func convRows(y []float32, yStride, ow, oh int, src []float32, rowStep int, offs []int, w, bias []float32, clamp bool, lo, hi float32) {
	convRowsGeneric(y, yStride, ow, oh, src, rowStep, offs, w, bias, clamp, lo, hi)
}
