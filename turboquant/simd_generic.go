package turboquant

func dotF32Generic(a, b []float32) float32 {
	b = b[:len(a)]
	// Four partial sums break the add dependency chain, as the vector code does.
	var s0, s1, s2, s3 float32
	i := 0
	for ; i+4 <= len(a); i += 4 {
		s0 += a[i] * b[i]
		s1 += a[i+1] * b[i+1]
		s2 += a[i+2] * b[i+2]
		s3 += a[i+3] * b[i+3]
	}
	for ; i < len(a); i++ {
		s0 += a[i] * b[i]
	}
	return (s0 + s1) + (s2 + s3)
}

func axpyF32Generic(y []float32, a float32, x []float32) {
	x = x[:len(y)]
	for i := range y {
		y[i] += a * x[i]
	}
}

// spread8[v] has byte l equal to bit l of v: eight lanes' bits of one plane land in eight bytes at once.
var spread8 = func() (t [256]uint64) {
	for v := range t {
		for l := 0; l < 8; l++ {
			t[v] |= uint64(v>>l&1) << (8 * l)
		}
	}
	return t
}()

// unpackGroup rebuilds one group's 16 indices, eight lanes per uint64 (byte l = index of lane l).
func unpackGroup(c []uint16, bits int) (lo, hi uint64) {
	for p := bits - 1; p >= 0; p-- {
		w := c[p]
		lo = lo<<1 | spread8[w&0xff]
		hi = hi<<1 | spread8[w>>8]
	}
	return lo, hi
}

func scoreCodesGeneric(out, q []float32, codes []uint16, norms []float32, groups, bits int, table []float32) {
	stride := groups * bits
	for i := range out {
		c := codes[i*stride : (i+1)*stride]
		var s float32
		for g := 0; g < groups; g++ {
			lo, hi := unpackGroup(c[g*bits:(g+1)*bits], bits)
			qg := q[g*16 : g*16+16]
			for l := 0; l < 8; l++ {
				s += qg[l]*table[uint8(lo>>(8*l))] + qg[l+8]*table[uint8(hi>>(8*l))]
			}
		}
		out[i] = norms[i] * s
	}
}

func accumCodesGeneric(acc, w []float32, codes []uint16, groups, bits int, table []float32) {
	stride := groups * bits
	for i, wi := range w {
		c := codes[i*stride : (i+1)*stride]
		for g := 0; g < groups; g++ {
			lo, hi := unpackGroup(c[g*bits:(g+1)*bits], bits)
			ag := acc[g*16 : g*16+16]
			for l := 0; l < 8; l++ {
				ag[l] += wi * table[uint8(lo>>(8*l))]
				ag[l+8] += wi * table[uint8(hi>>(8*l))]
			}
		}
	}
}
