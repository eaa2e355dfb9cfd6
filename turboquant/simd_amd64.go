//go:build amd64 && !purego

package turboquant

import "github.com/hone-ml/hone/kernels"

// useAVX512 selects the AVX-512 routines; tests switch it off to run the pure-Go twins on the same machine.
var useAVX512 = kernels.X86.AVX512F

// hasGFNI gates the block kernels, which build indices with GF2P8AFFINEQB (AVX-512 with GFNI).
var hasGFNI = kernels.X86.AVX512GFNI

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

func scoreCodesImpl(out, q []float32, codes []uint16, norms []float32, groups, bits int, t *codeTable) {
	if !useAVX512 || !hasGFNI || bits > 4 || groups == 0 || len(out) == 0 {
		scoreCodesGeneric(out, q, codes, norms, groups, bits, t)
		return
	}
	// Bounds the assembly relies on.
	_ = q[groups*16-1]
	_ = codes[len(out)*groups*bits-1]
	_ = norms[len(out)-1]
	// The last 1…16 tokens are copied into a padded block, which covers both the partial block and the kernel's
	// read past the final group. Every token is then scored by the same kernel and the same lane reduction, so a
	// score does not depend on its position or on the slice's capacity.
	stride := groups * bits
	m := (len(out) - 1) &^ 15
	if m > 0 {
		scoreBlocksAVX512(out[:m], q, codes, norms, groups, bits, &t.cc)
	}
	var o, nrm [16]float32
	var buf [16*8*4 + 4]uint16 // stack room for 16 tokens of up to 128 coordinates at 4 bits
	tail := buf[:]
	if 16*stride+4 > len(buf) {
		tail = make([]uint16, 16*stride+4)
	} else {
		clear(tail[:16*stride+4])
	}
	copy(tail, codes[m*stride:len(out)*stride])
	copy(nrm[:], norms[m:len(out)])
	scoreBlocksAVX512(o[:], q, tail[:16*stride], nrm[:], groups, bits, &t.cc)
	copy(out[m:], o[:])
}

// scoreCodesPadded is scoreCodesImpl for callers that own the memory past their slices, such as the Cache: it
// scores whole blocks of 16 tokens straight from codes, writing up to 15 scores into out's capacity and reading
// norms that far and codes 4 words further, so that no token goes through a padded copy. The extra scores are
// meaningless. Without that capacity it falls back to scoreCodesImpl.
func scoreCodesPadded(out, q []float32, codes []uint16, norms []float32, groups, bits int, t *codeTable) {
	stride := groups * bits
	m := (len(out) + 15) &^ 15
	if !useAVX512 || !hasGFNI || bits > 4 || groups == 0 || len(out) == 0 ||
		cap(out) < m || cap(norms) < m || cap(codes) < m*stride+4 {
		scoreCodesImpl(out, q, codes, norms, groups, bits, t)
		return
	}
	_ = q[groups*16-1]
	scoreBlocksAVX512(out[:m], q, codes[:m*stride+4], norms[:m], groups, bits, &t.cc)
}

func accumCodesImpl(acc, w []float32, codes []uint16, groups, bits int, t *codeTable) {
	if !useAVX512 || !hasGFNI || bits > 4 || groups == 0 || len(w) == 0 {
		accumCodesGeneric(acc, w, codes, groups, bits, t)
		return
	}
	_ = acc[groups*16-1]
	_ = codes[len(w)*groups*bits-1]
	stride := groups * bits
	if cap(codes) >= len(w)*stride+4 {
		// The kernel's read past the last token stays inside memory the slice owns.
		accumBlocksAVX512(acc, w, codes[:len(w)*stride+4], groups, bits, &t.cc)
		return
	}
	// The final token goes alone through a padded copy (the kernel reads past a token's last group).
	m := len(w) - 1
	if m > 0 {
		accumBlocksAVX512(acc, w[:m], codes, groups, bits, &t.cc)
	}
	var buf [8*4 + 4]uint16
	last := buf[:]
	if stride+4 > len(buf) {
		last = make([]uint16, stride+4)
	} else {
		clear(last[:stride+4])
	}
	copy(last, codes[m*stride:(m+1)*stride])
	accumBlocksAVX512(acc, w[m:], last[:stride], groups, bits, &t.cc)
}
