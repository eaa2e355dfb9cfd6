package turboquant

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// RotationKind selects how the random rotation Π is built.
type RotationKind int

const (
	// Hadamard is a randomized Hadamard transform: random signs, fast Walsh–Hadamard blocks and a random permutation,
	// two rounds. O(d log d), orthogonal, but only approximately Haar-distributed.
	Hadamard RotationKind = iota
	// Dense is a Haar-random orthogonal matrix (QR of a Gaussian matrix, TurboQuant Alg. 1): exact theory, O(d²) per vector.
	Dense
)

func (k RotationKind) String() string {
	if k == Dense {
		return "dense"
	}
	return "hadamard"
}

// ParseRotation maps "dense" or "hadamard" to a RotationKind.
func ParseRotation(s string) (RotationKind, error) {
	switch s {
	case "dense":
		return Dense, nil
	case "hadamard", "fast":
		return Hadamard, nil
	}
	return 0, fmt.Errorf("turboquant: unknown rotation %q (want dense or hadamard)", s)
}

// rotation is an orthogonal map on R^d. apply and inverse must not alias dst and src unless noted.
type rotation interface {
	apply(dst, src, tmp []float32)   // dst = Π src; tmp is scratch of length ≥ d
	inverse(dst, src, tmp []float32) // dst = Πᵀ src
}

func newRotation(kind RotationKind, d int, seed uint64) rotation {
	if kind == Dense {
		return newDenseRotation(d, seed)
	}
	return newHadamardRotation(d, seed)
}

// denseRotation holds Π row-major.
type denseRotation struct {
	d int
	m []float32
}

// newDenseRotation draws Π = Q from the QR decomposition of a d×d standard Gaussian matrix, with R's diagonal made
// positive so that Q is Haar-distributed (Mezzadri 2007). Householder QR in float64.
func newDenseRotation(d int, seed uint64) *denseRotation {
	rng := rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15))
	a := make([]float64, d*d) // column-major: a[j*d+i] = A[i][j]
	for i := range a {
		a[i] = rng.NormFloat64()
	}
	// Householder: reflect column j below the diagonal; keep the reflectors to form Q afterwards.
	vs := make([][]float64, d)
	signs := make([]float64, d)
	for j := 0; j < d; j++ {
		col := a[j*d : (j+1)*d]
		var norm float64
		for i := j; i < d; i++ {
			norm += col[i] * col[i]
		}
		norm = math.Sqrt(norm)
		alpha := -norm
		if col[j] < 0 {
			alpha = norm
		}
		signs[j] = math.Copysign(1, alpha) // R_jj = alpha
		v := make([]float64, d-j)
		copy(v, col[j:])
		v[0] -= alpha
		var vn float64
		for _, x := range v {
			vn += x * x
		}
		if vn > 0 {
			s := math.Sqrt(vn)
			for i := range v {
				v[i] /= s
			}
		}
		vs[j] = v
		for k := j; k < d; k++ {
			c := a[k*d : (k+1)*d]
			var dot float64
			for i, x := range v {
				dot += x * c[j+i]
			}
			for i, x := range v {
				c[j+i] -= 2 * dot * x
			}
		}
	}
	// Q = H_0 H_1 … H_(d−1); build column by column from e_k, then scale column k by sign(R_kk).
	q := make([]float64, d)
	m := make([]float32, d*d)
	for k := 0; k < d; k++ {
		for i := range q {
			q[i] = 0
		}
		q[k] = 1
		for j := d - 1; j >= 0; j-- {
			v := vs[j]
			var dot float64
			for i, x := range v {
				dot += x * q[j+i]
			}
			for i, x := range v {
				q[j+i] -= 2 * dot * x
			}
		}
		for i := 0; i < d; i++ {
			m[i*d+k] = float32(q[i] * signs[k])
		}
	}
	return &denseRotation{d: d, m: m}
}

func (r *denseRotation) apply(dst, src, _ []float32) {
	d := r.d
	for i := 0; i < d; i++ {
		dst[i] = dotF32(r.m[i*d:(i+1)*d], src[:d])
	}
}

func (r *denseRotation) inverse(dst, src, _ []float32) {
	d := r.d
	for i := range dst[:d] {
		dst[i] = 0
	}
	for i := 0; i < d; i++ {
		axpyF32(dst[:d], src[i], r.m[i*d:(i+1)*d])
	}
}

// hadamardRotation applies, per round, y = P·H_tail·H_head·D·x with D random signs, H a normalised Walsh–Hadamard
// transform on the leading and the trailing block of p = 2^⌊log2 d⌋ coordinates (the same block when d is a power
// of two; overlapping blocks otherwise, e.g. [0,1024) and [512,1536) for d = 1536) and P a random permutation.
// Each factor is orthogonal, so the whole is.
type hadamardRotation struct {
	d, p  int
	signs [2][]float32
	perm  [2][]int32
	invp  [2][]int32
}

func newHadamardRotation(d int, seed uint64) *hadamardRotation {
	rng := rand.New(rand.NewPCG(seed, 0x2545f4914f6cdd1d))
	p := 1
	for p*2 <= d {
		p *= 2
	}
	r := &hadamardRotation{d: d, p: p}
	for k := 0; k < 2; k++ {
		r.signs[k] = make([]float32, d)
		for i := range r.signs[k] {
			r.signs[k][i] = float32(2*int(rng.Uint32()&1) - 1)
		}
		r.perm[k] = make([]int32, d)
		r.invp[k] = make([]int32, d)
		for i, j := range rng.Perm(d) {
			r.perm[k][i] = int32(j)
			r.invp[k][j] = int32(i)
		}
	}
	return r
}

// fwht is the in-place Walsh–Hadamard transform of x (len a power of two), scaled by 1/√len to be orthonormal.
func fwht(x []float32) {
	n := len(x)
	for h := 1; h < n; h *= 2 {
		for i := 0; i < n; i += 2 * h {
			a := x[i : i+h]
			b := x[i+h : i+2*h]
			for j := range a {
				u, v := a[j], b[j]
				a[j], b[j] = u+v, u-v
			}
		}
	}
	s := float32(1 / math.Sqrt(float64(n)))
	for i := range x {
		x[i] *= s
	}
}

func (r *hadamardRotation) apply(dst, src, tmp []float32) {
	d, p := r.d, r.p
	tmp = tmp[:d]
	copy(tmp, src[:d])
	for k := 0; k < 2; k++ {
		for i, s := range r.signs[k] {
			tmp[i] *= s
		}
		fwht(tmp[:p])
		if p != d {
			fwht(tmp[d-p:])
		}
		for i, j := range r.perm[k] {
			dst[i] = tmp[j]
		}
		if k == 0 {
			copy(tmp, dst[:d])
		}
	}
}

func (r *hadamardRotation) inverse(dst, src, tmp []float32) {
	d, p := r.d, r.p
	tmp = tmp[:d]
	copy(tmp, src[:d])
	for k := 1; k >= 0; k-- {
		for i, j := range r.invp[k] {
			dst[i] = tmp[j]
		}
		if p != d {
			fwht(dst[d-p : d])
		}
		fwht(dst[:p])
		for i, s := range r.signs[k] {
			dst[i] *= s
		}
		if k == 1 {
			copy(tmp, dst[:d])
		}
	}
}
