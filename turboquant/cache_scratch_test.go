package turboquant

import (
	"math/rand/v2"
	"sync"
	"testing"
)

// TestAttentionConcurrentReaders checks that readers sharing a cache get their own pooled scratch: concurrent
// Attention calls must give exactly the serial result (run with -race to check for sharing as well).
func TestAttentionConcurrentReaders(t *testing.T) {
	const d, n = 64, 300
	c, err := NewCache(CacheConfig{Dim: d, KeyBits: 2.5, ValueBits: 3, Window: 8})
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(2, 2))
	k, v := make([]float32, d), make([]float32, d)
	for i := 0; i < n; i++ {
		kvLike(rng, k)
		kvLike(rng, v)
		if err := c.Append(k, v); err != nil {
			t.Fatal(err)
		}
	}
	qs := make([][]float32, 8)
	want := make([][]float32, len(qs))
	for i := range qs {
		qs[i], want[i] = make([]float32, d), make([]float32, d)
		kvLike(rng, qs[i])
		if err := c.Attention(want[i], qs[i]); err != nil {
			t.Fatal(err)
		}
	}
	var wg sync.WaitGroup
	errs := make(chan string, len(qs))
	for i := range qs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out := make([]float32, d)
			for range 20 {
				if err := c.Attention(out, qs[i]); err != nil {
					errs <- err.Error()
					return
				}
				for j := range out {
					if out[j] != want[i][j] {
						errs <- "concurrent result differs from serial"
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Fatal(e)
	}
}

// TestAttentionAllocs checks that a warm cache answers Attention without allocating (the pool may be emptied by a
// garbage collection, which the average over 100 runs absorbs).
func TestAttentionAllocs(t *testing.T) {
	const d, n = 128, 1000
	c, err := NewCache(CacheConfig{Dim: d, KeyBits: 3, ValueBits: 3, Window: 4})
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(3, 1))
	k, v := make([]float32, d), make([]float32, d)
	for i := 0; i < n; i++ {
		kvLike(rng, k)
		kvLike(rng, v)
		if err := c.Append(k, v); err != nil {
			t.Fatal(err)
		}
	}
	out := make([]float32, d)
	if a := testing.AllocsPerRun(100, func() { _ = c.Attention(out, k) }); a >= 1 {
		t.Errorf("Attention allocates %v times per call, want 0", a)
	}
}
