package turboquant

import (
	"encoding/binary"
	"fmt"
	"math"
)

// Polar is PolarQuant (Han, Kacham, Karbasi, Mirrokni, Zandieh, arXiv 2502.02617): after a random rotation, each
// block of 2^L coordinates is rewritten in recursive polar form — level 1 pairs coordinates into (radius, angle in
// [0, 2π)), level ℓ ≥ 2 pairs the radii of level ℓ−1 into (radius, angle in [0, π/2]) — leaving one radius and
// 2^L − 1 angles per block. The rotation makes the angles independent with known laws (uniform at level 1,
// f(ψ) ∝ sin^(2^(ℓ−1)−1)(2ψ) at level ℓ, the paper's Lemma 2), so each level gets its own fixed Lloyd-Max codebook
// and no per-block scale or zero point is stored. The paper's setting is L = 4 with 4, 2, 2, 2 bits.
//
// Storage per vector: ‖x‖ as float32, each block's radius relative to ‖x‖ as float16, and the angle indices
// bit-packed level by level.
type Polar struct {
	d, levels, blocks int
	bits              []int // per level, 1-based level ℓ at bits[ℓ−1]
	rot               rotation
	cbs               []*Codebook
	cos, sin          [][]float32 // per level, cos/sin of each centroid (decoding turns angles into splits)
	angleBits         int         // per block
}

// NewPolar builds a PolarQuant quantizer for d-dimensional vectors with len(bits) levels; d must be a multiple of
// 2^len(bits) and every level gets 1…MaxBits bits.
func NewPolar(d int, bits []int, kind RotationKind, seed uint64) (*Polar, error) {
	L := len(bits)
	if L < 1 || L > 8 {
		return nil, fmt.Errorf("turboquant: PolarQuant with %d levels: need 1…8: %w", L, ErrInvalid)
	}
	if d < 2 || d%(1<<L) != 0 {
		return nil, fmt.Errorf("turboquant: PolarQuant dimension %d: need a multiple of 2^%d: %w", d, L, ErrInvalid)
	}
	p := &Polar{d: d, levels: L, blocks: d >> L, bits: append([]int(nil), bits...), rot: newRotation(kind, d, seed)}
	for l, b := range bits {
		if b < 1 || b > MaxBits {
			return nil, fmt.Errorf("turboquant: PolarQuant level %d: %d bits: need 1…%d: %w", l+1, b, MaxBits, ErrInvalid)
		}
		cb := polarLevelCodebook(l+1, b)
		p.cbs = append(p.cbs, cb)
		cs, sn := make([]float32, len(cb.Centroids)), make([]float32, len(cb.Centroids))
		for i, c := range cb.Centroids {
			cs[i], sn[i] = float32(math.Cos(c)), float32(math.Sin(c))
		}
		p.cos, p.sin = append(p.cos, cs), append(p.sin, sn)
		p.angleBits += b << (L - l - 1) // 2^(L−ℓ) angles at level ℓ
	}
	return p, nil
}

// polarLevelCodebook is the Lloyd-Max codebook for a level-ℓ angle: the uniform grid on [0, 2π) at level 1 (optimal
// for a uniform law, on the circle too since no cell wraps), the sin^(2^(ℓ−1)−1)(2ψ) law above.
func polarLevelCodebook(level, bits int) *Codebook {
	if level > 1 {
		return polarCodebook(level, bits)
	}
	key := cbKey{'u', 0, bits}
	if v, ok := cbCache.Load(key); ok {
		return v.(*Codebook)
	}
	k := 1 << bits
	init := make([]float64, k)
	for i := range init {
		init[i] = (float64(i) + 0.5) / float64(k) * 2 * math.Pi
	}
	one := func(float64) float64 { return 1 }
	dn := density{lo: 0, hi: 2 * math.Pi, toParam: func(x float64) float64 { return x },
		value: func(t float64) float64 { return t }, weight: one, pdf: one, h: math.Pi / 64}
	v, _ := cbCache.LoadOrStore(key, newCodebook(dn, bits, init))
	return v.(*Codebook)
}

