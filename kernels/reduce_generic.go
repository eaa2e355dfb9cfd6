package kernels

import "math"

// nanF32 is the one NaN the reductions return, whatever NaN the input held, so that every level agrees bit for bit.
var nanF32 = math.Float32frombits(0x7fc0_0000)

// sumGeneric is the pure-Go twin of Sum: a sequential float64 sum.
func sumGeneric(x []float32) float64 {
	var s float64
	for _, v := range x {
		s += float64(v)
	}
	return s
}

// maxValueGeneric is the pure-Go twin of MaxValue.
func maxValueGeneric(x []float32) float32 {
	m := float32(math.Inf(-1))
	for _, v := range x {
		if v != v {
			return nanF32
		}
		m = max(m, v)
	}
	return m
}

// minMaxGeneric is the pure-Go twin of MinMax: Go's min and max, which propagate NaN and order −0 below +0.
func minMaxGeneric(x []float32) (lo, hi float32) {
	lo, hi = float32(math.Inf(1)), float32(math.Inf(-1))
	for _, v := range x {
		lo, hi = min(lo, v), max(hi, v)
	}
	if lo != lo { // a NaN made both NaN
		return nanF32, nanF32
	}
	return lo, hi
}
