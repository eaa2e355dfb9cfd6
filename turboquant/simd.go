package turboquant

// Hot loops over plain slices. Codes are stored in bit planes: a vector's coordinates are split into groups of 16,
// and group g of a b-bit code occupies b uint16 words, word p holding bit p of the 16 coordinates' indices
// (lane l in bit l). This costs exactly b bits per coordinate and lets AVX-512 rebuild 16 indices from b mask loads.

// dotF32 returns Σ a[i]·b[i] over len(a) (b at least as long).
func dotF32(a, b []float32) float32 { return dotF32Impl(a, b) }

// axpyF32 computes y[i] += a·x[i] over len(y).
func axpyF32(y []float32, a float32, x []float32) { axpyF32Impl(y, a, x) }

// scoreCodes sets out[i] = norms[i] · Σ_j q[j]·table[code_i(j)] for the len(out) vectors stored back to back in codes
// (groups·bits words each). q has groups·16 entries and table 2^bits.
func scoreCodes(out, q []float32, codes []uint16, norms []float32, groups, bits int, table []float32) {
	scoreCodesImpl(out, q, codes, norms, groups, bits, newCodeTable(table, bits))
}

// accumCodes adds w[i]·table[code_i(j)] to acc[j] for the len(w) vectors stored back to back in codes.
func accumCodes(acc, w []float32, codes []uint16, groups, bits int, table []float32) {
	accumCodesImpl(acc, w, codes, groups, bits, newCodeTable(table, bits))
}

// codeTable is a centroid table with what the code kernels derive from it, built once per quantizer instead of on
// every call: the Walsh expansion of the Go kernels and the constants of the AVX-512 ones.
type codeTable struct {
	t          []float32
	c0         float64
	sets       []int
	coef       []float64
	walshShape bool // oddSets: the Walsh paths apply
	cc         codeConsts
}

func newCodeTable(table []float32, bits int) *codeTable {
	t := &codeTable{t: table}
	t.c0, t.sets, t.coef = walsh(table, bits)
	t.walshShape = oddSets(t.c0, t.sets, bits)
	if bits <= 4 {
		t.cc = newCodeConsts(table, bits)
	}
	return t
}

// codeConsts are the block kernels' constants: the centroid table padded to 16 entries, and per qword the 8×8 bit
// matrix that assembles a lane's index from the transposed plane bytes (see DEC in the .s file).
type codeConsts struct {
	table [16]float32
	m     [8]uint64
}

func newCodeConsts(table []float32, bits int) (c codeConsts) {
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

// packPlanes writes the bit planes of idx (len a multiple of 16, values < 2^bits) to dst (len(idx)/16·bits words).
func packPlanes(dst []uint16, idx []uint8, bits int) {
	for g := 0; g < len(idx)/16; g++ {
		lanes := idx[g*16 : g*16+16]
		for p := 0; p < bits; p++ {
			var w uint16
			for l, v := range lanes {
				w |= uint16(v>>p&1) << l
			}
			dst[g*bits+p] = w
		}
	}
}

// unpackPlanes is the inverse of packPlanes.
func unpackPlanes(idx []uint8, src []uint16, bits int) {
	for g := 0; g < len(idx)/16; g++ {
		lanes := idx[g*16 : g*16+16]
		for l := range lanes {
			lanes[l] = 0
		}
		for p := 0; p < bits; p++ {
			w := src[g*bits+p]
			for l := range lanes {
				lanes[l] |= uint8(w>>l&1) << p
			}
		}
	}
}
