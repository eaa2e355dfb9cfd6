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

func scoreCodesGeneric(out, q []float32, codes []uint16, norms []float32, groups, bits int, table []float32) {
	stride := groups * bits
	var lut [16]float32
	for i := range out {
		c := codes[i*stride : (i+1)*stride]
		var s float32
		for g := 0; g < groups; g++ {
			var idx [16]uint8
			for p := 0; p < bits; p++ {
				w := c[g*bits+p]
				for l := range idx {
					idx[l] |= uint8(w>>l&1) << p
				}
			}
			qg := q[g*16 : g*16+16]
			if bits <= 4 {
				copy(lut[:], table)
				for l, k := range idx {
					s += qg[l] * lut[k&15]
				}
			} else {
				for l, k := range idx {
					s += qg[l] * table[k]
				}
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
			var idx [16]uint8
			for p := 0; p < bits; p++ {
				x := c[g*bits+p]
				for l := range idx {
					idx[l] |= uint8(x>>l&1) << p
				}
			}
			ag := acc[g*16 : g*16+16]
			for l, k := range idx {
				ag[l] += wi * table[k]
			}
		}
	}
}
