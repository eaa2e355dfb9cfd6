package kernels

import (
	"fmt"
	"math/rand/v2"
	"syscall"
	"testing"
)

func reportGFLOPS(b *testing.B, flops float64) {
	b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOPS")
}

// cpuSeconds is the process's user+system CPU time. On a shared machine wall-clock GFLOPS drift with other
// load; flops per CPU-second (GFLOPS/cpu) stay comparable between single-threaded runs.
func cpuSeconds() float64 {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
}

// loopCPU runs body in b.Loop and reports GFLOPS by wall clock and per CPU-second.
func loopCPU(b *testing.B, flops float64, body func()) {
	c0 := cpuSeconds()
	for b.Loop() {
		body()
	}
	cpu := cpuSeconds() - c0
	reportGFLOPS(b, flops)
	if cpu > 0 {
		b.ReportMetric(flops*float64(b.N)/cpu/1e9, "GFLOPS/cpu")
	}
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
					r := GoRunner(threads)
					loopCPU(b, 2*float64(n)*float64(n)*float64(n), func() {
						Sgemm(r, false, false, n, n, n, 1, a, n, bb, n, 0, c, n)
					})
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

// BenchmarkSgemmPackedB covers inference shapes with constant weights: a batch-1 fully connected layer (m = 1,
// bound by reading B) and a short sequence through a transformer projection.
func BenchmarkSgemmPackedB(b *testing.B) {
	for _, sz := range [][3]int{{1, 1000, 1280}, {8, 3072, 768}, {128, 768, 768}} {
		m, n, k := sz[0], sz[1], sz[2]
		rng := rand.New(rand.NewPCG(1, 1))
		a, w, c := randSlice(rng, m*k), randSlice(rng, k*n), make([]float32, m*n)
		for _, l := range impls() {
			b.Run(fmt.Sprintf("m=%d_n=%d_k=%d/%s", m, n, k, l), func(b *testing.B) {
				defer setImpl(l)()
				pb := PackB(false, k, n, w, n)
				b.SetBytes(int64(4 * k * n)) // the weights each product streams
				loopCPU(b, 2*float64(m*n*k), func() { SgemmPackedB(nil, false, m, a, k, pb, c, n, nil) })
			})
		}
	}
}
