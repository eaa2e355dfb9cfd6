//go:build !purego

package kernels

// scatterRowsAVX512 is scatterRowsGeneric with AVX-512BW: each run moves as 64-byte blocks and one masked block
// for its last width mod 64 bytes (BZHI builds the mask).
//
//go:noescape
func scatterRowsAVX512(dst *uint8, dstStride int, src *uint8, width, rows int)

var scatterVector = X86.AVX512BW && X86.BMI2

// scatterRowsAsm runs the vector routine where there is one and reports whether it did; ScatterRows has checked
// the bounds.
func scatterRowsAsm(dst []uint8, dstStride int, src []uint8, width, rows int) bool {
	if level < implAVX512 || !scatterVector {
		return false
	}
	scatterRowsAVX512(&dst[0], dstStride, &src[0], width, rows)
	return true
}
