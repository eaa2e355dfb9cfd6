//go:build !amd64 || purego

package kernels

import "math"

// sumAsm does nothing in this build: the Go twin sums every element.
func sumAsm(x []float32) (int, float64) { return 0, 0 }

// maxValueAsm does nothing in this build: the Go twin scans every element.
func maxValueAsm(x []float32) (int, float32, bool) { return 0, float32(math.Inf(-1)), false }
