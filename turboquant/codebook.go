// Package turboquant compresses vectors, and KV caches built from them, with data-oblivious online quantizers:
// TurboQuant_mse and TurboQuant_prod (Zandieh, Daliri, Hadian, Mirrokni, arXiv 2504.19874), QJL (Zandieh, Daliri,
// Han, arXiv 2406.03482) and PolarQuant (Han, Kacham, Karbasi, Mirrokni, Zandieh, arXiv 2502.02617).
//
// The common idea: a random rotation makes every coordinate of a unit vector follow the same known density
// f(x) ∝ (1−x²)^((d−3)/2) on [−1, 1], so one precomputed scalar Lloyd-Max codebook per (d, b) is near-optimal for
// any input, with no calibration data.
package turboquant

import (
	"fmt"
	"math"
	"sync"
)

// MaxBits is the largest per-coordinate bit width a codebook supports.
const MaxBits = 8

// Codebook is a scalar Lloyd-Max quantizer: Centroids sorted ascending, and Boundaries[i] the midpoint between
// Centroids[i] and Centroids[i+1] (a value x maps to the number of boundaries below it).
type Codebook struct {
	Bits       int
	Centroids  []float64
	Boundaries []float64
	// MSE is the expected squared error per coordinate under the codebook's density.
	MSE float64

	c32, t32 []float32
}

// density describes a 1-D probability density through a parameterisation θ ↦ x = value(θ) with weight(θ) dθ the
// (unnormalised) probability mass, so that singular or very peaked densities in x stay smooth in θ.
type density struct {
	lo, hi  float64                 // support in x
	toParam func(x float64) float64 // x ↦ θ
	value   func(t float64) float64 // θ ↦ x
	weight  func(t float64) float64 // mass per dθ
	pdf     func(x float64) float64 // mass per dx, same normalisation as weight
	h       float64                 // quadrature panel width in θ
}

// sphereDensity is the law of one coordinate of a uniform point on S^(d−1): f(x) ∝ (1−x²)^((d−3)/2).
// With x = sin θ the mass becomes cos^(d−2)θ dθ, smooth for every d ≥ 2 (d = 2 is singular in x).
func sphereDensity(d int) density {
	e := float64(d - 2)
	return density{
		lo: -1, hi: 1,
		toParam: math.Asin,
		value:   math.Sin,
		weight: func(t float64) float64 {
			c := math.Cos(t)
			if c <= 0 {
				return 0
			}
			return math.Exp(e * math.Log(c))
		},
		pdf: func(x float64) float64 {
			if x <= -1 || x >= 1 {
				return 0
			}
			return math.Exp((e - 1) / 2 * math.Log1p(-x*x))
		},
		h: math.Min(math.Pi/64, 0.2/math.Sqrt(float64(d))),
	}
}

// gaussDensity is N(0,1), the d→∞ limit of √d·x under sphereDensity (truncated at ±14σ, mass < 1e-44).
func gaussDensity() density {
	w := func(x float64) float64 { return math.Exp(-x * x / 2) }
	return density{lo: -14, hi: 14, toParam: func(x float64) float64 { return x },
		value: func(t float64) float64 { return t }, weight: w, pdf: w, h: 0.1}
}

// polarDensity is the law of a level-ℓ PolarQuant angle ψ ∈ [0, π/2] (ℓ ≥ 2): the angle between the norms of two
// independent Gaussian blocks of n = 2^(ℓ−1) coordinates, f(ψ) ∝ sin^(n−1)(2ψ) (PolarQuant, Lemma 2).
func polarDensity(level int) density {
	n := float64(int(1) << (level - 1))
	w := func(t float64) float64 {
		s := math.Sin(2 * t)
		if s <= 0 {
			return 0
		}
		return math.Exp((n - 1) * math.Log(s))
	}
	return density{lo: 0, hi: math.Pi / 2, toParam: func(x float64) float64 { return x },
		value: func(t float64) float64 { return t }, weight: w, pdf: w, h: math.Pi / 256}
}

// glNodes/glWeights are the 16-point Gauss-Legendre rule on [−1, 1], computed once by Newton iteration.
var glNodes, glWeights = gaussLegendre(16)

func gaussLegendre(n int) ([]float64, []float64) {
	x := make([]float64, n)
	w := make([]float64, n)
	for i := 0; i < n; i++ {
		z := math.Cos(math.Pi * (float64(i) + 0.75) / (float64(n) + 0.5))
		var dp float64
		for it := 0; it < 100; it++ {
			p0, p1 := 1.0, z
			for k := 2; k <= n; k++ {
				p0, p1 = p1, ((2*float64(k)-1)*z*p1-float64(k-1)*p0)/float64(k)
			}
			dp = float64(n) * (z*p1 - p0) / (z*z - 1)
			dz := p1 / dp
			z -= dz
			if math.Abs(dz) < 1e-16 {
				break
			}
		}
		x[i], w[i] = z, 2/((1-z*z)*dp*dp)
	}
	return x, w
}

