package kernels

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// BenchmarkQGemm sets the integer GEMM (int32 output, each SIMD level) beside the fp32 Sgemm on the same square
// sizes, one thread. Throughput is reported as multiply-adds per second via SetBytes(m·n·k): compare MB/s. For
// the int8 : fp32 ratio itself (timed in turn, by thread CPU time) see BenchmarkQGemmVsSgemm.
func BenchmarkQGemm(b *testing.B) {
	for _, s := range []int{256, 1024} {
		r := rand.New(rand.NewPCG(1, 1))
		a, _ := qrand(r, s*s)
		_, w := qrand(r, s*s)
		pb, _ := QPackB(s, s, w, s, []int32{0})
		c := make([]int32, s*s)
		for _, l := range qimpls() {
			if l == qimplGeneric && s > 256 {
				continue
			}
			b.Run(fmt.Sprintf("%d/int8-%s", s, l), func(b *testing.B) {
				defer setQImpl(l)()
				b.SetBytes(int64(s * s * s))
				for i := 0; i < b.N; i++ {
					_ = QGemm(nil, s, a, s, []int32{128}, pb, &QOutput{I32: c, Ldc: s})
				}
			})
		}
		af, bf, cf := make([]float32, s*s), make([]float32, s*s), make([]float32, s*s)
		for i := range af {
			af[i], bf[i] = float32(a[i]), float32(w[i])
		}
		pf := PackB(false, s, s, bf, s)
		b.Run(fmt.Sprintf("%d/fp32-packed", s), func(b *testing.B) {
			b.SetBytes(int64(s * s * s))
			for i := 0; i < b.N; i++ {
				SgemmPackedB(nil, false, s, af, s, pf, cf, s, nil)
			}
		})
	}
}

// BenchmarkQGemmNarrow times det's 96→24 3×3 convolution GEMM (25600 pixels × K 864 × N 24, and the stem's
// N 16) with the narrow last-panel kernels on and off, requantized and stored transposed as QLinearConv does.
func BenchmarkQGemmNarrow(b *testing.B) {
	for _, sz := range [][3]int{{25600, 864, 24}, {102400, 28, 16}} {
		m, k, n := sz[0], sz[1], sz[2]
		r := rand.New(rand.NewPCG(1, 1))
		a, _ := qrand(r, m*k)
		_, w := qrand(r, k*n)
		pb, _ := QPackB(k, n, w, n, []int32{0})
		d := make([]int8, m*n)
		for _, on := range []bool{false, true} {
			b.Run(fmt.Sprintf("%dx%dx%d/narrow=%v", m, k, n, on), func(b *testing.B) {
				old := qnarrowOn
				qnarrowOn = on
				defer func() { qnarrowOn = old }()
				b.SetBytes(int64(m * n * k))
				for i := 0; i < b.N; i++ {
					_ = QGemm(nil, m, a, k, []int32{128}, pb, &QOutput{I8: d, Ldc: m, Trans: true, Scale: []float32{0.001}})
				}
			})
		}
	}
}
