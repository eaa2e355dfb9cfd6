//go:build !purego

package kernels

// meanVarAVX512 is meanVarGeneric for n ≥ 1, in eight float64 lanes (four accumulators of them), the last n mod 8
// values through a masked load.
//
//go:noescape
func meanVarAVX512(x *float32, n int) (mean, variance float64)

// meanVarAVX2 is meanVarGeneric for n ≥ 1, in four float64 lanes (four accumulators of them), the last n mod 4
// values one at a time.
//
//go:noescape
func meanVarAVX2(x *float32, n int) (mean, variance float64)

// normalizeScaleBiasAVX512 is normalizeScaleBiasGeneric for n ≥ 1 with x·inv + shift fused; bias may be nil. The
// last n mod 16 elements go through masked loads and stores.
//
//go:noescape
func normalizeScaleBiasAVX512(dst, x, scale, bias *float32, n int, inv, shift float32)

// normalizeScaleBiasAVX2 is normalizeScaleBiasAVX512 with 8 lanes, the last n mod 8 elements one at a time
// (still fused).
//
//go:noescape
func normalizeScaleBiasAVX2(dst, x, scale, bias *float32, n int, inv, shift float32)

// meanVarAsm runs MeanVar's assembly for the current level; ok is false where there is none (or x is empty).
func meanVarAsm(x []float32) (mean, variance float64, ok bool) {
	if len(x) == 0 {
		return 0, 0, false
	}
	switch level {
	case implAVX512:
		mean, variance = meanVarAVX512(&x[0], len(x))
	case implAVX2:
		mean, variance = meanVarAVX2(&x[0], len(x))
	default:
		return 0, 0, false
	}
	return mean, variance, true
}

// normalizeScaleBiasAsm runs NormalizeScaleBias's assembly for the current level and reports whether it did; the
// slices are already cut to len(dst).
func normalizeScaleBiasAsm(dst, x []float32, inv, shift float32, scale, bias []float32) bool {
	n := len(dst)
	if n == 0 {
		return true // nothing to do
	}
	var b *float32
	if bias != nil {
		b = &bias[0]
	}
	switch level {
	case implAVX512:
		normalizeScaleBiasAVX512(&dst[0], &x[0], &scale[0], b, n, inv, shift)
	case implAVX2:
		normalizeScaleBiasAVX2(&dst[0], &x[0], &scale[0], b, n, inv, shift)
	default:
		return false
	}
	return true
}