// moments returns ∫ f, ∫ x f and ∫ x² f over the cell [a, b] (in x).
func (dn *density) moments(a, b float64) (m0, m1, m2 float64) {
	ta, tb := dn.toParam(a), dn.toParam(b)
	if tb <= ta {
		return 0, 0, 0
	}
	np := int(math.Ceil((tb - ta) / dn.h))
	step := (tb - ta) / float64(np)
	for p := 0; p < np; p++ {
		mid := ta + (float64(p)+0.5)*step
		for i, z := range glNodes {
			t := mid + z*step/2
			w := glWeights[i] * step / 2 * dn.weight(t)
			x := dn.value(t)
			m0 += w
			m1 += w * x
			m2 += w * x * x
		}
	}
	return m0, m1, m2
}

// lloydMax solves the Lloyd-Max conditions (centroid = conditional mean of its cell, boundary = midpoint) for k
// levels: Lloyd iterations from init, then Newton steps on the tridiagonal fixed-point system, which converge
// quadratically where plain Lloyd needs tens of thousands of sweeps at 8 bits.
func lloydMax(dn density, init []float64) []float64 {
	k := len(init)
	c := append([]float64(nil), init...)
	t := make([]float64, k+1)
	mu := make([]float64, k)
	m0 := make([]float64, k)
	scale := c[k-1] - c[0]
	if k == 1 {
		scale = dn.hi - dn.lo
	}
	update := func() float64 {
		t[0], t[k] = dn.lo, dn.hi
		for i := 1; i < k; i++ {
			t[i] = (c[i-1] + c[i]) / 2
		}
		var worst float64
		for i := 0; i < k; i++ {
			a, b, _ := dn.moments(t[i], t[i+1])
			m0[i] = a
			if a > 0 {
				mu[i] = b / a
			} else {
				mu[i] = (t[i] + t[i+1]) / 2
			}
			worst = math.Max(worst, math.Abs(mu[i]-c[i]))
		}
		return worst / scale
	}
	for it := 0; it < 200; it++ {
		if update() < 1e-15 {
			return c
		}
		copy(c, mu)
	}
	// Newton on G(c) = c − μ(c). ∂μ_i/∂t_i (upper edge) = f(t_i)(t_i−μ_i)/m0_i, ∂μ_i/∂t_(i−1) = −f(t_(i−1))(t_(i−1)−μ_i)/m0_i,
	// and each inner boundary moves by ½ per neighbouring centroid: J is tridiagonal.
	lo, di, up, rhs := make([]float64, k), make([]float64, k), make([]float64, k), make([]float64, k)
	for it := 0; it < 60; it++ {
		res := update()
		if res < 1e-15 {
			break
		}
		for i := 0; i < k; i++ {
			var dLo, dUp float64
			if i > 0 && m0[i] > 0 {
				dLo = -dn.pdf(t[i]) * (t[i] - mu[i]) / m0[i]
			}
			if i < k-1 && m0[i] > 0 {
				dUp = dn.pdf(t[i+1]) * (t[i+1] - mu[i]) / m0[i]
			}
			lo[i], di[i], up[i] = -dLo/2, 1-(dLo+dUp)/2, -dUp/2
			rhs[i] = -(c[i] - mu[i])
		}
		// Thomas algorithm.
		for i := 1; i < k; i++ {
			m := lo[i] / di[i-1]
			di[i] -= m * up[i-1]
			rhs[i] -= m * rhs[i-1]
		}
		rhs[k-1] /= di[k-1]
		for i := k - 2; i >= 0; i-- {
			rhs[i] = (rhs[i] - up[i]*rhs[i+1]) / di[i]
		}
		ok := true
		for i := 0; i < k; i++ {
			n := c[i] + rhs[i]
			if math.IsNaN(n) || n <= dn.lo || n >= dn.hi || (i > 0 && n <= c[i-1]+rhs[i-1]) {
				ok = false
				break
			}
		}
		if !ok { // Newton left the feasible ordering: fall back to a Lloyd sweep.
			copy(c, mu)
			continue
		}
		for i := range c {
			c[i] += rhs[i]
		}
	}
	return c
}

