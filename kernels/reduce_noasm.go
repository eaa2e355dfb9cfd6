//go:build !amd64 || purego

package kernels

import "math"

// sumAsm does nothing in this build: the Go twin sums every element.
func sumAsm(x []float32) (int, float64) { return 0, 0 }

// minMaxAsm does nothing in this build: the Go twins scan every element.
func minMaxAsm(x []float32) (n int, lo, hi float32, nan bool) {
	return 0, float32(math.Inf(1)), float32(math.Inf(-1)), false
}
