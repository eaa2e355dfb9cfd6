package turboquant

import (
	mbits "math/bits"
	"sync"
)

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

// walsh expands a 2^bits-entry table as table[k] = c0 + Σ_S coef[S]·(2·x_S(k) − 1) over non-empty plane sets S,
// where x_S(k) is the XOR of k's bits in S: the Walsh–Hadamard transform with each character written as a parity.
// TurboQuant's tables are antisymmetric (table[2^b−1−k] = −table[k]), so the even sets and c0 vanish exactly and
// only 2^(b−1) sets remain; sets is the list of those with a non-zero coefficient.
func walsh(table []float32, bits int) (c0 float64, sets []int, coef []float64) {
	n := 1 << bits
	for S := 0; S < n; S++ {
		var a float64
		for k := 0; k < n; k++ {
			if bitsOnes(k&S)%2 == bitsOnes(S)%2 {
				a += float64(table[k]) // character Π_(i∈S) (2·bit_i − 1) is +1
			} else {
				a -= float64(table[k])
			}
		}
		a /= float64(n)
		if S == 0 {
			c0 = a
			continue
		}
		if bitsOnes(S)%2 == 0 {
			a = -a // even sets: the character is 1 − 2·x_S
		}
		if a != 0 {
			sets, coef = append(sets, S), append(coef, a)
		}
	}
	return c0, sets, coef
}

func bitsOnes(x int) int { return mbits.OnesCount(uint(x)) }

// scoreCodesGeneric computes the scores through the Walsh expansion: with P_S = Σ_(j: x_S(j)=1) q_j, a token's
// score is c0·Σq + Σ_S coef_S·(2·P_S − Σq). P_S is a sum of table lookups, one per byte of the XORed planes, in
// tables of the 256 subset sums of 8 query coordinates (product-quantization "fast scan" with 8-lane bit masks as
// indices). That is 2^(b−1) lookups per 8 coordinates for TurboQuant's tables instead of 8 index extractions.
func scoreCodesGeneric(out, q []float32, codes []uint16, norms []float32, groups, bits int, tab *codeTable) {
	if !tab.walshShape {
		scoreCodesDirect(out, q, codes, norms, groups, bits, tab.t)
		return
	}
	c0, coef := tab.c0, tab.coef
	lutp := getF32(groups * 512)
	defer f32Pool.Put(lutp)
	lut := *lutp
	var sumq float64
	for b := 0; b < groups*2; b++ {
		t := (*[256]float32)(lut[b*256:])
		for m := 1; m < 256; m++ {
			low := m & -m
			t[m] = t[m&(m-1)] + q[b*8+mbits.TrailingZeros(uint(low))]
		}
		sumq += float64(t[255])
	}
	base := c0 * sumq
	for _, a := range coef {
		base -= a * sumq
	}
	var cf [4]float32
	for i := range coef {
		cf[i] = float32(2 * coef[i])
	}
	stride := groups * bits
	for i := range out {
		c := codes[i*stride : (i+1)*stride : (i+1)*stride]
		// One accumulator per plane set: sets 1, 2, 4 and 7 (planes 0, 1, 2 and their XOR) for 3 bits.
		var a0, a1, a2, a3 float32
		for g := 0; g < groups; g++ {
			t := (*[512]float32)(lut[g*512:])
			w := c[g*bits : g*bits+bits]
			w0, w1 := w[0], w[1]
			a0 += t[uint8(w0)] + t[256+int(w0>>8)]
			a1 += t[uint8(w1)] + t[256+int(w1>>8)]
			if bits == 3 {
				w2 := w[2]
				x := w0 ^ w1 ^ w2
				a2 += t[uint8(w2)] + t[256+int(w2>>8)]
				a3 += t[uint8(x)] + t[256+int(x>>8)]
			}
		}
		out[i] = norms[i] * (float32(base) + cf[0]*a0 + cf[1]*a1 + cf[2]*a2 + cf[3]*a3)
	}
}

