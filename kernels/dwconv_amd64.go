//go:build !purego

package kernels

// dwTapsAVX512 computes out[i] = bias + Σ_t w[t]·src[t][i] for i < roundUp(n, 16) (see dwTapsGeneric), with
// src an array of ntaps ≥ 1 pointers. Every src[t] and out must hold roundUp(n, 16) values.
//
//go:noescape
func dwTapsAVX512(out *float32, n int, src **float32, w *float32, ntaps int, bias float32)

// dwTapsAVX2 is dwTapsAVX512 with 8-lane vectors: it covers i < roundUp(n, 8).
//
//go:noescape
func dwTapsAVX2(out *float32, n int, src **float32, w *float32, ntaps int, bias float32)

// dwTaps computes out[i] = bias + Σ_t w[t]·buf[offs[t]+i] for i < n. out and buf must have room for
// roundUp(n, dwLanes) values past each offset: the vector loop finishes its last vector instead of masking.
func dwTaps(out []float32, n int, buf []float32, offs []int, w []float32, bias float32) {
	var ptrs [64]*float32
	if level == implGeneric || n <= 0 || len(offs) == 0 || len(offs) > len(ptrs) {
		dwTapsGeneric(out, n, buf, offs, w, bias)
		return
	}
	span := roundUp(n, dwLanes)
	_, _ = out[span-1], w[len(offs)-1]
	for t, off := range offs {
		_ = buf[off+span-1] // the assembly reads this far; check here so it never reads outside buf
		ptrs[t] = &buf[off]
	}
	if level == implAVX512 {
		dwTapsAVX512(&out[0], n, &ptrs[0], &w[0], len(offs), bias)
	} else {
		dwTapsAVX2(&out[0], n, &ptrs[0], &w[0], len(offs), bias)
	}
}

// dwRows9AVX512, dwRows25AVX512 and dwRowsAVX512 are dwRowsGeneric with the activation given as mode (dwEpi)
// and byte-free element offsets; the first two unroll exactly 9 and 25 taps, the last loops over ntaps ≥ 1. Each
// reads roundUp(ow, 16) values from src[r·rowStep+offs[t]:] for every row r < oh and tap t, and writes exactly
// ow values per row (the last vector's store is masked).
//
//go:noescape
func dwRows9AVX512(y *float32, ow, oh int, src *float32, rowStep int, offs *int, w *float32, ntaps int, bias float32, mode int, ea, eb, lo, hi float32)

//go:noescape
func dwRows25AVX512(y *float32, ow, oh int, src *float32, rowStep int, offs *int, w *float32, ntaps int, bias float32, mode int, ea, eb, lo, hi float32)

//go:noescape
func dwRowsAVX512(y *float32, ow, oh int, src *float32, rowStep int, offs *int, w *float32, ntaps int, bias float32, mode int, ea, eb, lo, hi float32)

// dwRowsVector reports whether dwRows runs vector code at this level; the driver uses the tap-loop path otherwise.
func dwRowsVector() bool { return level == implAVX512 }

// dwRows computes oh output rows of ow columns straight into y (see dwRowsGeneric). src must hold
// roundUp(ow, 16) values past r·rowStep+offs[t] for every row and tap: the last vector loads whole.
func dwRows(y []float32, ow, oh int, src []float32, rowStep int, offs []int, w []float32, bias float32, e *dwEpi) {
	if level != implAVX512 || ow <= 0 || oh <= 0 || len(offs) == 0 {
		dwRowsGeneric(y, ow, oh, src, rowStep, offs, w, bias, e)
		return
	}
	_, _ = y[(oh-1)*ow+ow-1], w[len(offs)-1]
	span := (oh-1)*rowStep + roundUp(ow, 16)
	for _, off := range offs {
		_ = src[off+span-1] // the assembly reads this far; check here so it never reads outside src
		_ = src[off]
	}
	fn := dwRowsAVX512
	switch len(offs) {
	case 9:
		fn = dwRows9AVX512
	case 25:
		fn = dwRows25AVX512
	}
	fn(&y[0], ow, oh, &src[0], rowStep, &offs[0], &w[0], len(offs), bias, int(e.mode), e.a, e.b, e.lo, e.hi)
}

