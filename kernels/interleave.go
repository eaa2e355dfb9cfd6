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

// InterleaveBytes sets dst[2i] = a[i] and dst[2i+1] = c[i] for every i < len(a) (len(c) ≥ len(a), len(dst) ≥
// 2·len(a); dst must not overlap a or c): Interleave2 for 8-bit outputs, and with c = a the 2× nearest upsampling
// of a row.
func InterleaveBytes(dst, a, c []byte) {
	n := len(a)
	c, dst = c[:n], dst[:2*n]
	done := interleaveBytesAsm(dst, a, c)
	interleaveBytesGeneric(dst[2*done:], a[done:], c[done:])
}
