//go:build !amd64 || purego

package kernels

// dwTaps computes out[i] = bias + Σ_t w[t]·buf[offs[t]+i] for i < n with the Go loop.
func dwTaps(out []float32, n int, buf []float32, offs []int, w []float32, bias float32) {
	dwTapsGeneric(out, n, buf, offs, w, bias)
}

// deinterleave2 sets even[i] = src[2i], odd[i] = src[2i+1] for i < n with the Go loop.
func deinterleave2(even, odd, src []float32, n int) { deinterleave2Generic(even, odd, src, n) }

// dwRowsVector reports whether dwRows runs vector code; the Go twin is slower than the tap-loop path's.
func dwRowsVector() bool { return false }

// dwRows computes oh output rows of ow columns straight into y with the Go loop.
func dwRows(y []float32, ow, oh int, src []float32, rowStep int, offs []int, w []float32, bias float32, e *dwEpi) {
	dwRowsGeneric(y, ow, oh, src, rowStep, offs, w, bias, e)
}

// copyRows copies rows runs of n floats with the Go loop.
func copyRows(dst []float32, dstStride int, src []float32, srcStride int, n, rows int) {
	copyRowsGeneric(dst, dstStride, src, srcStride, n, rows)
}

// dwS2K3 computes 3×3 stride-2 depthwise output rows with the Go loop.
func dwS2K3(y []float32, ow, oh int, rows *[3][]float32, inStep, iw, padLeft int, w []float32, bias float32, e *dwEpi) {
	dwS2K3Generic(y, ow, oh, rows, inStep, iw, padLeft, w, bias, e)
}
