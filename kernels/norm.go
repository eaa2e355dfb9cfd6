package kernels

// MeanVar returns the mean and the biased variance Σ(x−mean)²/n of x: the statistics of LayerNormalization,
// InstanceNormalization and GroupNormalization. It makes two passes in float64, the mean first and then the squared
// deviations from it, so a row with a large offset and a small spread (1000 ± 0.01) keeps its variance, which
// the one-pass Σx²/n − mean² would cancel away. The assembly adds in several float64 lanes and fuses d·d + s, so
// its results differ from the sequential loop (meanVarGeneric) only within float64 rounding: a few float64 ulps,
// far below the float32 the callers round to. The result depends only on x, never on where a caller splits work.
//
// Non-finite values follow IEEE arithmetic, whatever the order of the additions: a NaN makes both results NaN;
// +Inf or −Inf (without NaN) makes the mean that infinity and the variance NaN (Inf − Inf); both infinities
// make both NaN. An empty x gives NaN and NaN (0/0).
func MeanVar(x []float32) (mean, variance float64) {
	if mean, variance, ok := meanVarAsm(x); ok {
		return mean, variance
	}
	return meanVarGeneric(x)
}

// NormalizeScaleBias computes dst[i] = (x[i]·inv + shift)·scale[i] + bias[i] over len(dst) elements, the whole
// affine part of a LayerNormalization row in one pass; bias may be nil (no addition). Slices may alias.
//
// Each element goes through exactly the float32 operations of MulAddScalar(dst, x, inv, shift), then
// Mul(dst, dst, scale), then Add(dst, dst, bias) at the same SIMD level, so the results are bit-identical to that
// sequence: the assembly fuses x·inv + shift (one rounding, as MulAddScalar's assembly does, tail included), then
// rounds the product and the sum separately; the Go twin writes x·inv + shift as MulAddScalar's twin does (so the
// compiler fuses both or neither) and keeps ·scale and + bias apart.
func NormalizeScaleBias(dst, x []float32, inv, shift float32, scale, bias []float32) {
	n := len(dst)
	x, scale = x[:n], scale[:n]
	if bias != nil {
		bias = bias[:n]
	}
	if normalizeScaleBiasAsm(dst, x, inv, shift, scale, bias) {
		return
	}
	normalizeScaleBiasGeneric(dst, x, inv, shift, scale, bias)
}