func newCodebook(dn density, bits int, init []float64) *Codebook {
	c := lloydMax(dn, init)
	k := len(c)
	cb := &Codebook{Bits: bits, Centroids: c, Boundaries: make([]float64, k-1)}
	for i := range cb.Boundaries {
		cb.Boundaries[i] = (c[i] + c[i+1]) / 2
	}
	var z, e float64
	for i := 0; i < k; i++ {
		a, b := dn.lo, dn.hi
		if i > 0 {
			a = cb.Boundaries[i-1]
		}
		if i < k-1 {
			b = cb.Boundaries[i]
		}
		m0, m1, m2 := dn.moments(a, b)
		z += m0
		e += m2 - 2*c[i]*m1 + c[i]*c[i]*m0
	}
	cb.MSE = e / z
	cb.c32 = make([]float32, k)
	cb.t32 = make([]float32, k-1)
	for i := range c {
		cb.c32[i] = float32(c[i])
	}
	for i := range cb.t32 {
		cb.t32[i] = float32(cb.Boundaries[i])
	}
	return cb
}

// gaussInit places 2^bits starting centroids at quantiles of N(0, 3σ²): the asymptotically optimal point density of a
// quantizer is ∝ f^(1/3), which for a Gaussian of variance σ² is a Gaussian of variance 3σ².
func gaussInit(bits int, sigma, lo, hi float64) []float64 {
	k := 1 << bits
	c := make([]float64, k)
	for i := range c {
		p := (float64(i) + 0.5) / float64(k)
		v := math.Sqrt(3) * sigma * math.Sqrt2 * math.Erfinv(2*p-1)
		c[i] = math.Max(lo+(hi-lo)*1e-9, math.Min(hi-(hi-lo)*1e-9, v))
	}
	// Keep the order strict after clipping.
	for i := 1; i < k; i++ {
		if c[i] <= c[i-1] {
			c[i] = math.Nextafter(c[i-1], hi)
		}
	}
	return c
}

type cbKey struct {
	kind    byte // 's' sphere, 'g' gauss, 'p' polar angle
	d, bits int
}

var cbCache sync.Map // cbKey → *Codebook

// SphereCodebook returns the b-bit Lloyd-Max codebook for one coordinate of a uniformly random unit vector in R^d,
// i.e. for f(x) ∝ (1−x²)^((d−3)/2) (TurboQuant, Lemma 1). Results are cached per (d, b).
func SphereCodebook(d, bits int) (*Codebook, error) {
	if d < 2 {
		return nil, fmt.Errorf("turboquant: dimension %d: need d ≥ 2", d)
	}
	if bits < 1 || bits > MaxBits {
		return nil, fmt.Errorf("turboquant: %d bits per coordinate: need 1…%d", bits, MaxBits)
	}
	key := cbKey{'s', d, bits}
	if v, ok := cbCache.Load(key); ok {
		return v.(*Codebook), nil
	}
	sigma := 1 / math.Sqrt(float64(d))
	if d < 8 { // far from Gaussian: start from uniform spacing instead
		sigma = 1 / math.Sqrt(3*3)
	}
	cb := newCodebook(sphereDensity(d), bits, gaussInit(bits, sigma, -1, 1))
	v, _ := cbCache.LoadOrStore(key, cb)
	return v.(*Codebook), nil
}

// GaussCodebook returns the b-bit Lloyd-Max codebook for N(0, 1), the d→∞ limit of √d times SphereCodebook.
func GaussCodebook(bits int) (*Codebook, error) {
	if bits < 1 || bits > MaxBits {
		return nil, fmt.Errorf("turboquant: %d bits per coordinate: need 1…%d", bits, MaxBits)
	}
	key := cbKey{'g', 0, bits}
	if v, ok := cbCache.Load(key); ok {
		return v.(*Codebook), nil
	}
	cb := newCodebook(gaussDensity(), bits, gaussInit(bits, 1, -14, 14))
	v, _ := cbCache.LoadOrStore(key, cb)
	return v.(*Codebook), nil
}

// polarCodebook returns the b-bit Lloyd-Max codebook for a level-ℓ PolarQuant angle (ℓ ≥ 2).
func polarCodebook(level, bits int) *Codebook {
	key := cbKey{'p', level, bits}
	if v, ok := cbCache.Load(key); ok {
		return v.(*Codebook)
	}
	k := 1 << bits
	init := make([]float64, k)
	for i := range init {
		init[i] = (float64(i) + 0.5) / float64(k) * math.Pi / 2
	}
	cb := newCodebook(polarDensity(level), bits, init)
	v, _ := cbCache.LoadOrStore(key, cb)
	return v.(*Codebook)
}

// index returns the cell of x: the number of boundaries strictly below it.
func (cb *Codebook) index(x float32) int {
	t := cb.t32
	if len(t) <= 15 {
		i := 0
		for _, b := range t {
			if x > b {
				i++
			}
		}
		return i
	}
	lo, hi := 0, len(t)
	for lo < hi {
		m := (lo + hi) / 2
		if x > t[m] {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo
}

// DMSE is the expected ‖x − x̃‖² of a unit vector in R^d quantized coordinate-wise with cb after a random rotation.
func (cb *Codebook) DMSE(d int) float64 { return float64(d) * cb.MSE }
