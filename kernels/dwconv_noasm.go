//go:build !amd64 || purego

package kernels

// dwTaps computes out[i] = bias + Σ_t w[t]·buf[offs[t]+i] for i < n with the Go loop.
func dwTaps(out []float32, n int, buf []float32, offs []int, w []float32, bias float32) {
	dwTapsGeneric(out, n, buf, offs, w, bias)
}

// deinterleave2 sets even[i] = src[2i], odd[i] = src[2i+1] for i < n with the Go loop.
func deinterleave2(even, odd, src []float32, n int) { deinterleave2Generic(even, odd, src, n) }
