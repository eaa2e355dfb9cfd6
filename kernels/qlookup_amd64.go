//go:build !purego

package kernels

// qlookupHasVBMI reports whether the CPU has VPERMI2B (AVX512_VBMI) and the byte-mask instructions (AVX512BW).
var qlookupHasVBMI = X86.AVX512F && X86.AVX512BW && X86.AVX512VBMI

// qlookupVBMI is qlookupGeneric over n bytes (a multiple of 64): the table sits in four zmm registers, two
// VPERMI2B look each byte up in its lower and upper 128 entries, and the index's top bit picks between them.
//
//go:noescape
func qlookupVBMI(y, x *uint8, n int, table *[256]uint8)

// qlookupAVX2 is qlookupGeneric over n bytes (a multiple of 32) with AVX2: VPSHUFB looks each byte up in all
// sixteen 16-entry rows at once, two rows per OR (rows r and r + 8, told apart by VPSHUFB zeroing the bytes whose
// index has its top bit set), and seven VPBLENDVB pick among the eight pairs by index bits 4, 5 and 6. The
// shuffles and blends bound it: keeping rows in registers instead of reloading them measured no faster.
//
//go:noescape
func qlookupAVX2(y, x *uint8, n int, table *[256]uint8)

// qlookupVec looks up the longest prefix of x the current integer level's routine takes (a multiple of 64 with
// VBMI, else of 32 with AVX2) and returns its length.
func qlookupVec(y, x []uint8, table *[256]uint8) int {
	switch {
	case qlevel == qimplVNNI && qlookupHasVBMI:
		n := len(x) &^ 63
		if n == 0 {
			return 0
		}
		_ = y[n-1]
		qlookupVBMI(&y[0], &x[0], n, table)
		return n
	case qlevel >= qimplAVX2:
		n := len(x) &^ 31
		if n == 0 {
			return 0
		}
		_ = y[n-1]
		qlookupAVX2(&y[0], &x[0], n, table)
		return n
	}
	return 0
}