// Dim is the vector length.
func (p *Polar) Dim() int { return p.d }

// Bytes is the storage of one vector: 4 (norm) + 2 per block (radius) + the packed angle bits.
func (p *Polar) Bytes() int { return 4 + 2*p.blocks + (p.blocks*p.angleBits+7)/8 }

// Rate is the stored bits per coordinate, everything included.
func (p *Polar) Rate() float64 { return float64(8*p.Bytes()) / float64(p.d) }

// Encode writes x's code (Bytes() bytes) to code.
func (p *Polar) Encode(code []byte, x []float32) error {
	n, err := checkVec(x, p.d)
	if err != nil {
		return err
	}
	if len(code) != p.Bytes() {
		return fmt.Errorf("turboquant: PolarQuant code of %d bytes, want %d: %w", len(code), p.Bytes(), ErrInvalid)
	}
	for i := range code {
		code[i] = 0
	}
	binary.LittleEndian.PutUint32(code, math.Float32bits(float32(n)))
	if n == 0 {
		return nil // radii 0: decodes to zero
	}
	d := p.d
	u, y := make([]float32, d), make([]float32, 2*d)
	for i, v := range x {
		u[i] = float32(float64(v) / n)
	}
	p.rot.apply(y[:d], u, y[d:])
	bw := bitWriter{buf: code[4+2*p.blocks:]}
	bs := 1 << p.levels
	r := make([]float32, bs/2)
	for blk := 0; blk < p.blocks; blk++ {
		v := y[blk*bs : (blk+1)*bs]
		// Level 1: coordinate pairs → radius and full-circle angle.
		for j := range r {
			a, b := float64(v[2*j]), float64(v[2*j+1])
			psi := math.Atan2(b, a)
			if psi < 0 {
				psi += 2 * math.Pi
			}
			bw.put(p.cbs[0].index(float32(psi)), p.bits[0])
			r[j] = float32(math.Hypot(a, b))
		}
		// Levels 2…L: radius pairs → radius and quarter-circle angle; r shrinks in place.
		for l := 1; l < p.levels; l++ {
			m := len(r) >> l
			for j := 0; j < m; j++ {
				a, b := float64(r[2*j]), float64(r[2*j+1])
				bw.put(p.cbs[l].index(float32(math.Atan2(b, a))), p.bits[l])
				r[j] = float32(math.Hypot(a, b))
			}
		}
		binary.LittleEndian.PutUint16(code[4+2*blk:], halfBits(r[0]))
	}
	return nil
}

// Decode writes the reconstruction to dst (length d).
func (p *Polar) Decode(dst []float32, code []byte) error {
	if len(dst) != p.d || len(code) != p.Bytes() {
		return fmt.Errorf("turboquant: PolarQuant decode into %d floats from %d bytes, want %d and %d: %w",
			len(dst), len(code), p.d, p.Bytes(), ErrInvalid)
	}
	norm := math.Float32frombits(binary.LittleEndian.Uint32(code))
	if math.IsNaN(float64(norm)) || math.IsInf(float64(norm), 0) || norm < 0 {
		return fmt.Errorf("turboquant: PolarQuant code with norm %v: %w", norm, ErrInvalid)
	}
	d, L, bs := p.d, p.levels, 1<<p.levels
	y, tmp := make([]float32, d), make([]float32, d)
	br := bitReader{buf: code[4+2*p.blocks:]}
	// Angles are stored level 1 first; decoding walks the levels top-down, so read one block's indices up front.
	idx := make([][]int, L)
	for l := range idx {
		idx[l] = make([]int, bs>>(l+1))
	}
	r := make([]float32, bs)
	for blk := 0; blk < p.blocks; blk++ {
		for l := 0; l < L; l++ {
			for j := range idx[l] {
				idx[l][j] = br.get(p.bits[l])
			}
		}
		r[0] = halfFloat(binary.LittleEndian.Uint16(code[4+2*blk:]))
		for l := L - 1; l >= 0; l-- {
			m := bs >> (l + 1)            // nodes at level l+1
			for j := m - 1; j >= 0; j-- { // backwards, so r[2j], r[2j+1] never overwrite an unread r[j]
				k := idx[l][j]
				rj := r[j]
				r[2*j], r[2*j+1] = rj*p.cos[l][k], rj*p.sin[l][k]
			}
		}
		copy(y[blk*bs:], r)
	}
	p.rot.inverse(dst, y, tmp)
	for i := range dst {
		dst[i] *= norm
	}
	return nil
}

