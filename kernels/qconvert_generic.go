package kernels

// qquantizeGeneric is the pure-Go twin of QQuantize. The clamp comes before rounding (the bounds are integers,
// so that changes nothing) and rounds half to even by adding and subtracting 1.5·2²³, exact in float32 for the
// clamped |f| ≤ 383.
func qquantizeGeneric(y []uint8, x []float32, mode qconvMode, bias int32, scale float32, zp, lo, hi int32) {
	const magic = 12582912 // 1.5·2²³
	flo, fhi := float32(lo-zp), float32(hi-zp)
	nan := uint8(max(lo, min(hi, 0)))
	y = y[:len(x)]
	for i, v := range x {
		var f float32
		switch mode {
		case qconvDiv:
			f = v / scale
		case qconvMul:
			f = v * scale
		default:
			f = float32(int32(v)+bias) * scale
		}
		if f != f {
			y[i] = nan
			continue
		}
		f = min(max(f, flo), fhi)
		y[i] = uint8(int32((f+magic)-magic) + zp)
	}
}

// qdequantizeGeneric is the pure-Go twin of QDequantize.
func qdequantizeGeneric(y []float32, x []uint8, signed bool, zp, scale float32) {
	y = y[:len(x)]
	if signed {
		for i, v := range x {
			y[i] = (float32(int8(v)) - zp) * scale
		}
		return
	}
	for i, v := range x {
		y[i] = (float32(v) - zp) * scale
	}
}
