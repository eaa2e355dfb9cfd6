package turboquant

import (
	"fmt"
	"math"
	"math/bits"
	"math/rand/v2"
)

// QJL is the 1-bit Quantized Johnson–Lindenstrauss transform (arXiv 2406.03482): k is stored as ‖k‖ and sign(S·k)
// for an m×d matrix S of i.i.d. N(0,1) entries, and ⟨q, k⟩ is estimated without bias by
// √(π/2)/m · ‖k‖ · ⟨S·q, sign(S·k)⟩, with variance [(π/2)‖q‖²‖k‖² − ⟨q,k⟩²]/m (Lemma 3.2 there).
type QJL struct {
	d, m int
	s    []float32 // m×d row-major
}

// NewQJL draws S for d-dimensional inputs and m sign bits.
func NewQJL(d, m int, seed uint64) (*QJL, error) {
	if d < 1 || m < 1 {
		return nil, fmt.Errorf("turboquant: QJL with d=%d, m=%d: %w", d, m, ErrInvalid)
	}
	rng := rand.New(rand.NewPCG(seed, 0x51a3))
	s := make([]float32, m*d)
	for i := range s {
		s[i] = float32(rng.NormFloat64())
	}
	return &QJL{d: d, m: m, s: s}, nil
}

// SignWords is the number of uint64 words holding the m sign bits.
func (j *QJL) SignWords() int { return (j.m + 63) / 64 }

// Encode stores sign(S·x) in signs (SignWords words, bit i set when (S·x)_i ≥ 0) and returns ‖x‖.
func (j *QJL) Encode(signs []uint64, x []float32) (float32, error) {
	n, err := checkVec(x, j.d)
	if err != nil {
		return 0, err
	}
	if len(signs) != j.SignWords() {
		return 0, fmt.Errorf("turboquant: %d sign words, want %d: %w", len(signs), j.SignWords(), ErrInvalid)
	}
	j.signs(signs, x)
	return float32(n), nil
}

func (j *QJL) signs(signs []uint64, x []float32) {
	for i := range signs {
		signs[i] = 0
	}
	for i := 0; i < j.m; i++ {
		if dotF32(j.s[i*j.d:(i+1)*j.d], x) >= 0 {
			signs[i/64] |= 1 << (i % 64)
		}
	}
}

// Project returns S·q, computed once per query.
func (j *QJL) Project(q []float32) ([]float32, error) {
	if _, err := checkVec(q, j.d); err != nil {
		return nil, err
	}
	return j.project(q), nil
}

func (j *QJL) project(q []float32) []float32 {
	out := make([]float32, j.m)
	for i := range out {
		out[i] = dotF32(j.s[i*j.d:(i+1)*j.d], q)
	}
	return out
}

// Estimate returns the unbiased estimate of ⟨q, k⟩ from sq = Project(q) and k's signs and norm.
func (j *QJL) Estimate(sq []float32, signs []uint64, norm float32) float32 {
	return float32(math.Sqrt(math.Pi/2) / float64(j.m) * float64(norm) * signedSum(sq, signs))
}

// signedSum is Σ_i ±sq[i], + where bit i of signs is set.
func signedSum(sq []float32, signs []uint64) float64 {
	var s float64
	for i, v := range sq {
		if signs[i/64]>>(i%64)&1 != 0 {
			s += float64(v)
		} else {
			s -= float64(v)
		}
	}
	return s
}

// Prod is TurboQuant_prod (arXiv 2504.19874, Alg. 2): a (b−1)-bit TurboQuant_mse code of u = x/‖x‖, then 1-bit QJL
// with m = d of the residual r = Π·u − c[idx] with ‖r‖ stored, so that
// ⟨y, x̃⟩ = ‖x‖·(⟨Π·y, c[idx]⟩ + √(π/2)/d·‖r‖·⟨S·Π·y, sign(S·r)⟩) is an unbiased estimate of ⟨y, x⟩.
// The residual is sketched in the rotated basis; S·Π is again Gaussian, so this is the paper's estimator.
// At b = 1 there is no mse stage and Prod is QJL on Π·u.
type Prod struct {
	d, bits int
	mse     *MSE // nil when bits == 1
	rot     rotation
	qjl     *QJL
}

// ProdCode is one vector stored by Prod.
type ProdCode struct {
	MSE   []uint16 // (b−1)-bit TurboQuant_mse code; empty at b = 1
	Signs []uint64 // QJL signs of the residual
	Norm  float32  // ‖x‖
	Resid float32  // ‖r‖ of the unit-norm residual
}

