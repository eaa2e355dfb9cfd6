//go:build !purego

package kernels

// scatterRowsAVX512 is scatterRowsGeneric with AVX-512BW: each run moves as 64-byte blocks and one masked block
// for its last width mod 64 bytes (BZHI builds the mask).
//
//go:noescape
func scatterRowsAVX512(dst *uint8, dstStride int, src *uint8, width, rows int)

// scatterRowsAVX2 is scatterRowsGeneric with AVX2: a run of 32 bytes or more moves as 32-byte blocks and one more
// block ending at its last byte (overlapping the one before it); a shorter run moves as two overlapping halves of
// 16, 8, 4 or 2 bytes (or as one byte), so nothing is read or written outside the run.
//
//go:noescape
func scatterRowsAVX2(dst *uint8, dstStride int, src *uint8, width, rows int)

// scatterAVX512 reports AVX-512BW and BMI2 (BZHI), which scatterRowsAVX512 needs beyond AVX-512F.
var scatterAVX512 = X86.AVX512BW && X86.BMI2

// scatterRowsAsm runs the vector routine of the current level where there is one and reports whether it did;
// ScatterRows has checked the bounds.
func scatterRowsAsm(dst []uint8, dstStride int, src []uint8, width, rows int) bool {
	switch {
	case level == implAVX512 && scatterAVX512:
		scatterRowsAVX512(&dst[0], dstStride, &src[0], width, rows)
	case level >= implAVX2:
		scatterRowsAVX2(&dst[0], dstStride, &src[0], width, rows)
	default:
		return false
	}
	return true
}
