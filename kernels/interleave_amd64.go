//go:build !purego

package kernels

// interleave2AVX512 is interleave2Generic over n pairs, n a multiple of 16.
//
//go:noescape
func interleave2AVX512(dst, a, c *float32, n int, bias float32)

// interleave2Asm runs the vector loop over the longest multiple of 16 pairs and returns how many it did. There
// is no AVX2 variant: AVX2 machines use the Go twin.
func interleave2Asm(dst, a, c []float32, bias float32) int {
	n := len(a) &^ 15
	if level < implAVX512 || n == 0 {
		return 0
	}
	_, _, _ = dst[2*n-1], a[n-1], c[n-1]
	interleave2AVX512(&dst[0], &a[0], &c[0], n, bias)
	return n
}

// interleaveBytesAVX2 is interleaveBytesGeneric over n pairs, n a multiple of 32.
//
//go:noescape
func interleaveBytesAVX2(dst, a, c *byte, n int)

// interleaveBytesAsm runs InterleaveBytes through AVX2 (AVX-512 machines use it too: the loop is bound by loads
// and stores) and returns how many pairs it did: all of them when there are at least 32, a ragged tail being
// redone as one block ending at the last pair.
func interleaveBytesAsm(dst, a, c []byte) int {
	n := len(a) &^ 31
	if level < implAVX2 || n == 0 {
		return 0
	}
	_, _, _ = dst[2*len(a)-1], c[len(a)-1], a[len(a)-1]
	interleaveBytesAVX2(&dst[0], &a[0], &c[0], n)
	if last := len(a) - 32; n < len(a) {
		interleaveBytesAVX2(&dst[2*last], &a[last], &c[last], 32)
	}
	return len(a)
}