// NewProd builds a b-bit TurboQuant_prod quantizer, 1 ≤ b ≤ MaxBits.
func NewProd(d, bits int, kind RotationKind, seed uint64) (*Prod, error) {
	if bits < 1 || bits > MaxBits {
		return nil, fmt.Errorf("turboquant: %d bits per coordinate: need 1…%d: %w", bits, MaxBits, ErrInvalid)
	}
	if d < 2 {
		return nil, fmt.Errorf("turboquant: dimension %d: need d ≥ 2: %w", d, ErrInvalid)
	}
	p := &Prod{d: d, bits: bits}
	if bits > 1 {
		m, err := NewMSE(d, bits-1, kind, seed)
		if err != nil {
			return nil, err
		}
		p.mse, p.rot = m, m.rot
	} else {
		p.rot = newRotation(kind, d, seed)
	}
	var err error
	p.qjl, err = NewQJL(d, d, seed^0xa5a5a5a5)
	return p, err
}

// Encode quantizes x.
func (p *Prod) Encode(x []float32) (ProdCode, error) {
	n, err := checkVec(x, p.d)
	if err != nil {
		return ProdCode{}, err
	}
	g := (p.d + 15) / 16
	c := ProdCode{Signs: make([]uint64, p.qjl.SignWords()), Norm: float32(n)}
	buf := make([]float32, 3*g*16)
	r := make([]float32, p.d)
	if p.mse != nil {
		c.MSE = make([]uint16, p.mse.CodeWords())
		p.mse.encode(c.MSE, x, float32(n), buf)
		rec := make([]float32, g*16)
		p.mse.decodeRotated(rec, c.MSE)
		for i := range r {
			r[i] = buf[i] - rec[i]
		}
		if n == 0 {
			for i := range r {
				r[i] = 0
			}
		}
	} else if n > 0 {
		u := make([]float32, p.d)
		for i, v := range x {
			u[i] = float32(float64(v) / n)
		}
		p.rot.apply(r, u, buf)
	}
	var rn float64
	for _, v := range r {
		rn += float64(v) * float64(v)
	}
	c.Resid = float32(math.Sqrt(rn))
	p.qjl.signs(c.Signs, r)
	return c, nil
}

// ProdQuery is a query prepared once for many Prod estimates.
type ProdQuery struct {
	ry, sry []float32
}

// Prepare rotates y and projects it with S.
func (p *Prod) Prepare(y []float32) (ProdQuery, error) {
	if _, err := checkVec(y, p.d); err != nil {
		return ProdQuery{}, err
	}
	g := (p.d + 15) / 16
	ry := make([]float32, g*16)
	p.rot.apply(ry, y, make([]float32, p.d))
	return ProdQuery{ry: ry, sry: p.qjl.project(ry[:p.d])}, nil
}

// Estimate returns the unbiased estimate of ⟨y, x⟩.
func (p *Prod) Estimate(q ProdQuery, c ProdCode) float32 {
	var s float64
	if p.mse != nil {
		s = float64(p.mse.Score(q.ry, c.MSE, 1))
	}
	s += math.Sqrt(math.Pi/2) / float64(p.d) * float64(c.Resid) * signedSum(q.sry, c.Signs)
	return float32(s * float64(c.Norm))
}

// Bytes is the storage of one code: mse bits, d sign bits and two float32 norms.
func (p *Prod) Bytes() int {
	b := 8*p.qjl.SignWords() + 8
	if p.mse != nil {
		b += 2 * p.mse.CodeWords()
	}
	return b
}

// scores writes the estimates of ⟨y, x_i⟩ for len(norms) codes stored back to back (mse words, sign words, norms,
// residual norms): the query is rotated and projected once.
func (p *Prod) scores(out, y []float32, mse []uint16, signs []uint64, norms, resid []float32) {
	g := (p.d + 15) / 16
	ry := make([]float32, g*16)
	p.rot.apply(ry, y, make([]float32, p.d))
	sry := p.qjl.project(ry[:p.d])
	if p.mse != nil {
		scoreCodes(out, ry, mse, norms, p.mse.groups, p.mse.bits, p.mse.cb.c32)
	} else {
		for i := range out {
			out[i] = 0
		}
	}
	// Σ_i ±sry[i] = 2·Σ_(bit set) sry[i] − Σ_i sry[i].
	var total float32
	for _, v := range sry {
		total += v
	}
	coef := float32(math.Sqrt(math.Pi/2) / float64(p.d))
	w := p.qjl.SignWords()
	for i := range out {
		var pos float32
		for k, word := range signs[i*w : (i+1)*w] {
			base := k * 64
			for word != 0 {
				pos += sry[base+bits.TrailingZeros64(word)]
				word &= word - 1
			}
		}
		out[i] += norms[i] * coef * resid[i] * (2*pos - total)
	}
}
