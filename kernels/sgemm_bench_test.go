package kernels

import (
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
)

// goRunner spreads tasks over `threads` goroutines, like the runtime's pool.
func goRunner(threads int) Runner {
	if threads <= 1 {
		return nil
	}
	return func(n int, fn func(int)) {
		var wg sync.WaitGroup
		var mu sync.Mutex
		next := 0
		for w := 0; w < threads; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					mu.Lock()
					i := next
					next++
					mu.Unlock()
					if i >= n {
						return
					}
					fn(i)
				}
			}()
		}
		wg.Wait()
	}
}

func reportGFLOPS(b *testing.B, flops float64) {
	b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOPS")
}

func BenchmarkSgemm(b *testing.B) {
	for _, n := range []int{256, 1024} {
		rng := rand.New(rand.NewPCG(1, 1))
		a, bb, c := randSlice(rng, n*n), randSlice(rng, n*n), make([]float32, n*n)
		for _, l := range impls() {
			if l == implGeneric && n > 256 {
				continue // minutes per op
			}
			for _, threads := range []int{1, 2} {
				b.Run(fmt.Sprintf("n=%d/%s/threads=%d", n, l, threads), func(b *testing.B) {
					defer setImpl(l)()
					r := goRunner(threads)
					for b.Loop() {
						Sgemm(r, false, false, n, n, n, 1, a, n, bb, n, 0, c, n)
					}
					reportGFLOPS(b, 2*float64(n)*float64(n)*float64(n))
				})
			}
		}
		b.Run(fmt.Sprintf("n=%d/reference-loop", n), func(b *testing.B) {
			if n > 256 {
				b.Skip("reference loop too slow at this size")
			}
			for b.Loop() {
				sgemmGeneric(false, false, n, n, n, 1, a, n, bb, n, 0, c, n)
			}
			reportGFLOPS(b, 2*float64(n)*float64(n)*float64(n))
		})
	}
}
