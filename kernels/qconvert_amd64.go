//go:build !purego

package kernels

// qquantizeAVX512 is qquantizeGeneric over n elements (a multiple of 16) with AVX-512F, for mode 0 (divide),
// 1 (multiply) or 2 (integer sums plus bias, multiplied); nan is the byte a NaN quotient stores.
//
//go:noescape
func qquantizeAVX512(y *uint8, x *float32, n int, scale, flo, fhi float32, zp int32, nan int32, mode int, bias int32)

// qdequantizeAVX512 is qdequantizeGeneric over n elements (a multiple of 16) with AVX-512F; signed is 0 or 1.
//
//go:noescape
func qdequantizeAVX512(y *float32, x *uint8, n int, signed int, zp, scale float32)

// qconvVector reports whether the conversions have a vector path at the current integer level (tests switch
// qlevel to the generic one to check the twin). The AVX2 machines without AVX-512 take the twin.
func qconvVector() bool { return qlevel == qimplVNNI }

// qquantizeVec converts the longest multiple-of-16 prefix of x and returns its length.
func qquantizeVec(y []uint8, x []float32, mode qconvMode, bias int32, scale float32, zp, lo, hi int32) int {
	n := len(x) &^ 15
	if n == 0 || !qconvVector() {
		return 0
	}
	_ = y[n-1]
	qquantizeAVX512(&y[0], &x[0], n, scale, float32(lo-zp), float32(hi-zp), zp, max(lo, min(hi, 0)), int(mode), bias)
	return n
}

// qdequantizeVec converts the longest multiple-of-16 prefix of x and returns its length.
func qdequantizeVec(y []float32, x []uint8, signed bool, zp, scale float32) int {
	n := len(x) &^ 15
	if n == 0 || !qconvVector() {
		return 0
	}
	_ = y[n-1]
	s := 0
	if signed {
		s = 1
	}
	qdequantizeAVX512(&y[0], &x[0], n, s, zp, scale)
	return n
}

// qtoNHWCAVX512 is qtoNHWCGeneric over 16 channels (planes stride bytes apart from src) and nblk·64 pixels, with
// AVX-512BW: each block of 16 planes × 64 pixels is transposed by four rounds of unpacks (bytes, words, dwords,
// quadwords) within the 128-bit lanes, which leave each pixel's 16 channels in one lane.
//
//go:noescape
func qtoNHWCAVX512(dst *uint8, src *uint8, c int, stride int, nblk int, flip uint8)

// qhasBW reports AVX-512BW, which the byte unpacks of qtoNHWCAVX512 need beyond AVX-512F.
var qhasBW = X86.AVX512BW

// qtoNHWCVec transposes channels [0, c16) × pixels [0, n64) for QToNHWC and returns c16 and n64 (both 0 when it
// did nothing). With at least 16 channels and 64 pixels it covers them all (c16 = c, n64 = n): a channel count or
// pixel count that is no multiple of 16 or 64 takes one more block ending at the last channel or pixel,
// overlapping the one before it, which rewrites the same bytes. The generic edges cost ResNet-18's 7×7 stem (21
// channels, rows of 229 pixels) twice the vector part.
func qtoNHWCVec(dst, src []uint8, c, n, stride int, flip uint8) (c16, n64 int) {
	if c < 16 || n < 64 || !qconvVector() || !qhasBW {
		return 0, 0
	}
	// QToNHWC has checked that the last channel's last pixel and the last output byte exist.
	nblk := n / 64
	for ch := 0; ch < c; ch += 16 {
		ch = min(ch, c-16)
		qtoNHWCAVX512(&dst[ch], &src[ch*stride], c, stride, nblk, flip)
		if n%64 != 0 {
			qtoNHWCAVX512(&dst[(n-64)*c+ch], &src[ch*stride+n-64], c, stride, 1, flip)
		}
	}
	return c, n
}

// qbinaryAVX512 is qbinaryGeneric over n elements (a multiple of 16) with AVX-512F: each operand's bytes xor-ed
// with its flip, widened, converted, less its (moved) zero point and scaled, then summed (mul 0) or multiplied
// (mul 1), divided by the output scale and quantized as qquantizeAVX512 does.
//
//go:noescape
func qbinaryAVX512(y, a, b *uint8, n int, fa, fb uint8, za, sa, zb, sb, sc, flo, fhi float32, zc, nan int32, mul int)

// qbinaryVec computes the longest multiple-of-16 prefix of y and returns its length.
func qbinaryVec(y, a, b []uint8, qa, qb, qc Q8, mul bool) int {
	n := len(y) &^ 15
	if n == 0 || !qconvVector() {
		return 0
	}
	_, _, _ = y[n-1], a[n-1], b[n-1]
	lo, hi := qc.bounds()
	fa, za := qa.qflip()
	fb, zb := qb.qflip()
	m := 0
	if mul {
		m = 1
	}
	qbinaryAVX512(&y[0], &a[0], &b[0], n, fa, fb, za, qa.Scale, zb, qb.Scale, qc.Scale, float32(lo-qc.Zero), float32(hi-qc.Zero),
		qc.Zero, max(lo, min(hi, 0)), m)
	return n
}
