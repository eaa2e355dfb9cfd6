//go:build amd64 && !purego

package turboquant

// maxF32AVX512 is maxF32Generic for len(x) a positive multiple of 16.
//
//go:noescape
func maxF32AVX512(x []float32) float32

// expShiftAVX512 is expShiftGeneric for len(x) a multiple of 16. It reduces the argument in float32 with a two-part
// ln 2 (Cody–Waite) instead of float64, and scales by 2^n with VSCALEFPS, which rounds arguments below −87.3 to
// subnormals where exp32 flushes them to zero; both differ from e^x by less than 1e-37 there.
//
//go:noescape
func expShiftAVX512(x []float32, m, scale float32) float32

func maxF32Impl(x []float32) float32 {
	n := len(x) &^ 15
	if !useAVX512 || n == 0 {
		return maxF32Generic(x)
	}
	return max(maxF32AVX512(x[:n]), maxF32Generic(x[n:]))
}

func expShiftImpl(x []float32, m, scale float32) float32 {
	n := len(x) &^ 15
	if !useAVX512 || n == 0 {
		return expShiftGeneric(x, m, scale)
	}
	return expShiftAVX512(x[:n], m, scale) + expShiftGeneric(x[n:], m, scale)
}
