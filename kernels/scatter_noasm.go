//go:build !amd64 || purego

package kernels

// scatterRowsAsm has no assembly in this build.
func scatterRowsAsm([]uint8, int, []uint8, int, int) bool { return false }
