package kernels

// meanVarGeneric is MeanVar's pure-Go twin: two sequential float64 passes.
func meanVarGeneric(x []float32) (mean, variance float64) {
	var s float64
	for _, v := range x {
		s += float64(v)
	}
	mean = s / float64(len(x))
	var s2 float64
	for _, v := range x {
		d := float64(v) - mean
		s2 += d * d
	}
	return mean, s2 / float64(len(x))
}

// normalizeScaleBiasGeneric is NormalizeScaleBias's pure-Go twin. v·inv + shift has the same form as
// MulAddScalar's twin, so the compiler fuses both or neither; the float32 conversion keeps ·scale and + bias two
// roundings, as Mul then Add are.
func normalizeScaleBiasGeneric(dst, x []float32, inv, shift float32, scale, bias []float32) {
	x, scale = x[:len(dst)], scale[:len(dst)]
	for i, v := range x {
		y := v*inv + shift
		y = float32(y * scale[i])
		if bias != nil {
			y += bias[i]
		}
		dst[i] = y
	}
}
