//go:build !amd64 || purego

package kernels

// binaryAsm does nothing in this build: the Go twin handles every element.
func binaryAsm(op binOp, dst, a, b []float32) int { return 0 }

// unaryAsm does nothing in this build: the Go twin handles every element.
func unaryAsm(op unOp, dst, x []float32, alpha, beta float32) int { return 0 }

// axpyAsm does nothing in this build: the Go twin handles every element.
func axpyAsm(dst, a []float32, s float32) int { return 0 }

// expSumAsm does nothing in this build: ExpSum's Go path computes every value.
func expSumAsm([]float32, []float32, float32) (int, float64) { return 0, 0 }
