//go:build !purego

package kernels

// qcgPackVBMI is qcgPackGeneric with a VPERMI2B gather of each tap's 32 pixels from 128 loaded bytes (idx holds
// the byte offsets p·sw) and qpwPackAVX2's interleave.
//
//go:noescape
func qcgPackVBMI(dst, x *uint8, offs *int, groups int, idx *[64]uint8, flip uint8)

// qcgPackFor returns the gathering packer for an integer SIMD level.
func qcgPackFor(l qimpl) func(dst, x []uint8, base int, offs []int, groups, sw int, idx *[64]uint8, flip uint8) {
	if l != qimplVNNI || !qdwFast {
		return qcgPackGeneric
	}
	return func(dst, x []uint8, base int, offs []int, groups, sw int, idx *[64]uint8, flip uint8) {
		if groups == 0 {
			return
		}
		// The bounds the assembly relies on: every tap's 128 bytes, checked here where a mistake panics.
		_, _ = dst[groups*qpwCols*4-1], offs[4*groups-1]
		for _, o := range offs[:4*groups] {
			_ = x[base+o+127]
		}
		qcgPackVBMI(&dst[0], &x[base], &offs[0], groups, idx, flip)
	}
}
