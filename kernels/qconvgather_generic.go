package kernels

// qcgPackGeneric is the pure-Go twin of the gathering packer: for groups groups of 4 taps it lays out the panel's
// qpwCols pixels as dst[g·128 + p·4 + i] = x[base + offs[4g+i] + p·sw] ^ flip.
func qcgPackGeneric(dst, x []uint8, base int, offs []int, groups, sw int, _ *[64]uint8, flip uint8) {
	for g := range groups {
		for i := range 4 {
			src := x[base+offs[4*g+i]:]
			for p := range qpwCols {
				dst[g*qpwCols*4+p*4+i] = src[p*sw] ^ flip
			}
		}
	}
}
