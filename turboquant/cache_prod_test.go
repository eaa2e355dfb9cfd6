package turboquant

import (
	"bytes"
	"math"
	"math/rand/v2"
	"testing"
)

// TestCacheProdKeysUnbiased: with KeyProd, the cache's attention logit for a fixed (q, k) is unbiased over the
// random rotation and QJL matrix (mean error within 3 standard errors of 0), at whole and fractional rates. (Prod's
// variance against theory is TestProdUnbiased.)
func TestCacheProdKeysUnbiased(t *testing.T) {
	const d = 32
	trials := 20000
	if testing.Short() {
		trials = 5000
	}
	for _, bits := range []float64{2, 3, 2.5} {
		rng := rand.New(rand.NewPCG(8, uint64(bits*2)))
		k, q := pair(rng, d, 0.5)
		for i := range k {
			k[i] *= 3
		}
		const exact = 1.5
		var out []int
		if fractional(d, bits) {
			out = []int{0, 3, 5, 8, 13, 17, 19, 20, 22, 25, 26, 28, 29, 30, 31, 1}
		}
		var e stats
		score := make([]float32, 1)
		for tr := 0; tr < trials; tr++ {
			c, err := NewCache(CacheConfig{Dim: d, KeyBits: bits, ValueBits: 2, KeyProd: true, Seed: uint64(tr) * 3,
				KeyOutliers: out, ValueOutliers: out})
			if err != nil {
				t.Fatal(err)
			}
			if err := c.Append(k, k); err != nil {
				t.Fatal(err)
			}
			if err := c.Scores(score, q); err != nil {
				t.Fatal(err)
			}
			e.add(float64(score[0]) - exact)
		}
		t.Logf("prod keys %.1f bits: mean logit error %.5f ± %.5f, sd %.4f", bits, e.mean(), e.stderr(), math.Sqrt(e.variance()))
		if math.Abs(e.mean()) > 3*e.stderr() {
			t.Errorf("%.1f bits: prod-key logits biased: %.5f ± %.5f", bits, e.mean(), e.stderr())
		}
	}
}

// TestCacheProdKeys: a KeyProd cache scores exactly as Prod.Estimate does token by token, stores the bytes it
// claims, tracks fp32 attention, and round-trips through Save/Load.
func TestCacheProdKeys(t *testing.T) {
	const d, n = 128, 600
	rng := rand.New(rand.NewPCG(3, 9))
	c, err := NewCache(CacheConfig{Dim: d, KeyBits: 3.5, ValueBits: 3, Window: 32, KeyProd: true, Seed: 5})
	if err != nil {
		t.Fatal(err)
	}
	keys, vals := make([]float32, n*d), make([]float32, n*d)
	for i := 0; i < n; i++ {
		kvLike(rng, keys[i*d:(i+1)*d])
		kvLike(rng, vals[i*d:(i+1)*d])
		if err := c.Append(keys[i*d:(i+1)*d], vals[i*d:(i+1)*d]); err != nil {
			t.Fatal(err)
		}
	}
	q := make([]float32, d)
	for i := range q {
		q[i] = float32(rng.NormFloat64() * 0.3)
	}
	got := make([]float32, c.Len())
	if err := c.Scores(got, q); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < c.Quantized(); i += 37 {
		var want float32
		for s, sg := range c.kq.segs {
			p := c.kp[s]
			pc, _ := p.Encode(gather(sg.ch, keys[i*d:(i+1)*d]))
			pq, _ := p.Prepare(gather(sg.ch, q))
			want += p.Estimate(pq, pc)
		}
		if math.Abs(float64(got[i]-want)) > 1e-3*(1+math.Abs(float64(want))) {
			t.Fatalf("token %d: cache score %v, Prod.Estimate %v", i, got[i], want)
		}
	}
	// 3.5 bits: 64 channels at 4 bits (3-bit mse + 64 signs) and 64 at 3 bits, each group with two float32 norms.
	if got, want := c.KeyBytesPerVector(), (64*4+64*3)/8+2*8; got != want {
		t.Errorf("prod key bytes %d, want %d", got, want)
	}
	a, exact := make([]float32, d), make([]float32, d)
	if err := c.Attention(a, q); err != nil {
		t.Fatal(err)
	}
	AttentionF32(exact, q, keys, vals, d)
	if e := relErr(a, exact); e > 0.2 {
		t.Errorf("attention rel err vs fp32 %.4f", e)
	}
	var buf bytes.Buffer
	if err := c.Save(&buf); err != nil {
		t.Fatal(err)
	}
	c2, err := LoadCache(&buf)
	if err != nil {
		t.Fatal(err)
	}
	b := make([]float32, d)
	if err := c2.Attention(b, q); err != nil {
		t.Fatal(err)
	}
	if !equalF32(a, b) || c2.Bytes() != c.Bytes() {
		t.Errorf("prod-key cache differs after Save/Load")
	}
}
