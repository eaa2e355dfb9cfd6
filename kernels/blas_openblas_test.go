//go:build openblas && cgo

package kernels

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/hone-ml/hone/kernels/internal/openblas"
)

func BenchmarkSgemmOpenBLAS(b *testing.B) {
	for _, n := range []int{256, 1024} {
		rng := rand.New(rand.NewPCG(1, 1))
		a, bb, c := randSlice(rng, n*n), randSlice(rng, n*n), make([]float32, n*n)
		for _, threads := range []int{1, 2} {
			b.Run(fmt.Sprintf("n=%d/threads=%d", n, threads), func(b *testing.B) {
				loopCPU(b, 2*float64(n)*float64(n)*float64(n), func() {
					openblas.Sgemm(threads, false, false, n, n, n, 1, a, n, bb, n, 0, c, n)
				})
			})
		}
	}
}

// TestOpenBLASAgrees checks that hone and OpenBLAS compute the same product, so the benchmark compares like with like.
func TestOpenBLASAgrees(t *testing.T) {
	n := 300
	rng := rand.New(rand.NewPCG(9, 9))
	a, bb := randSlice(rng, n*n), randSlice(rng, n*n)
	got, want := make([]float32, n*n), make([]float32, n*n)
	openblas.Sgemm(1, false, true, n, n, n, 1, a, n, bb, n, 0, want, n)
	Sgemm(nil, false, true, n, n, n, 1, a, n, bb, n, 0, got, n)
	checkClose(t, "openblas", got, want, 1e-4)
}
