package turboquant

import (
	"bytes"
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
)

// decodeToken reconstructs quantized token i of c in float32.
func decodeToken(c *Cache, i int) (k, v []float32) {
	dec := func(z *Quantizer, codes [][]uint16, norms [][]float32, unbias bool) []float32 {
		out := make([]float32, z.d)
		for s, sg := range z.segs {
			w := sg.q.CodeWords()
			sub := make([]float32, len(sg.ch))
			_ = sg.q.Decode(sub, codes[s][i*w:(i+1)*w], norms[s][i])
			f := float32(1)
			if unbias { // the cache scores keys with centroids / (1 − D_mse)
				f = float32(1 / (1 - sg.q.cb.DMSE(len(sg.ch))))
			}
			for j, ch := range sg.ch {
				out[ch] = sub[j] * f
			}
		}
		return out
	}
	return dec(c.kq, c.kc, c.kn, true), dec(c.vq, c.vc, c.vn, false)
}

// TestCacheAttention checks attention on codes against float32 attention over the decoded keys and values (the
// same math done the slow way), and against exact float32 attention within the quantization error.
func TestCacheAttention(t *testing.T) {
	const d, n = 128, 700
	for _, tc := range []struct {
		kb, vb float64
		window int
		tol    float64 // relative L2 error vs exact attention
	}{{4, 4, 0, 0.12}, {3, 3, 16, 0.2}, {3.5, 2.5, 64, 0.25}, {2, 2, 32, 0.4}, {8, 8, 5, 0.02}} {
		rng := rand.New(rand.NewPCG(1, uint64(tc.kb*10)))
		cfg := CacheConfig{Dim: d, KeyBits: tc.kb, ValueBits: tc.vb, Window: tc.window, Seed: 3}
		if tc.window == 0 {
			cfg.KeyOutliers = nil
		}
		c, err := NewCache(cfg)
		if err != nil {
			t.Fatal(err)
		}
		keys := make([]float32, n*d)
		vals := make([]float32, n*d)
		for i := 0; i < n; i++ {
			kvLike(rng, keys[i*d:(i+1)*d])
			kvLike(rng, vals[i*d:(i+1)*d])
			if err := c.Append(keys[i*d:(i+1)*d], vals[i*d:(i+1)*d]); err != nil {
				t.Fatal(err)
			}
		}
		if c.Len() != n || c.Quantized() != n-tc.window {
			t.Fatalf("Len %d Quantized %d", c.Len(), c.Quantized())
		}
		q := make([]float32, d)
		for i := range q {
			q[i] = float32(rng.NormFloat64() * 0.3)
		}
		got := make([]float32, d)
		if err := c.Attention(got, q); err != nil {
			t.Fatal(err)
		}
		// Decoded reference: quantized tokens reconstructed, window tokens exact.
		dk := append([]float32(nil), keys...)
		dv := append([]float32(nil), vals...)
		for i := 0; i < c.Quantized(); i++ {
			k, v := decodeToken(c, i)
			copy(dk[i*d:], k)
			copy(dv[i*d:], v)
		}
		ref := make([]float32, d)
		AttentionF32(ref, q, dk, dv, d)
		exact := make([]float32, d)
		AttentionF32(exact, q, keys, vals, d)
		if e := relErr(got, ref); e > 1e-4 {
			t.Errorf("k%v/v%v: attention on codes vs decoded reference: rel err %.3g", tc.kb, tc.vb, e)
		}
		e := relErr(got, exact)
		t.Logf("k%v/v%v window %d: rel err vs fp32 attention %.4f, %d bytes (fp16 would be %d)", tc.kb, tc.vb, tc.window, e, c.Bytes(), n*d*2*2)
		if e > tc.tol {
			t.Errorf("k%v/v%v: rel err vs fp32 %.4f > %.2f", tc.kb, tc.vb, e, tc.tol)
		}
	}
}

func relErr(a, b []float32) float64 {
	var num, den float64
	for i := range a {
		e := float64(a[i] - b[i])
		num += e * e
		den += float64(b[i]) * float64(b[i])
	}
	return math.Sqrt(num / den)
}