// oddSets reports whether the Walsh expansion has the shape the fast paths are written for: TurboQuant's
// antisymmetric 2- or 3-bit tables, whose only sets are the single planes and, for 3 bits, all three.
func oddSets(c0 float64, sets []int, bits int) bool {
	want := map[int][]int{2: {1, 2}, 3: {1, 2, 4, 7}}[bits]
	if c0 != 0 || len(sets) != len(want) {
		return false
	}
	for i, S := range sets {
		if S != want[i] {
			return false
		}
	}
	return true
}

// scoreCodesDirect decodes every index; it serves tables without a short Walsh expansion (bits > 4).
func scoreCodesDirect(out, q []float32, codes []uint16, norms []float32, groups, bits int, table []float32) {
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

// accumCodesGeneric is the transpose of scoreCodesGeneric's scheme: acc_j += Σ_t w_t·table[code_t(j)] =
// c0·W + Σ_S coef_S·(2·A_S(j) − W) with W = Σ_t w_t and A_S(j) = Σ_(t: x_S(t,j)=1) w_t. Each token adds its weight
// to one histogram bin per plane-set byte; the bins are spread back onto the 8 coordinates of each byte at the end.
func accumCodesGeneric(acc, w []float32, codes []uint16, groups, bits int, tab *codeTable) {
	if !tab.walshShape || len(w) < 64 {
		// The histograms cost 2^(b−1)·groups·512 bins to spread, worth it only over many tokens.
		accumCodesDirect(acc, w, codes, groups, bits, tab.t)
		return
	}
	c0, coef, ns := tab.c0, tab.coef, len(tab.sets)
	histp := getF32(groups * 4 * 512) // room for 4 sets whatever ns is, so one array type covers a group
	defer f32Pool.Put(histp)
	hist := *histp
	stride := groups * bits
	var wsum float64
	for i, wi := range w {
		wsum += float64(wi)
		c := codes[i*stride : (i+1)*stride : (i+1)*stride]
		for g := 0; g < groups; g++ {
			// Histograms per plane set, laid out [group][set][512] so one token's bins sit together.
			h := (*[4 * 512]float32)(hist[g*4*512:])
			w := c[g*bits : g*bits+bits]
			w0, w1 := w[0], w[1]
			h[uint8(w0)] += wi
			h[256+int(w0>>8)] += wi
			h[512+int(uint8(w1))] += wi
			h[768+int(w1>>8)] += wi
			if bits == 3 {
				w2 := w[2]
				x := w0 ^ w1 ^ w2
				h[1024+int(uint8(w2))] += wi
				h[1280+int(w2>>8)] += wi
				h[1536+int(uint8(x))] += wi
				h[1792+int(x>>8)] += wi
			}
		}
	}
	W := float32(wsum)
	base := float32(c0) * W
	for _, a := range coef {
		base -= float32(a) * W
	}
	for j := range acc[:groups*16] {
		acc[j] += base
	}
	for k := range ns {
		a2 := float32(2 * coef[k])
		for g := 0; g < groups; g++ {
			for half := 0; half < 2; half++ {
				h := (*[256]float32)(hist[(g*4+k)*512+half*256:])
				for l := 0; l < 8; l++ {
					// Bins with bit l set come in runs of 2^l starting at odd multiples of 2^l.
					var v float32
					for run := 1 << l; run < 256; run += 2 << l {
						for _, x := range h[run : run+1<<l] {
							v += x
						}
					}
					acc[g*16+half*8+l] += a2 * v
				}
			}
		}
	}
}

// accumCodesDirect decodes every index; it serves short token runs and tables without a short Walsh expansion.
func accumCodesDirect(acc, w []float32, codes []uint16, groups, bits int, table []float32) {
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

// f32Pool recycles the Go kernels' lookup tables and histograms (16–64 KiB at d = 128), which would otherwise be
// allocated on every attention call.
var f32Pool sync.Pool

// getF32 returns a pooled slice of n zeros.
func getF32(n int) *[]float32 {
	p, _ := f32Pool.Get().(*[]float32)
	if p == nil || cap(*p) < n {
		s := make([]float32, n)
		return &s
	}
	*p = (*p)[:n]
	clear(*p)
	return p
}
