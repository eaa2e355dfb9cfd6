//go:build amd64 && !purego

package turboquant

import "golang.org/x/sys/cpu"

// useAVX512 selects the AVX-512 routines; tests switch it off to run the pure-Go twins on the same machine.
var useAVX512 = cpu.X86.HasAVX512F

// dotF32AVX512 is dotF32Generic over len(a) rounded down to a multiple of 16.
//
//go:noescape
func dotF32AVX512(a, b []float32) float32

// axpyF32AVX512 is axpyF32Generic over len(y) rounded down to a multiple of 16.
//
//go:noescape
func axpyF32AVX512(y []float32, a float32, x []float32)

// scoreCodesAVX512 is scoreCodesGeneric for bits ≤ 4 and groups ≥ 1 with the table padded to 16 entries.
//
//go:noescape
func scoreCodesAVX512(out, q []float32, codes []uint16, norms []float32, groups, bits int, table *[16]float32)

// scoreBlocksAVX512 is scoreCodesGeneric for len(out) a positive multiple of 16, bits ≤ 4 and groups ≥ 1, with the
// table padded to 16 entries. It scores 16 tokens per pass (see the .s file).
//
//go:noescape
func scoreBlocksAVX512(out, q []float32, codes []uint16, norms []float32, groups, bits int, table *[16]float32)

// accumBlocksAVX512 is accumCodesGeneric for bits ≤ 4, groups ≥ 1 and len(w) ≥ 1 with the table padded to 16
// entries. The sums are formed per block of tokens before they reach acc, so they round differently.
//
//go:noescape
func accumBlocksAVX512(acc, w []float32, codes []uint16, groups, bits int, table *[16]float32)

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

func scoreCodesImpl(out, q []float32, codes []uint16, norms []float32, groups, bits int, table []float32) {
	if !useAVX512 || bits > 4 || groups == 0 || len(out) == 0 {
		scoreCodesGeneric(out, q, codes, norms, groups, bits, table)
		return
	}
	// Bounds the assembly relies on.
	_ = q[groups*16-1]
	_ = codes[len(out)*groups*bits-1]
	_ = norms[len(out)-1]
	var t [16]float32
	copy(t[:], table)
	// Whole blocks of 16 tokens go to the blocked kernel, the rest one token at a time.
	m := len(out) &^ 15
	if m > 0 {
		scoreBlocksAVX512(out[:m], q, codes, norms, groups, bits, &t)
	}
	if m < len(out) {
		scoreCodesAVX512(out[m:], q, codes[m*groups*bits:], norms[m:], groups, bits, &t)
	}
}

func accumCodesImpl(acc, w []float32, codes []uint16, groups, bits int, table []float32) {
	if !useAVX512 || bits > 4 || groups == 0 || len(w) == 0 {
		accumCodesGeneric(acc, w, codes, groups, bits, table)
		return
	}
	_ = acc[groups*16-1]
	_ = codes[len(w)*groups*bits-1]
	var t [16]float32
	copy(t[:], table)
	accumBlocksAVX512(acc, w, codes, groups, bits, &t)
}
