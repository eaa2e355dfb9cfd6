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
