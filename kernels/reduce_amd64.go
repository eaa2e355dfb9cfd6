//go:build !purego

package kernels

import "math"

// sumAVX512 returns Σ x[:n] (n a multiple of 16) accumulated in 16 float64 lanes, lane j taking x[16i+j], then
// folded j+8 into j, j+4 into j, j+2 into j and j+1 into j.
//
//go:noescape
func sumAVX512(x *float32, n int) float64

// sumAVX2 is sumAVX512 with each 16-lane vector split over four 4-lane registers: the same additions in the same
// order, so the same bits.
//
//go:noescape
func sumAVX2(x *float32, n int) float64

// minMaxAVX512 returns, over the bit patterns of x[:n] (n a multiple of 16, at least 16), the largest read as
// int32 and the smallest and largest read as uint32 (see minMaxFromBits):
//
//	for _, v := range x[:n] {
//		b := math.Float32bits(v)
//		smax, umin, umax = max(smax, int32(b)), min(umin, b), max(umax, b)
//	}
//
//go:noescape
func minMaxAVX512(x *float32, n int) (smax int32, umin, umax uint32)

// minMaxAVX2 is minMaxAVX512 for n a multiple of 8, at least 8.
//
//go:noescape
func minMaxAVX2(x *float32, n int) (smax int32, umin, umax uint32)

// sumAsm sums the longest prefix of x the assembly handles and returns its length and sum. Both levels take
// multiples of 16, so their prefixes, and sums, are the same.
func sumAsm(x []float32) (int, float64) {
	n := len(x) &^ 15
	switch {
	case n == 0:
		return 0, 0
	case level == implAVX512:
		return n, sumAVX512(&x[0], n)
	case level == implAVX2:
		return n, sumAVX2(&x[0], n)
	}
	return 0, 0
}

// minMaxAsm is sumAsm for MinMax and MaxValue: the prefix length, its smallest and largest element and whether it
// holds a NaN.
func minMaxAsm(x []float32) (n int, lo, hi float32, nan bool) {
	var smax int32
	var umin, umax uint32
	switch {
	case level == implAVX512 && len(x) >= 16:
		n = len(x) &^ 15
		smax, umin, umax = minMaxAVX512(&x[0], n)
	case level == implAVX2 && len(x) >= 8:
		n = len(x) &^ 7
		smax, umin, umax = minMaxAVX2(&x[0], n)
	default:
		return 0, float32(math.Inf(1)), float32(math.Inf(-1)), false
	}
	lo, hi, nan = minMaxFromBits(smax, umin, umax)
	return n, lo, hi, nan
}

// minMaxFromBits turns the integer extremes of some floats' bit patterns into their float extremes. Integer
// min/max orders −0 below +0 (as Go's min and max do, and VMINPS/VMAXPS do not) and finds NaNs without a compare:
//
//   - a float with the sign bit clear (+0 … +Inf, then NaNs) orders as its bits do, and those bits read as int32
//     lie above every negative float's: the int32 maximum is the largest float if any is ≥ +0;
//   - a float with the sign bit set (−0 … −Inf, then NaNs) lies further below zero the larger its bits, and those
//     bits read as uint32 lie above every non-negative float's: the uint32 maximum is the smallest float if any
//     is ≤ −0;
//   - the uint32 minimum is the smallest float if none is ≤ −0, the largest if all are (it is consulted only when
//     all signs agree, where int32 and uint32 order alike);
//   - a NaN's bits lie above +Inf's (0x7f80_0000) as int32, or above −Inf's (0xff80_0000) as uint32.
func minMaxFromBits(smax int32, umin, umax uint32) (lo, hi float32, nan bool) {
	if smax > 0x7f80_0000 || umax > 0xff80_0000 {
		return nanF32, nanF32, true
	}
	hi, lo = math.Float32frombits(uint32(smax)), math.Float32frombits(umin)
	if smax < 0 { // all negative
		hi = math.Float32frombits(umin)
	}
	if umax >= 0x8000_0000 { // some negative
		lo = math.Float32frombits(umax)
	}
	return lo, hi, false
}
