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
	scoreCodesImpl(out, q, codes, norms, groups, bits, table)
}

// accumCodes adds w[i]·table[code_i(j)] to acc[j] for the len(w) vectors stored back to back in codes.
func accumCodes(acc, w []float32, codes []uint16, groups, bits int, table []float32) {
	accumCodesImpl(acc, w, codes, groups, bits, table)
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
