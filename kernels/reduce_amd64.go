//go:build !purego

package kernels

import "math"

// sumAVX512 returns Σ x[:n] (n a multiple of 16) accumulated in float64 lanes.
//
//go:noescape
func sumAVX512(x *float32, n int) float64

// maxValueAVX512 returns the largest of x[:n] (n a multiple of 16) and whether any of them is NaN.
//
//go:noescape
func maxValueAVX512(x *float32, n int) (m float32, nan bool)

// sumAsm sums the longest prefix of x the assembly handles and returns its length and sum.
func sumAsm(x []float32) (int, float64) {
	if level != implAVX512 {
		return 0, 0
	}
	n := len(x) &^ 15
	if n == 0 {
		return 0, 0
	}
	return n, sumAVX512(&x[0], n)
}

// maxValueAsm is sumAsm for MaxValue: the prefix length, its maximum and whether it holds a NaN.
func maxValueAsm(x []float32) (int, float32, bool) {
	n := len(x) &^ 15
	if level != implAVX512 || n == 0 {
		return 0, float32(math.Inf(-1)), false
	}
	m, nan := maxValueAVX512(&x[0], n)
	return n, m, nan
}