// TheoryDMSE is the exact expected ‖x − x̃‖²/‖x‖² for a uniformly random direction (radii kept exactly): with
// δ_ℓ = ψ − ψ̃ the angle error at level ℓ and c_ℓ = E cos δ_ℓ, a level-ℓ node's relative error obeys
// E_ℓ = 2(1 − c_ℓ) + c_ℓ·E_(ℓ−1), E_0 = 0, because its two halves are rotated by δ_ℓ and their own directions are
// independent of ψ; D = E_L. To first order this is Σ_ℓ E δ_ℓ², the sum of the per-level codebook errors.
func (p *Polar) TheoryDMSE() float64 {
	var e float64
	for l, cb := range p.cbs {
		dn := polarLevelDensity(l + 1)
		var z, c float64
		for i, ci := range cb.Centroids {
			a, b := dn.lo, dn.hi
			if i > 0 {
				a = cb.Boundaries[i-1]
			}
			if i < len(cb.Boundaries) {
				b = cb.Boundaries[i]
			}
			m0, mc := dn.integrate(a, b, func(x float64) float64 { return math.Cos(x - ci) })
			z += m0
			c += mc
		}
		c /= z
		e = 2*(1-c) + c*e
	}
	return e
}

func polarLevelDensity(level int) density {
	if level > 1 {
		return polarDensity(level)
	}
	one := func(float64) float64 { return 1 }
	return density{lo: 0, hi: 2 * math.Pi, toParam: func(x float64) float64 { return x },
		value: func(t float64) float64 { return t }, weight: one, pdf: one, h: math.Pi / 64}
}

// integrate returns ∫ f and ∫ g·f over the cell [a, b] (in x), with the same quadrature as moments.
func (dn *density) integrate(a, b float64, g func(x float64) float64) (m0, mg float64) {
	ta, tb := dn.toParam(a), dn.toParam(b)
	if tb <= ta {
		return 0, 0
	}
	np := int(math.Ceil((tb - ta) / dn.h))
	step := (tb - ta) / float64(np)
	for k := 0; k < np; k++ {
		mid := ta + (float64(k)+0.5)*step
		for i, z := range glNodes {
			t := mid + z*step/2
			w := glWeights[i] * step / 2 * dn.weight(t)
			m0 += w
			mg += w * g(dn.value(t))
		}
	}
	return m0, mg
}

// bitWriter appends little-endian bit fields to a zeroed buffer.
type bitWriter struct {
	buf []byte
	pos int // bits written
}

func (w *bitWriter) put(v, bits int) {
	for bits > 0 {
		i, o := w.pos>>3, w.pos&7
		n := min(8-o, bits)
		w.buf[i] |= byte(v&(1<<n-1)) << o
		v >>= n
		bits -= n
		w.pos += n
	}
}

// bitReader reads what bitWriter wrote.
type bitReader struct {
	buf []byte
	pos int
}

func (r *bitReader) get(bits int) int {
	v, shift := 0, 0
	for bits > 0 {
		i, o := r.pos>>3, r.pos&7
		n := min(8-o, bits)
		v |= int(r.buf[i]>>o&(1<<n-1)) << shift
		shift += n
		bits -= n
		r.pos += n
	}
	return v
}