// TestCacheStorage: a 3-bit cache of 128-dim vectors stores ≤ 3/16 of the fp16 bytes plus one norm per vector.
func TestCacheStorage(t *testing.T) {
	const d, n = 128, 1000
	c, err := NewCache(CacheConfig{Dim: d, KeyBits: 3, ValueBits: 3})
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 1))
	x := make([]float32, d)
	for i := 0; i < n; i++ {
		kvLike(rng, x)
		if err := c.Append(x, x); err != nil {
			t.Fatal(err)
		}
	}
	fp16 := 2 * n * d * 2
	limit := fp16*3/16 + 2*n*4
	if c.Bytes() > limit {
		t.Errorf("3-bit cache %d bytes > %d (3/16 of fp16 %d + norms)", c.Bytes(), limit, fp16)
	}
	if got := c.kq.BytesPerVector(); got != 48+4 {
		t.Errorf("bytes per 3-bit 128-dim vector %d, want 52", got)
	}
}

// TestCacheSaveLoad round-trips caches (1M vectors unless -short) and checks codes, norms, window and attention.
func TestCacheSaveLoad(t *testing.T) {
	n := 1 << 20
	if testing.Short() {
		n = 1 << 14
	}
	const d = 128
	for _, tc := range []struct {
		n      int
		kb, vb float64
		window int
	}{{n, 3, 3, 0}, {5000, 2.5, 3.5, 100}, {50, 3.5, 4, 100}} {
		c, err := NewCache(CacheConfig{Dim: d, KeyBits: tc.kb, ValueBits: tc.vb, Window: tc.window, Seed: 42})
		if err != nil {
			t.Fatal(err)
		}
		rng := rand.New(rand.NewPCG(7, 7))
		k := make([]float32, d)
		v := make([]float32, d)
		for i := 0; i < tc.n; i++ {
			kvLike(rng, k)
			kvLike(rng, v)
			if err := c.Append(k, v); err != nil {
				t.Fatal(err)
			}
		}
		path := filepath.Join(t.TempDir(), "kv.bin")
		f, err := os.Create(path)
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Save(f); err != nil {
			t.Fatal(err)
		}
		f.Close()
		f, _ = os.Open(path)
		c2, err := LoadCache(f)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		if c2.Len() != c.Len() || c2.Quantized() != c.Quantized() || c2.Bytes() != c.Bytes() {
			t.Fatalf("n=%d: loaded Len %d/%d Quantized %d/%d", tc.n, c2.Len(), c.Len(), c2.Quantized(), c.Quantized())
		}
		for s := range c.kc {
			if !equalU16(c.kc[s], c2.kc[s]) || !equalF32(c.kn[s], c2.kn[s]) || !equalU16(c.vc[s], c2.vc[s]) || !equalF32(c.vn[s], c2.vn[s]) {
				t.Fatalf("n=%d: segment %d codes differ after load", tc.n, s)
			}
		}
		q := make([]float32, d)
		kvLike(rng, q)
		a, b := make([]float32, d), make([]float32, d)
		if tc.n <= 5000 {
			_ = c.Attention(a, q)
			_ = c2.Attention(b, q)
			if !equalF32(a, b) {
				t.Errorf("n=%d: attention differs after load", tc.n)
			}
			// Appending after load continues identically.
			_ = c.Append(k, v)
			_ = c2.Append(k, v)
			_ = c.Attention(a, q)
			_ = c2.Attention(b, q)
			if !equalF32(a, b) {
				t.Errorf("n=%d: attention differs after load+append", tc.n)
			}
		}
		t.Logf("n=%d k%v/v%v: %d bytes on disk", tc.n, tc.kb, tc.vb, fileSize(path))
	}
}

func fileSize(p string) int64 {
	st, err := os.Stat(p)
	if err != nil {
		return -1
	}
	return st.Size()
}

