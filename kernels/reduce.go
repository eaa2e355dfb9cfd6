package kernels

import "math"

// Sum returns Σ x. The lanes accumulate in float64, so a long row of float32 values (a softmax over a 6625-class
// head) loses nothing to a float32 running sum; the order of the additions differs from a sequential loop only
// within float64 rounding.
func Sum(x []float32) float64 {
	i, s := sumAsm(x)
	return s + sumGeneric(x[i:])
}

// MaxValue returns the largest element of x: NaN if any element is NaN, −Inf if x is empty.
func MaxValue(x []float32) float32 {
	i, m, nan := maxValueAsm(x)
	if nan {
		return float32(math.NaN())
	}
	r := maxValueGeneric(x[i:])
	if r != r {
		return r
	}
	return max(m, r)
}
