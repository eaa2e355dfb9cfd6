package kernels

// qmicroGeneric is the pure-Go twin of the integer micro-kernels: for the qgemmMR rows of a (row stride kp, kp a
// multiple of 4) and one packed panel b (see QPackedB) it sets c[i*qgemmNR+j] = Σ_k a[i*kp+k]·b[k/4*128+j*4+k%4].
func qmicroGeneric(kp int, a []uint8, b []int8, c []int32) {
	_, _ = a[qgemmMR*kp-1], c[qgemmMR*qgemmNR-1]
	for i := range c[:qgemmMR*qgemmNR] {
		c[i] = 0
	}
	for g := 0; g < kp/qgemmKU; g++ {
		bg := b[g*qgemmNR*qgemmKU : (g+1)*qgemmNR*qgemmKU]
		for i := 0; i < qgemmMR; i++ {
			a4 := a[i*kp+g*qgemmKU : i*kp+g*qgemmKU+4]
			a0, a1, a2, a3 := int32(a4[0]), int32(a4[1]), int32(a4[2]), int32(a4[3])
			ci := c[i*qgemmNR : (i+1)*qgemmNR]
			for j := range ci {
				b4 := bg[j*4 : j*4+4]
				ci[j] += a0*int32(b4[0]) + a1*int32(b4[1]) + a2*int32(b4[2]) + a3*int32(b4[3])
			}
		}
	}
}

// qrequantRowGeneric is the pure-Go twin of the requantizing epilogue: for j < n,
// d[j] = byte(roundHalfEven(clamp(float32(t[j]+corr[j])·scale[j], flo, fhi)) + zp), where flo = lo − zp and
// fhi = hi − zp are the output range moved by the zero point, so the sum lies in [lo, hi] and its low byte is
// the uint8 value or the two's-complement int8 one. The rounding adds and subtracts 1.5·2²³: float32 addition
// rounds half to even, and after the clamp |f| ≤ 383 is far inside the range where that trick is exact.
func qrequantRowGeneric(t, corr []int32, scale []float32, d []uint8, flo, fhi float32, zp int32) {
	const magic = 12582912 // 1.5·2²³
	n := len(d)
	t, corr, scale = t[:n], corr[:n], scale[:n]
	for j := range d {
		f := float32(t[j]+corr[j]) * scale[j]
		// The clamps are written as MAXPS/MINPS compute them, so a NaN (only from a NaN or infinite scale)
		// becomes flo in both implementations.
		if !(f > flo) {
			f = flo
		}
		if !(f < fhi) {
			f = fhi
		}
		d[j] = uint8(int32((f+magic)-magic) + zp)
	}
}