func equalU16(a, b []uint16) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func equalF32(a, b []float32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestCacheBadInput(t *testing.T) {
	for _, cfg := range []CacheConfig{
		{Dim: 1, KeyBits: 3, ValueBits: 3},
		{Dim: 64, KeyBits: 0.5, ValueBits: 3},
		{Dim: 64, KeyBits: 3, ValueBits: 9},
		{Dim: 64, KeyBits: math.NaN(), ValueBits: 3},
		{Dim: 64, KeyBits: 2.5, ValueBits: 3},                           // fractional, no window, no outliers
		{Dim: 64, KeyBits: 2.5, ValueBits: 3, KeyOutliers: []int{1, 2}}, // wrong count
		{Dim: 64, KeyBits: 3, ValueBits: 3, Window: -1},
	} {
		if _, err := NewCache(cfg); !errors.Is(err, ErrInvalid) {
			t.Errorf("%+v: err = %v, want ErrInvalid", cfg, err)
		}
	}
	c, _ := NewCache(CacheConfig{Dim: 64, KeyBits: 3, ValueBits: 3, Window: 2})
	nan := make([]float32, 64)
	nan[1] = float32(math.NaN())
	ok := make([]float32, 64)
	if err := c.Append(nan, ok); !errors.Is(err, ErrInvalid) {
		t.Errorf("NaN key: %v", err)
	}
	if err := c.Append(ok, make([]float32, 32)); !errors.Is(err, ErrInvalid) {
		t.Errorf("short value: %v", err)
	}
	if err := c.Attention(make([]float32, 64), make([]float32, 65)); !errors.Is(err, ErrInvalid) {
		t.Errorf("long query: %v", err)
	}
	// Empty cache: attention is defined as zero; zero vectors are fine.
	out := []float32{1}
	out = append(out, make([]float32, 63)...)
	if err := c.Attention(out, ok); err != nil || out[0] != 0 {
		t.Errorf("empty cache attention: %v %v", out[0], err)
	}
	for i := 0; i < 5; i++ {
		if err := c.Append(ok, ok); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.Attention(out, ok); err != nil {
		t.Fatal(err)
	}
	for _, bad := range [][]byte{nil, []byte("HONEKV01"), []byte("NOTMAGIC........")} {
		if _, err := LoadCache(bytes.NewReader(bad)); !errors.Is(err, ErrFormat) {
			t.Errorf("LoadCache(%q): %v", bad, err)
		}
	}
}

func FuzzLoadCache(f *testing.F) {
	c, _ := NewCache(CacheConfig{Dim: 32, KeyBits: 2.5, ValueBits: 3, Window: 4, Seed: 1})
	x := make([]float32, 32)
	for i := 0; i < 10; i++ {
		x[i%32] = float32(i)
		_ = c.Append(x, x)
	}
	var buf bytes.Buffer
	_ = c.Save(&buf)
	f.Add(buf.Bytes())
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := LoadCache(bytes.NewReader(data))
		if err != nil {
			return
		}
		out := make([]float32, c.cfg.Dim)
		_ = c.Attention(out, make([]float32, c.cfg.Dim))
	})
}

// TestExp32 checks the softmax exponential against math.Exp over the range softmax uses, including the underflow
// edge, at the documented relative error.
func TestExp32(t *testing.T) {
	for i := 0; i <= 200000; i++ {
		x := -float32(i) * 0.0005 // 0 … −100
		got, want := float64(exp32(x)), math.Exp(float64(x))
		if want < 1.2e-38 {
			if got != 0 && math.Abs(got-want) > 5e-7*want+1e-44 {
				t.Fatalf("exp32(%v) = %v, want %v or 0", x, got, want)
			}
			continue
		}
		if math.Abs(got-want) > 5e-7*want {
			t.Fatalf("exp32(%v) = %v, want %v (rel %.2g)", x, got, want, math.Abs(got-want)/want)
		}
	}
	if got := exp32(float32(math.Inf(-1))); got != 0 {
		t.Errorf("exp32(-Inf) = %v, want 0", got)
	}
}