// copyRowsAVX512 is copyRowsGeneric; its masked tail reads and writes exactly n floats per row.
//
//go:noescape
func copyRowsAVX512(dst *float32, dstStride int, src *float32, srcStride int, n, rows int)

// copyRows copies rows runs of n floats: dst[r·dstStride+j] = src[r·srcStride+j] for r < rows, j < n.
func copyRows(dst []float32, dstStride int, src []float32, srcStride int, n, rows int) {
	if level != implAVX512 || n <= 0 || rows <= 0 {
		copyRowsGeneric(dst, dstStride, src, srcStride, n, rows)
		return
	}
	_, _ = dst[(rows-1)*dstStride+n-1], src[(rows-1)*srcStride+n-1]
	copyRowsAVX512(&dst[0], dstStride, &src[0], srcStride, n, rows)
}

// deinterleave2AVX512 is deinterleave2Generic for n a multiple of 16.
//
//go:noescape
func deinterleave2AVX512(even, odd, src *float32, n int)

// deinterleave2AVX2 is deinterleave2Generic for n a multiple of 8.
//
//go:noescape
func deinterleave2AVX2(even, odd, src *float32, n int)

// deinterleave2 sets even[i] = src[2i], odd[i] = src[2i+1] for i < n.
func deinterleave2(even, odd, src []float32, n int) {
	even, odd, src = even[:n], odd[:n], src[:2*n]
	var m int
	switch level {
	case implAVX512:
		if m = n &^ 15; m > 0 {
			deinterleave2AVX512(&even[0], &odd[0], &src[0], m)
		}
		if n-m >= 8 {
			// A half vector left (MobileNet's 112-wide rows give 56 pairs): the AVX2 loop beats the scalar tail.
			deinterleave2AVX2(&even[m], &odd[m], &src[2*m], 8)
			m += 8
		}
	case implAVX2:
		if m = n &^ 7; m > 0 {
			deinterleave2AVX2(&even[0], &odd[0], &src[0], m)
		}
	}
	deinterleave2Generic(even[m:], odd[m:], src[2*m:], n-m)
}

// dwS2K3AVX512 is dwS2K3Generic for one column of left padding, with the rows as pointers and the activation given
// as mode (dwEpi). masks packs the last block's lane masks: its first and second 16 loaded input columns (bits
// 0–15, 16–31) and its stored outputs (bits 32–47). Every block but the last loads 32 whole input columns per row.
// shift = 1 says each row pointer is one column into the image, whose first column (at -1) stands in for the pad.
//
//go:noescape
func dwS2K3AVX512(y *float32, ow, oh int, r0, r1, r2 *float32, inStep, masks, shift int, w *float32, bias float32, mode int, ea, eb, lo, hi float32)

// dwS2K3 computes oh rows of a 3×3 stride-2 depthwise convolution with padLeft (0 or 1) columns of left padding
// straight from the input rows (see dwS2K3Generic). Each rows[k] must hold (oh-1)·inStep + iw values.
func dwS2K3(y []float32, ow, oh int, rows *[3][]float32, inStep, iw, padLeft int, w []float32, bias float32, e *dwEpi) {
	// Without left padding output j reads columns 2j…2j+2: from one column in, that is the padded form's
	// 2j-1…2j+1, over iw-1 columns.
	shift := 1 - padLeft
	last := (ow - 1) / 16 // the masked block; the ones before it must read whole input columns
	if level != implAVX512 || ow <= 0 || oh <= 0 || padLeft < 0 || padLeft > 1 || iw-shift < max(1, 32*last) {
		dwS2K3Generic(y, ow, oh, rows, inStep, iw, padLeft, w, bias, e)
		return
	}
	_, _ = y[oh*ow-1], w[8]
	for _, row := range rows {
		_ = row[(oh-1)*inStep+iw-1] // the assembly reads at most this far (masked past it)
	}
	lanes := func(n int) int { return 1<<min(max(n, 0), 16) - 1 }
	rem := iw - shift - 32*last
	masks := lanes(rem) | lanes(rem-16)<<16 | lanes(ow-16*last)<<32
	dwS2K3AVX512(&y[0], ow, oh, &rows[0][shift], &rows[1][shift], &rows[2][shift], inStep, masks, shift, &w[0], bias,
		int(e.mode), e.a, e.b, e.lo, e.hi)
}
