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

// qbinaryGeneric is the pure-Go twin of QBinary.
func qbinaryGeneric(y, a, b []uint8, qa, qb, qc Q8, mul bool) {
	const magic = 12582912 // 1.5·2²³
	lo, hi := qc.bounds()
	flo, fhi := float32(lo-qc.Zero), float32(hi-qc.Zero)
	nan := uint8(max(lo, min(hi, 0)))
	fa, za := qa.qflip()
	fb, zb := qb.qflip()
	a, b = a[:len(y)], b[:len(y)]
	for i := range y {
		x, z := (float32(a[i]^fa)-za)*qa.Scale, (float32(b[i]^fb)-zb)*qb.Scale
		if mul {
			x *= z
		} else {
			x += z
		}
		f := x / qc.Scale
		if f != f {
			y[i] = nan
			continue
		}
		f = min(max(f, flo), fhi)
		y[i] = uint8(int32((f+magic)-magic) + qc.Zero)
	}
}
