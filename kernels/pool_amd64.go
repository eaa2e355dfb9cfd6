//go:build !purego

package kernels

// maxPoolRowS1AVX512 is maxPoolRowGeneric with stride 1 for n a multiple of 16; it reads src[0 : n+k-1].
//
//go:noescape
func maxPoolRowS1AVX512(dst, src *float32, n, k int)

// maxPoolRowS2AVX512 is maxPoolRowGeneric with stride 2 for n a multiple of 16; it loads whole pairs, so it reads
// src[0 : 2n+k-1], one value past the last tap.
//
//go:noescape
func maxPoolRowS2AVX512(dst, src *float32, n, k int)

// maxPoolRowAsm runs the vector loop over the longest multiple of 16 outputs whose loads stay inside src and
// returns how many outputs it did. A ragged tail is redone as one overlapping block ending at the last output when
// its loads fit (outputs depend only on src, so recomputing some is harmless). There is no AVX2 variant: AVX2
// machines use the Go twin.
func maxPoolRowAsm(dst, src []float32, k, stride int) int {
	if level < implAVX512 || k < 1 || (stride != 1 && stride != 2) {
		return 0
	}
	run := maxPoolRowS1AVX512
	if stride == 2 {
		run = maxPoolRowS2AVX512
	}
	// fits is how many outputs from the start of src the loads allow: n+k-1 values for stride 1, 2n+k-1 for 2.
	fits := (len(src) - k + 1) / stride
	n := max(min(len(dst), fits)&^15, 0)
	if n > 0 {
		run(&dst[0], &src[0], n, k)
	}
	if last := len(dst) - 16; n < len(dst) && last >= 0 && len(dst) <= fits {
		run(&dst[last], &src[last*stride], 16, k)
		n = len(dst)
	}
	return n
}

// anyNaNAVX512 is anyNaNGeneric for n a multiple of 16.
//
//go:noescape
func anyNaNAVX512(x *float32, n int) bool

// anyNaNAsm checks the longest multiple of 16 values with AVX-512 and returns -1 if it found a NaN there, else how
// many values it checked.
func anyNaNAsm(x []float32) int {
	n := len(x) &^ 15
	if level < implAVX512 || n == 0 {
		return 0
	}
	if anyNaNAVX512(&x[0], n) {
		return -1
	}
	return n
}

// maxBytesU8AVX2 and maxBytesI8AVX2 are maxBytesGeneric, unsigned and signed, for n a multiple of 32.
//
//go:noescape
func maxBytesU8AVX2(dst, src *byte, n int)

//go:noescape
func maxBytesI8AVX2(dst, src *byte, n int)

// maxBytesAsm runs the bytes through AVX2 (VPMAXUB/VPMAXSB; AVX-512 machines use it too: the loop is bound by
// loads and stores) and returns how many it did: all of them when there are at least 32, a ragged tail being
// redone as one block ending at the last byte (folding a byte in twice leaves the maximum as it is).
func maxBytesAsm(dst, src []byte, signed bool) int {
	n := len(dst) &^ 31
	if level < implAVX2 || n == 0 {
		return 0
	}
	run := maxBytesU8AVX2
	if signed {
		run = maxBytesI8AVX2
	}
	run(&dst[0], &src[0], n)
	if last := len(dst) - 32; n < len(dst) {
		run(&dst[last], &src[last], 32)
	}
	return len(dst)
}

// evenBytesAVX2 sets dst[i] = src[2i] for i < n (a multiple of 32), reading src[:2n].
//
//go:noescape
func evenBytesAVX2(dst, src *byte, n int)

// evenBytesAsm runs EvenBytes through AVX2 for as many whole blocks of 32 outputs as src holds 64 bytes for, and
// returns how many outputs it wrote: all of them when src has 2·len(dst) bytes, a ragged tail being redone as one
// block ending at the last output.
func evenBytesAsm(dst, src []byte) int {
	n := min(len(dst), len(src)/2) &^ 31
	if level < implAVX2 || n == 0 {
		return 0
	}
	evenBytesAVX2(&dst[0], &src[0], n)
	if last := len(dst) - 32; n < len(dst) && len(src) >= 2*len(dst) {
		evenBytesAVX2(&dst[last], &src[2*last], 32)
		return len(dst)
	}
	return n
}

// sumBytesAVX2 returns Σ (b[i] ^ flip) over n bytes (a multiple of 32) with VPSADBW.
//
//go:noescape
func sumBytesAVX2(b *byte, n int, flip byte) uint64

// sumBytesAsm sums the longest prefix of 32-byte blocks with AVX2 and returns its length and sum.
func sumBytesAsm(b []byte, flip byte) (int, uint64) {
	n := len(b) &^ 31
	if level < implAVX2 || n == 0 {
		return 0, 0
	}
	return n, sumBytesAVX2(&b[0], n, flip)
}
