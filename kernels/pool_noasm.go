//go:build !amd64 || purego

package kernels

// maxPoolRowAsm does nothing in this build: the Go twin handles every output.
func maxPoolRowAsm(dst, src []float32, k, stride int) int { return 0 }

// anyNaNAsm does nothing in this build: the Go twin checks every value.
func anyNaNAsm(x []float32) int { return 0 }

// maxBytesAsm does nothing in this build: the Go twin handles every byte.
func maxBytesAsm(dst, src []byte, signed bool) int { return 0 }

// evenBytesAsm does nothing in this build: the Go twin handles every byte.
func evenBytesAsm(dst, src []byte) int { return 0 }

// sumBytesAsm does nothing in this build: the Go twin sums every byte.
func sumBytesAsm(b []byte, flip byte) (int, uint64) { return 0, 0 }
