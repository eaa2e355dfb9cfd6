//go:build amd64 && !purego

package turboquant

import "golang.org/x/sys/cpu"

// useAVX512 selects the AVX-512 routines; tests switch it off to run the pure-Go twins on the same machine.
var useAVX512 = cpu.X86.HasAVX512F

// hasGFNI gates the block kernels, which build indices with GF2P8AFFINEQB (AVX-512 with GFNI).
var hasGFNI = cpu.X86.HasAVX512GFNI

// dotF32AVX512 is dotF32Generic over len(a) rounded down to a multiple of 16.
//
//go:noescape
func dotF32AVX512(a, b []float32) float32

// axpyF32AVX512 is axpyF32Generic over len(y) rounded down to a multiple of 16.
//
//go:noescape
func axpyF32AVX512(y []float32, a float32, x []float32)

// scoreBlocksAVX512 is scoreCodesGeneric for len(out) a positive multiple of 16, bits ≤ 4 and groups ≥ 1, with the
// constants from newCodeConsts. It scores 16 tokens per pass (see the .s file). It reads 8 bytes from each group's
// first word, so 4−bits words past the last group must be readable.
//
//go:noescape
func scoreBlocksAVX512(out, q []float32, codes []uint16, norms []float32, groups, bits int, c *codeConsts)

// accumBlocksAVX512 is accumCodesGeneric for bits ≤ 4, groups ≥ 1 and len(w) ≥ 1 with the constants from
// newCodeConsts, reading past the codes as scoreBlocksAVX512 does. The sums are formed per block of tokens before they reach acc, so they round differently.
//
//go:noescape
func accumBlocksAVX512(acc, w []float32, codes []uint16, groups, bits int, c *codeConsts)

func dotF32Impl(a, b []float32) float32 {
	n := len(a) &^ 15
	if !useAVX512 || n == 0 {
		return dotF32Generic(a, b)
	}
	b = b[:len(a)]
	return dotF32AVX512(a[:n], b[:n]) + dotF32Generic(a[n:], b[n:])
}

func axpyF32Impl(y []float32, a float32, x []float32) {
	n := len(y) &^ 15
	if !useAVX512 || n == 0 {
		axpyF32Generic(y, a, x)
		return
	}
	x = x[:len(y)]
	axpyF32AVX512(y[:n], a, x[:n])
	axpyF32Generic(y[n:], a, x[n:])
}

// codeConsts are the block kernels' constants: the centroid table padded to 16 entries, and per qword the 8×8 bit
// matrix that assembles a lane's index from the transposed plane bytes (see DEC in the .s file).
type codeConsts struct {
	table [16]float32
	m     [8]uint64
}

func newCodeConsts(table []float32, bits int) *codeConsts {
	c := new(codeConsts)
	copy(c.table[:], table)
	// After the transposition, bit 7−2p of a lane's byte is plane p's low byte (lanes 0–7) and bit 6−2p its high
	// byte (lanes 8–15). Result bit k of the affine step is the parity of matrix byte 7−k with the input, so byte
	// 7−p selects plane p's bit; bytes for planes ≥ bits stay zero and drop whatever was read past the group.
	var lo, hi uint64
	for p := 0; p < bits; p++ {
		lo |= uint64(1<<(7-2*p)) << (8 * (7 - p))
		hi |= uint64(1<<(6-2*p)) << (8 * (7 - p))
	}
	for i := range c.m {
		c.m[i] = lo
		if i >= 4 {
			c.m[i] = hi
		}
	}
	return c
}

func scoreCodesImpl(out, q []float32, codes []uint16, norms []float32, groups, bits int, table []float32) {
	if !useAVX512 || !hasGFNI || bits > 4 || groups == 0 || len(out) == 0 {
		scoreCodesGeneric(out, q, codes, norms, groups, bits, table)
		return
	}
	// Bounds the assembly relies on.
	_ = q[groups*16-1]
	_ = codes[len(out)*groups*bits-1]
	_ = norms[len(out)-1]
	c := newCodeConsts(table, bits)
	// The last 1…16 tokens are copied into a padded block, which covers both the partial block and the kernel's
	// read past the final group. Every token is then scored by the same kernel and the same lane reduction, so a
	// score does not depend on its position or on the slice's capacity.
	stride := groups * bits
	m := (len(out) - 1) &^ 15
	if m > 0 {
		scoreBlocksAVX512(out[:m], q, codes, norms, groups, bits, c)
	}
	var o, nrm [16]float32
	tail := make([]uint16, 16*stride+4)
	copy(tail, codes[m*stride:len(out)*stride])
	copy(nrm[:], norms[m:len(out)])
	scoreBlocksAVX512(o[:], q, tail[:16*stride], nrm[:], groups, bits, c)
	copy(out[m:], o[:])
}

func accumCodesImpl(acc, w []float32, codes []uint16, groups, bits int, table []float32) {
	if !useAVX512 || !hasGFNI || bits > 4 || groups == 0 || len(w) == 0 {
		accumCodesGeneric(acc, w, codes, groups, bits, table)
		return
	}
	_ = acc[groups*16-1]
	_ = codes[len(w)*groups*bits-1]
	// The final token goes alone through a padded copy (the kernel reads past a token's last group), always, so
	// that the result does not depend on the slice's capacity.
	stride := groups * bits
	c := newCodeConsts(table, bits)
	m := len(w) - 1
	if m > 0 {
		accumBlocksAVX512(acc, w[:m], codes, groups, bits, c)
	}
	last := make([]uint16, stride+4)
	copy(last, codes[m*stride:(m+1)*stride])
	accumBlocksAVX512(acc, w[m:], last[:stride], groups, bits, c)
}
