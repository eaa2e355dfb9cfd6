//go:build !purego

package kernels

// convRows16AVX512 is convRowsGeneric with clamp as an int (bit 0) and ntaps ≥ 1 taps. It reads and writes
// exactly ow values per row, tap and channel: the last vector's loads and stores are masked.
//
//go:noescape
func convRows16AVX512(y *float32, yStride, ow, oh int, src *float32, rowStep int, offs *int, w *float32, ntaps int, bias *float32, clamp int, lo, hi float32)

// convRowsVector reports whether convRows runs vector code at this level; Conv2D uses im2col and the GEMM otherwise.
func convRowsVector() bool { return level == implAVX512 }

// convRows computes 16 output channels of oh rows of ow columns (see convRowsGeneric).
func convRows(y []float32, yStride, ow, oh int, src []float32, rowStep int, offs []int, w, bias []float32, clamp bool, lo, hi float32) {
	if level != implAVX512 || ow <= 0 || oh <= 0 || len(offs) == 0 {
		convRowsGeneric(y, yStride, ow, oh, src, rowStep, offs, w, bias, clamp, lo, hi)
		return
	}
	_, _, _ = y[15*yStride+oh*ow-1], w[len(offs)*16-1], bias[15]
	span := (oh-1)*rowStep + ow
	for _, off := range offs {
		_ = src[off+span-1] // the assembly reads this far; check here so it never reads outside src
		_ = src[off]
	}
	c := 0
	if clamp {
		c = 1
	}
	convRows16AVX512(&y[0], yStride, ow, oh, &src[0], rowStep, &offs[0], &w[0], len(offs), &bias[0], c, lo, hi)
}
