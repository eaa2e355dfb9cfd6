package turboquant

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// RotationKind selects how the random rotation Π is built.
type RotationKind int

const (
	// Hadamard is a randomized Hadamard transform: three rounds of random signs, a random permutation and
	// block-diagonal fast Walsh–Hadamard transforms. O(d log d), exactly orthogonal, approximately Haar-distributed.
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

// hadamardRounds is the number of sign–permute–Hadamard rounds. One round of H·D maps a spiky vector (e.g. a key
// whose energy sits in a few outlier channels) to coordinates that are short Rademacher sums, far lighter-tailed than
// the sphere marginal the codebook is built for; three rounds bring the coordinate law to the sphere's within
// sampling noise (FALCONN's pseudo-random rotation, Andoni et al. 2015, uses the same H·D³ construction).
const hadamardRounds = 3

// hadamardRotation applies hadamardRounds rounds of y = H·P·D·x: D random signs, P a random permutation and H a
// block-diagonal normalised Walsh–Hadamard transform whose blocks are the powers of two in d's binary expansion
// (d = 1536 → 1024 + 512; d = 128 → one block). Every factor is orthogonal, so the whole is, and it keeps exactly d
// coordinates (no padding, so b bits per coordinate stay b bits). The fresh permutation in each round sends every
// block's input to a random subset of coordinates, so energy that one round leaves unevenly split between blocks is
// spread over all d outputs by the next.
type hadamardRotation struct {
	d      int
	blocks []int // sizes, descending powers of two summing to d
	signs  [hadamardRounds][]float32
	perm   [hadamardRounds][]int32 // round k gathers dst[i] = signs[k][i]·src[perm[k][i]], then transforms the blocks
}

func newHadamardRotation(d int, seed uint64) *hadamardRotation {
	rng := rand.New(rand.NewPCG(seed, 0x2545f4914f6cdd1d))
	r := &hadamardRotation{d: d}
	for p := 1 << 30; p > 0; p >>= 1 {
		if d&p != 0 {
			r.blocks = append(r.blocks, p)
		}
	}
	for k := range r.signs {
		r.signs[k] = make([]float32, d)
		for i := range r.signs[k] {
			r.signs[k][i] = float32(2*int(rng.Uint32()&1) - 1)
		}
		r.perm[k] = make([]int32, d)
		for i, j := range rng.Perm(d) {
			r.perm[k][i] = int32(j)
		}
	}
	return r
}

// fwht is the in-place Walsh–Hadamard transform of x (len a power of two), scaled by 1/√len to be orthonormal.
// The normalised transform is symmetric and its own inverse.
func fwht(x []float32) {
	n := len(x)
	if n == 1 {
		return
	}
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

// transformBlocks applies H block by block, in place.
func (r *hadamardRotation) transformBlocks(x []float32) {
	o := 0
	for _, p := range r.blocks {
		fwht(x[o : o+p])
		o += p
	}
}

func (r *hadamardRotation) apply(dst, src, tmp []float32) {
	d := r.d
	// Ping-pong between dst and tmp so that the last round lands in dst.
	bufs := [2][]float32{dst[:d], tmp[:d]}
	from := src[:d]
	for k := 0; k < hadamardRounds; k++ {
		to := bufs[(hadamardRounds-1-k)%2]
		for i, j := range r.perm[k] {
			to[i] = r.signs[k][i] * from[j]
		}
		r.transformBlocks(to)
		from = to
	}
}

func (r *hadamardRotation) inverse(dst, src, tmp []float32) {
	d := r.d
	bufs := [2][]float32{dst[:d], tmp[:d]}
	cur := bufs[(hadamardRounds)%2]
	copy(cur, src[:d])
	for k := hadamardRounds - 1; k >= 0; k-- {
		r.transformBlocks(cur)
		to := bufs[k%2]
		for i, j := range r.perm[k] {
			to[j] = r.signs[k][i] * cur[i]
		}
		cur = to
	}
}
