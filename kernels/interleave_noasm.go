//go:build !amd64 || purego

package kernels

// interleave2Asm has no assembly in this build.
func interleave2Asm(dst, a, c []float32, bias float32) int { return 0 }

// interleaveBytesAsm has no assembly in this build.
func interleaveBytesAsm(dst, a, c []byte) int { return 0 }
