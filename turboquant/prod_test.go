package turboquant

import (
	"math"
	"math/rand/v2"
	"testing"
)

// pair returns unit vectors x, y in R^d with ⟨x, y⟩ = c.
func pair(rng *rand.Rand, d int, c float64) (x, y []float32) {
	x = make([]float32, d)
	z := make([]float32, d)
	randUnit(rng, x)
	randUnit(rng, z)
	var xz float64
	for i := range x {
		xz += float64(x[i]) * float64(z[i])
	}
	var n float64
	for i := range z {
		z[i] -= float32(xz) * x[i]
		n += float64(z[i]) * float64(z[i])
	}
	y = make([]float32, d)
	s := math.Sqrt(1 - c*c)
	for i := range y {
		y[i] = float32(c*float64(x[i]) + s*float64(z[i])/math.Sqrt(n))
	}
	return x, y
}

type stats struct{ n, sum, sumsq float64 }

func (s *stats) add(v float64) { s.n++; s.sum += v; s.sumsq += v * v }
func (s *stats) mean() float64 { return s.sum / s.n }
func (s *stats) variance() float64 {
	m := s.mean()
	return (s.sumsq - s.n*m*m) / (s.n - 1)
}
func (s *stats) stderr() float64 { return math.Sqrt(s.variance() / s.n) }

// TestQJLUnbiased: over fresh Gaussian S, the QJL estimate has mean ⟨q,k⟩ and variance [(π/2)‖q‖²‖k‖² − ⟨q,k⟩²]/m.
func TestQJLUnbiased(t *testing.T) {
	const d, m = 32, 32
	trials := 100000
	if testing.Short() {
		trials = 30000
	}
	rng := rand.New(rand.NewPCG(3, 4))
	k, q := pair(rng, d, 0.6)
	for i := range k {
		k[i] *= 2 // ‖k‖ = 2
	}
	const ip, qq, kk = 1.2, 1.0, 4.0
	var e stats
	signs := make([]uint64, 1)
	for tr := 0; tr < trials; tr++ {
		j, _ := NewQJL(d, m, uint64(tr))
		n, err := j.Encode(signs, k)
		if err != nil {
			t.Fatal(err)
		}
		sq, _ := j.Project(q)
		e.add(float64(j.Estimate(sq, signs, n)) - ip)
	}
	theory := (math.Pi/2*qq*kk - ip*ip) / m
	t.Logf("QJL: mean error %.5f ± %.5f, variance %.5f, theory %.5f", e.mean(), e.stderr(), e.variance(), theory)
	if math.Abs(e.mean()) > 3*e.stderr() {
		t.Errorf("QJL biased: mean error %.5f, stderr %.5f", e.mean(), e.stderr())
	}
	if r := e.variance() / theory; math.Abs(r-1) > 0.05 {
		t.Errorf("QJL variance %.5f vs theory %.5f (ratio %.3f)", e.variance(), theory, r)
	}
}

// TestProdUnbiased: TurboQuant_prod is unbiased over (Π, S) and its variance equals the QJL variance of the residual,
// E[(π/2)‖y‖²‖r‖² − ⟨Πy, r⟩²]/d; TurboQuant_mse instead shrinks inner products by 1 − D_mse(b).
func TestProdUnbiased(t *testing.T) {
	const d = 32
	trials := 100000
	if testing.Short() {
		trials = 30000
	}
	for _, b := range []int{2, 3} {
		rng := rand.New(rand.NewPCG(5, uint64(b)))
		x, y := pair(rng, d, 0.5)
		var e, theory stats
		for tr := 0; tr < trials; tr++ {
			p, err := NewProd(d, b, Hadamard, uint64(tr)*7+uint64(b))
			if err != nil {
				t.Fatal(err)
			}
			c, err := p.Encode(x)
			if err != nil {
				t.Fatal(err)
			}
			pq, _ := p.Prepare(y)
			e.add(float64(p.Estimate(pq, c)) - 0.5)
			yr := 0.5 - float64(p.mse.Score(pq.ry, c.MSE, 1)) // ⟨Πy, r⟩
			g := float64(c.Resid)
			theory.add((math.Pi/2*g*g - yr*yr) / d)
		}
		t.Logf("prod b=%d: mean error %.5f ± %.5f, variance %.6f, theory %.6f", b, e.mean(), e.stderr(), e.variance(), theory.mean())
		if math.Abs(e.mean()) > 3*e.stderr() {
			t.Errorf("prod b=%d biased: mean error %.5f, stderr %.5f", b, e.mean(), e.stderr())
		}
		if r := e.variance() / theory.mean(); math.Abs(r-1) > 0.05 {
			t.Errorf("prod b=%d variance %.6f vs theory %.6f", b, e.variance(), theory.mean())
		}
	}
}

// TestMSEBias measures the mse variant's multiplicative bias E⟨y, x̃⟩ = (1 − D_mse(b))⟨y, x⟩ (the centroids are
// conditional means, so E⟨x̃, x⟩ = E‖x̃‖² = 1 − D_mse).
func TestMSEBias(t *testing.T) {
	const d = 128
	n := 20000
	for b := 1; b <= 4; b++ {
		q, _ := NewMSE(d, b, Hadamard, 9)
		got := measureBias(q, n, uint64(b))
		want := 1 - q.cb.DMSE(d)
		t.Logf("mse b=%d: E⟨y,x̃⟩/⟨y,x⟩ = %.4f, 1 − D_mse = %.4f", b, got, want)
		if math.Abs(got-want) > 0.01 {
			t.Errorf("b=%d: bias factor %.4f, want %.4f", b, got, want)
		}
	}
}

func measureBias(q *MSE, n int, seed uint64) float64 {
	rng := rand.New(rand.NewPCG(seed, 11))
	code := make([]uint16, q.CodeWords())
	var num, den float64
	for i := 0; i < n; i++ {
		x, y := pair(rng, q.Dim(), 0.7)
		nrm, _ := q.Encode(code, x)
		ry, _ := q.RotateQuery(y)
		num += float64(q.Score(ry, code, nrm)) * 0.7
		den += 0.49
	}
	return num / den
}
