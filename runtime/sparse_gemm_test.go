package runtime

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/hone-ml/hone/kernels"
)

// sparseWeight draws a rows×cols matrix with the given fraction of exact zeros.
func sparseWeight(rows, cols int, sparsity float64, seed uint64) []float32 {
	r := rand.New(rand.NewPCG(seed, 2))
	w := make([]float32, rows*cols)
	for i := range w {
		if r.Float64() >= sparsity {
			w[i] = float32(r.NormFloat64())
		}
	}
	return w
}

func denseInput(n int, seed uint64) []float32 {
	r := rand.New(rand.NewPCG(seed, 3))
	x := make([]float32, n)
	for i := range x {
		x[i] = r.Float32()*2 - 1
	}
	return x
}

func closeTo(t *testing.T, got, want []float32) {
	t.Helper()
	for i := range want {
		if d := math.Abs(float64(got[i] - want[i])); d > 1e-4*math.Max(1, math.Abs(float64(want[i]))) {
			t.Fatalf("element %d: %v, want %v", i, got[i], want[i])
		}
	}
}

// TestSparseRows checks both products against the dense packed kernels on the same zero-laden weights.
func TestSparseRows(t *testing.T) {
	for _, tc := range []struct{ m, rows, cols int }{{1, 7, 5}, {3, 33, 70}, {2, 64, 129}} {
		for _, sp := range []float64{0, 0.5, 0.9, 1} {
			t.Run(fmt.Sprintf("%dx%dx%d_%g", tc.m, tc.rows, tc.cols, sp), func(t *testing.T) {
				w := sparseWeight(tc.rows, tc.cols, sp, 1)
				s := newSparseRows(w, tc.rows, tc.cols)
				a := denseInput(tc.m*tc.cols, 2)
				got, want := make([]float32, tc.m*tc.rows), make([]float32, tc.m*tc.rows)
				s.mulT(tc.m, a, tc.cols, got, tc.rows)
				kernels.SgemmPackedB(nil, false, tc.m, a, tc.cols, kernels.PackB(true, tc.cols, tc.rows, w, tc.cols), want, tc.rows, nil)
				closeTo(t, got, want)

				n := tc.m * 5
				x := denseInput(tc.cols*n, 3)
				got, want = make([]float32, tc.rows*n), make([]float32, tc.rows*n)
				for i := range got {
					got[i] = 42 // mulLeft must overwrite
				}
				s.mulLeft(n, x, got)
				kernels.SgemmPackedA(nil, kernels.PackA(false, tc.rows, tc.cols, w, tc.cols), n, x, n, want, n, nil)
				closeTo(t, got, want)
			})
		}
	}
}

// BenchmarkSparseGemm sets the CSR products beside the packed dense kernels, one thread, on the shapes of
// ResNet-18's classifier (batch 1 and 32, 1000×512), a large batch-1 Linear (4096×4096), and 1×1
// convolutions of ResNet/MobileNet size (Cout×Cin × H·W), at 80, 90 and 95 % sparsity.
func BenchmarkSparseGemm(b *testing.B) {
	for _, sp := range []float64{0.8, 0.9, 0.95} {
		for _, sh := range []struct {
			name          string
			m, rows, cols int
		}{{"fc_b1_1000x512", 1, 1000, 512}, {"fc_b32_1000x512", 32, 1000, 512}, {"fc_b1_4096x4096", 1, 4096, 4096}} {
			w := sparseWeight(sh.rows, sh.cols, sp, 1)
			a := denseInput(sh.m*sh.cols, 2)
			c := make([]float32, sh.m*sh.rows)
			s := newSparseRows(w, sh.rows, sh.cols)
			pb := kernels.PackB(true, sh.cols, sh.rows, w, sh.cols)
			b.Run(fmt.Sprintf("%s/sp%g/dense", sh.name, sp), func(b *testing.B) {
				for b.Loop() {
					kernels.SgemmPackedB(nil, false, sh.m, a, sh.cols, pb, c, sh.rows, nil)
				}
			})
			b.Run(fmt.Sprintf("%s/sp%g/csr", sh.name, sp), func(b *testing.B) {
				for b.Loop() {
					s.mulT(sh.m, a, sh.cols, c, sh.rows)
				}
			})
		}
		for _, sh := range []struct {
			name             string
			rows, cols, npix int
		}{{"conv1x1_256x128_28x28", 256, 128, 28 * 28}, {"conv1x1_512x256_14x14", 512, 256, 14 * 14}, {"conv1x1_96x24_56x56", 96, 24, 56 * 56}} {
			w := sparseWeight(sh.rows, sh.cols, sp, 1)
			x := denseInput(sh.cols*sh.npix, 2)
			y := make([]float32, sh.rows*sh.npix)
			s := newSparseRows(w, sh.rows, sh.cols)
			pa := kernels.PackA(false, sh.rows, sh.cols, w, sh.cols)
			b.Run(fmt.Sprintf("%s/sp%g/dense", sh.name, sp), func(b *testing.B) {
				for b.Loop() {
					kernels.SgemmPackedA(nil, pa, sh.npix, x, sh.npix, y, sh.npix, nil)
				}
			})
			b.Run(fmt.Sprintf("%s/sp%g/csr", sh.name, sp), func(b *testing.B) {
				for b.Loop() {
					s.mulLeft(sh.npix, x, y)
				}
			})
		}
	}
}

// TestSparseGemm checks the Gemm hook against the dense packed kernel with the same epilogue, for both B
// layouts, and that it declines what it is not faster at (several rows, transposed A, a dense weight).
func TestSparseGemm(t *testing.T) {
	k, n := 300, 517
	w := sparseWeight(n, k, 0.93, 4) // n×k: Gemm's B with transB
	bias := denseInput(n, 5)
	a := denseInput(k, 6)
	par := kernels.Runner(func(n int, fn func(int)) {
		for i := n - 1; i >= 0; i-- { // out of order, as a pool may run them
			fn(i)
		}
	})
	for _, transB := range []bool{true, false} {
		b, ldb := w, k
		if !transB {
			b, ldb = make([]float32, k*n), n
			for j := range n {
				for kk := range k {
					b[kk*n+j] = w[j*k+kk]
				}
			}
		}
		s := newSparseGemm(b, transB, k, n, ldb)
		if s == nil {
			t.Fatal("93 % zeros gave no sparse copy")
		}
		ep := &kernels.Epilogue{Bias: bias, Act: kernels.Activation{Kind: kernels.ActRelu}}
		got, want := make([]float32, n), make([]float32, n)
		if !s.gemm(par, false, 1, a, k, got, n, ep) {
			t.Fatal("one-row product declined")
		}
		kernels.SgemmPackedB(nil, false, 1, a, k, kernels.PackB(transB, k, n, b, ldb), want, n, ep)
		closeTo(t, got, want)
		if s.gemm(par, false, 2, a, k, got, n, ep) || s.gemm(par, true, 1, a, 1, got, n, ep) {
			t.Error("the CSR path took a product it is slower at")
		}
	}
	if newSparseGemm(sparseWeight(n, k, 0.5, 7), true, k, n, k) != nil {
		t.Error("a half-dense weight got a sparse copy")
	}
	var none *sparseRows
	if none.gemm(nil, false, 1, a, k, nil, n, nil) {
		t.Error("nil sparse copy claimed the product")
	}
}
