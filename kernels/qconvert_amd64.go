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

// qquantizeAVX2 is qquantizeAVX512 with AVX2 (qconvert_avx2_amd64.s), for zero points that leave lo − zp and
// hi − zp inside int16 (it packs the rounded quotients to words before adding zp).
//
//go:noescape
func qquantizeAVX2(y *uint8, x *float32, n int, scale, flo, fhi float32, zp int32, nan int32, mode int, bias int32)

// qdequantizeAVX2 is qdequantizeAVX512 with AVX2.
//
//go:noescape
func qdequantizeAVX2(y *float32, x *uint8, n int, signed int, zp, scale float32)

// qconvAVX512 reports whether the conversions take their AVX-512 routines at the current integer level (tests
// switch qlevel to check each level against the twin); qconvAVX2, whether they take the AVX2 ones. A machine with
// AVX2 but no AVX-512 runs at qimplAVX2.
func qconvAVX512() bool { return qlevel == qimplVNNI }
func qconvAVX2() bool   { return qlevel == qimplAVX2 }

// qconvWords reports whether quantizing to [lo, hi] around zp suits the AVX2 routines: the rounded quotients, in
// [lo − zp, hi − zp], must fit int16 without reaching −32768 (the word they mark a NaN with). Any zero point in
// the 8-bit range does.
func qconvWords(zp, lo, hi int32) bool {
	return int64(lo)-int64(zp) > -32768 && int64(hi)-int64(zp) < 32768
}

// qquantizeVec converts the longest multiple-of-16 prefix of x and returns its length.
func qquantizeVec(y []uint8, x []float32, mode qconvMode, bias int32, scale float32, zp, lo, hi int32) int {
	n := len(x) &^ 15
	if n == 0 {
		return 0
	}
	_ = y[n-1]
	flo, fhi, nan := float32(lo-zp), float32(hi-zp), max(lo, min(hi, 0))
	switch {
	case qconvAVX512():
		qquantizeAVX512(&y[0], &x[0], n, scale, flo, fhi, zp, nan, int(mode), bias)
	case qconvAVX2() && qconvWords(zp, lo, hi):
		qquantizeAVX2(&y[0], &x[0], n, scale, flo, fhi, zp, nan, int(mode), bias)
	default:
		return 0
	}
	return n
}

// qdequantizeVec converts the longest multiple-of-16 prefix of x and returns its length.
func qdequantizeVec(y []float32, x []uint8, signed bool, zp, scale float32) int {
	n := len(x) &^ 15
	if n == 0 {
		return 0
	}
	_ = y[n-1]
	s := 0
	if signed {
		s = 1
	}
	switch {
	case qconvAVX512():
		qdequantizeAVX512(&y[0], &x[0], n, s, zp, scale)
	case qconvAVX2():
		qdequantizeAVX2(&y[0], &x[0], n, s, zp, scale)
	default:
		return 0
	}
	return n
}

// qtoNHWCAVX512 is qtoNHWCGeneric over 16 channels (planes stride bytes apart from src) and nblk·64 pixels, with
// AVX-512BW: each block of 16 planes × 64 pixels is transposed by four rounds of unpacks (bytes, words, dwords,
// quadwords) within the 128-bit lanes, which leave each pixel's 16 channels in one lane.
//
//go:noescape
func qtoNHWCAVX512(dst *uint8, src *uint8, c int, stride int, nblk int, flip uint8)

// qtoNHWCAVX2 is qtoNHWCAVX512 with AVX2, over nblk·32 pixels: each block of 16 planes × 32 pixels takes the same
// four rounds of unpacks within the 128-bit lanes, channels 8–15 first (their three rounds wait in the frame: 16
// ymm registers hold only one half at a time), and leaves pixel p and p + 16 in the two lanes of one register.
//
//go:noescape
func qtoNHWCAVX2(dst *uint8, src *uint8, c int, stride int, nblk int, flip uint8)

// qhasBW reports AVX-512BW, which the byte unpacks of qtoNHWCAVX512 need beyond AVX-512F.
var qhasBW = X86.AVX512BW

// qtoNHWCVec transposes channels [0, c16) × pixels [0, nv) for QToNHWC and returns c16 and nv (both 0 when it did
// nothing). With at least 16 channels and a block of pixels (64 for AVX-512, 32 for AVX2) it covers them all
// (c16 = c, nv = n): a channel count or pixel count that is no multiple of 16 or of the block takes one more block
// ending at the last channel or pixel, overlapping the one before it, which rewrites the same bytes. The generic
// edges cost ResNet-18's 7×7 stem (21 channels, rows of 229 pixels) twice the vector part.
func qtoNHWCVec(dst, src []uint8, c, n, stride int, flip uint8) (c16, nv int) {
	wide := qconvAVX512() && qhasBW // else AVX2, at qimplAVX2 or on AVX-512 without BW
	if c < 16 || qlevel == qimplGeneric {
		return 0, 0
	}
	block := 32
	if wide {
		block = 64
	}
	if n < block {
		return 0, 0
	}
	// QToNHWC has checked that the last channel's last pixel and the last output byte exist.
	nblk := n / block
	for ch := 0; ch < c; ch += 16 {
		ch = min(ch, c-16)
		if wide {
			qtoNHWCAVX512(&dst[ch], &src[ch*stride], c, stride, nblk, flip)
			if n%block != 0 {
				qtoNHWCAVX512(&dst[(n-block)*c+ch], &src[ch*stride+n-block], c, stride, 1, flip)
			}
			continue
		}
		qtoNHWCAVX2(&dst[ch], &src[ch*stride], c, stride, nblk, flip)
		if n%block != 0 {
			qtoNHWCAVX2(&dst[(n-block)*c+ch], &src[ch*stride+n-block], c, stride, 1, flip)
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

// qbinaryAVX2 is qbinaryAVX512 with AVX2, for an output zero point that suits it (qconvWords).
//
//go:noescape
func qbinaryAVX2(y, a, b *uint8, n int, fa, fb uint8, za, sa, zb, sb, sc, flo, fhi float32, zc, nan int32, mul int)

// qbinaryVec computes the longest multiple-of-16 prefix of y and returns its length.
func qbinaryVec(y, a, b []uint8, qa, qb, qc Q8, mul bool) int {
	n := len(y) &^ 15
	lo, hi := qc.bounds()
	avx512, avx2 := qconvAVX512(), qconvAVX2() && qconvWords(qc.Zero, lo, hi)
	if n == 0 || !avx512 && !avx2 {
		return 0
	}
	_, _, _ = y[n-1], a[n-1], b[n-1]
	fa, za := qa.qflip()
	fb, zb := qb.qflip()
	m := 0
	if mul {
		m = 1
	}
	flo, fhi, nan := float32(lo-qc.Zero), float32(hi-qc.Zero), max(lo, min(hi, 0))
	if avx512 {
		qbinaryAVX512(&y[0], &a[0], &b[0], n, fa, fb, za, qa.Scale, zb, qb.Scale, qc.Scale, flo, fhi, qc.Zero, nan, m)
	} else {
		qbinaryAVX2(&y[0], &a[0], &b[0], n, fa, fb, za, qa.Scale, zb, qb.Scale, qc.Scale, flo, fhi, qc.Zero, nan, m)
	}
	return n
}
