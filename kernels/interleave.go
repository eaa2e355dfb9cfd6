package kernels

// Interleave2 sets dst[2i] = a[i] + bias and dst[2i+1] = c[i] + bias for every i < len(a) (len(c) ≥ len(a),
// len(dst) ≥ 2·len(a)): an output row of a kernel-width-2, stride-2 transposed convolution (the upsampling of
// U-Net and DB text-detection heads) from its two taps' columns, bias added.
func Interleave2(dst, a, c []float32, bias float32) {
	n := len(a)
	c, dst = c[:n], dst[:2*n]
	done := interleave2Asm(dst, a, c, bias)
	interleave2Generic(dst[2*done:], a[done:], c[done:], bias)
}
