package turboquant

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

func implName(simd bool) string {
	if simd {
		return "avx512"
	}
	return "go"
}

// BenchmarkEncode measures TurboQuant_mse encoding at d = 128, b = 3; coords/s is the figure the issue asks for.
func BenchmarkEncode(b *testing.B) {
	for _, kind := range []RotationKind{Hadamard, Dense} {
		b.Run(kind.String(), func(b *testing.B) {
			const d = 128
			q, _ := NewMSE(d, 3, kind, 1)
			rng := rand.New(rand.NewPCG(1, 1))
			xs := make([][]float32, 256)
			for i := range xs {
				xs[i] = make([]float32, d)
				kvLike(rng, xs[i])
			}
			code := make([]uint16, q.CodeWords())
			buf := make([]float32, 3*q.groups*16)
			b.SetBytes(d * 4)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				x := xs[i%len(xs)]
				n, _ := checkVec(x, d)
				q.encode(code, x, float32(n), buf)
			}
			b.ReportMetric(float64(b.N)*d/b.Elapsed().Seconds(), "coords/s")
		})
	}
}

// BenchmarkAttention compares attention over a 3-bit quantized cache with attention over a float32 cache of the
// same length, each with the AVX-512 kernels and with the pure-Go twins.
func BenchmarkAttention(b *testing.B) {
	const d = 128
	saved := useAVX512
	defer func() { useAVX512 = saved }()
	for _, n := range []int{4096, 32768} {
		rng := rand.New(rand.NewPCG(3, 3))
		keys := make([]float32, n*d)
		vals := make([]float32, n*d)
		for i := 0; i < n; i++ {
			kvLike(rng, keys[i*d:(i+1)*d])
			kvLike(rng, vals[i*d:(i+1)*d])
		}
		c, _ := NewCache(CacheConfig{Dim: d, KeyBits: 3, ValueBits: 3})
		for i := 0; i < n; i++ {
			_ = c.Append(keys[i*d:(i+1)*d], vals[i*d:(i+1)*d])
		}
		q := keys[:d]
		out := make([]float32, d)
		for _, simd := range []bool{saved, false} {
			useAVX512 = simd
			b.Run(fmt.Sprintf("quant3/n=%d/%s", n, implName(simd)), func(b *testing.B) {
				b.SetBytes(int64(n * 2 * c.kq.BytesPerVector()))
				for i := 0; i < b.N; i++ {
					_ = c.Attention(out, q)
				}
			})
			b.Run(fmt.Sprintf("fp32/n=%d/%s", n, implName(simd)), func(b *testing.B) {
				b.SetBytes(int64(n * 2 * d * 4))
				for i := 0; i < b.N; i++ {
					AttentionF32(out, q, keys, vals, d)
				}
			})
			if !saved {
				break
			}
		}
	}
}

// BenchmarkCodeKernels times the two attention kernels alone over 4096 tokens of 128-dim codes.
func BenchmarkCodeKernels(b *testing.B) {
	saved := useAVX512
	defer func() { useAVX512 = saved }()
	const n, groups = 4096, 8
	for _, bits := range []int{2, 3, 4} {
		rng := rand.New(rand.NewPCG(7, 7))
		codes := make([]uint16, n*groups*bits+4)
		for i := range codes {
			codes[i] = uint16(rng.Uint32())
		}
		codes = codes[:n*groups*bits]
		cb, _ := SphereCodebook(128, bits)
		q, w, out := make([]float32, 128), make([]float32, n), make([]float32, n)
		for i := range w {
			w[i] = rng.Float32()
		}
		for _, simd := range []bool{saved, false} {
			useAVX512 = simd
			b.Run(fmt.Sprintf("score/b=%d/%s", bits, implName(simd)), func(b *testing.B) {
				b.SetBytes(int64(2 * len(codes)))
				for i := 0; i < b.N; i++ {
					scoreCodes(out, q, codes, w, groups, bits, cb.c32)
				}
			})
			b.Run(fmt.Sprintf("accum/b=%d/%s", bits, implName(simd)), func(b *testing.B) {
				b.SetBytes(int64(2 * len(codes)))
				for i := 0; i < b.N; i++ {
					accumCodes(out[:128], w, codes, groups, bits, cb.c32)
				}
			})
			if !saved {
				break
			}
		}
	}
}
