//go:build !purego

package kernels

// qlookupHasVBMI reports whether the CPU has VPERMI2B (AVX512_VBMI) and the byte-mask instructions (AVX512BW).
var qlookupHasVBMI = X86.AVX512F && X86.AVX512BW && X86.AVX512VBMI

// qlookupVBMI is qlookupGeneric over n bytes (a multiple of 64): the table sits in four zmm registers, two
// VPERMI2B look each byte up in its lower and upper 128 entries, and the index's top bit picks between them.
//
//go:noescape
func qlookupVBMI(y, x *uint8, n int, table *[256]uint8)

// qlookupVec looks up the longest multiple-of-64 prefix of x and returns its length.
func qlookupVec(y, x []uint8, table *[256]uint8) int {
	n := len(x) &^ 63
	if n == 0 || !qlookupHasVBMI || qlevel != qimplVNNI {
		return 0
	}
	_ = y[n-1]
	qlookupVBMI(&y[0], &x[0], n, table)
	return n
}
