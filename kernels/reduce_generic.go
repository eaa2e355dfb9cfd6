package kernels

import "math"

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
			return v
		}
		m = max(m, v)
	}
	return m
}
