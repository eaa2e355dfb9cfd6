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
