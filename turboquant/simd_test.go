package turboquant

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestSIMDMatchesGeneric runs every vector routine against its pure-Go twin over lengths around the 16-lane width,
// all bit widths and unaligned offsets. Under -tags purego both sides are the twin and the test still checks packing.
func TestSIMDMatchesGeneric(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	rnd := func(n int) []float32 {
		x := make([]float32, n)
		for i := range x {
			x[i] = float32(rng.NormFloat64())
		}
		return x
	}
	close := func(a, b float32, scale float64) bool {
		return math.Abs(float64(a-b)) <= 1e-5*scale+1e-6
	}
	for _, n := range []int{0, 1, 15, 16, 17, 63, 64, 65, 128, 200, 1536} {
		for off := 0; off < 3; off++ {
			a, b := rnd(n + off)[off:], rnd(n + off)[off:]
			var mag float64
			for i := range a {
				mag += math.Abs(float64(a[i] * b[i]))
			}
			if got, want := dotF32(a, b), dotF32Generic(a, b); !close(got, want, mag) {
				t.Errorf("dot n=%d off=%d: %v vs %v", n, off, got, want)
			}
			y1 := rnd(n + 1) // guard element at the end must not change
			y2 := append([]float32(nil), y1...)
			axpyF32(y1[:n], 0.7, a)
			axpyF32Generic(y2[:n], 0.7, a)
			for i := range y1 {
				if !close(y1[i], y2[i], 1) {
					t.Fatalf("axpy n=%d off=%d: y[%d] %v vs %v", n, off, i, y1[i], y2[i])
				}
			}
		}
	}
	for bits := 1; bits <= 8; bits++ {
		for _, groups := range []int{1, 2, 8, 96} {
			const nvec = 5
			d := groups * 16
			idx := make([]uint8, nvec*d)
			for i := range idx {
				idx[i] = uint8(rng.IntN(1 << bits))
			}
			codes := make([]uint16, nvec*groups*bits+1) // one guard word
			for v := 0; v < nvec; v++ {
				packPlanes(codes[v*groups*bits:], idx[v*d:(v+1)*d], bits)
			}
			back := make([]uint8, d)
			unpackPlanes(back, codes[:groups*bits], bits)
			for i := range back {
				if back[i] != idx[i] {
					t.Fatalf("bits=%d: unpack[%d] = %d, want %d", bits, i, back[i], idx[i])
				}
			}
			table := rnd(1 << bits)
			q := rnd(d)
			norms := rnd(nvec)
			got, want := make([]float32, nvec), make([]float32, nvec)
			scoreCodes(got, q, codes[:nvec*groups*bits], norms, groups, bits, table)
			// Reference straight from the indices, not through the packed form.
			for v := range want {
				var s float64
				for j := 0; j < d; j++ {
					s += float64(q[j]) * float64(table[idx[v*d+j]])
				}
				want[v] = float32(s) * norms[v]
			}
			for v := range got {
				if !close(got[v], want[v], float64(d)*4) {
					t.Errorf("score bits=%d groups=%d vec %d: %v vs %v", bits, groups, v, got[v], want[v])
				}
			}
			acc1, acc2 := rnd(d), make([]float32, d)
			copy(acc2, acc1)
			w := rnd(nvec)
			accumCodes(acc1, w, codes[:nvec*groups*bits], groups, bits, table)
			for v := 0; v < nvec; v++ {
				for j := 0; j < d; j++ {
					acc2[j] += w[v] * table[idx[v*d+j]]
				}
			}
			for j := range acc1 {
				if !close(acc1[j], acc2[j], 10) {
					t.Fatalf("accum bits=%d groups=%d: acc[%d] %v vs %v", bits, groups, j, acc1[j], acc2[j])
				}
			}
		}
	}
}

// TestCodeKernelsBlocks checks the code kernels at token counts that exercise the 16-token score blocks, their
// tails, and the 64-token accumulation blocks, against sums taken straight from the indices, with guard values after
// every output. Each kernel variant present on the machine runs (AVX-512 and the pure-Go twin).
func TestCodeKernelsBlocks(t *testing.T) {
	saved := useAVX512
	defer func() { useAVX512 = saved }()
	rng := rand.New(rand.NewPCG(5, 6))
	rnd := func(n int) []float32 {
		x := make([]float32, n)
		for i := range x {
			x[i] = float32(rng.NormFloat64())
		}
		return x
	}
	for _, simd := range []bool{saved, false} {
		useAVX512 = simd
		for bits := 1; bits <= 8; bits++ {
			for _, groups := range []int{1, 3, 8} {
				for _, nvec := range []int{1, 15, 16, 17, 33, 64, 65, 130} {
					d := groups * 16
					idx := make([]uint8, nvec*d)
					for i := range idx {
						idx[i] = uint8(rng.IntN(1 << bits))
					}
					w := groups * bits
					codes := make([]uint16, nvec*w)
					for v := 0; v < nvec; v++ {
						packPlanes(codes[v*w:], idx[v*d:(v+1)*d], bits)
					}
					table := rnd(1 << bits)
					for i := 0; i < len(table)/2; i++ { // TurboQuant tables are antisymmetric; test both kinds
						if bits%2 == 0 {
							table[len(table)-1-i] = -table[i]
						}
					}
					q, norms, wts := rnd(d), rnd(nvec), rnd(nvec)
					got := append(make([]float32, nvec), 42) // guard
					scoreCodes(got[:nvec], q, codes, norms, groups, bits, table)
					acc := append(rnd(d), 42)
					want := append([]float32(nil), acc...)
					accumCodes(acc[:d], wts, codes, groups, bits, table)
					var mag float64
					for v := 0; v < nvec; v++ {
						var s float64
						for j := 0; j < d; j++ {
							c := float64(table[idx[v*d+j]])
							s += float64(q[j]) * c
							want[j] += wts[v] * float32(c)
							mag += math.Abs(float64(wts[v]) * c)
						}
						if e := float64(norms[v]) * s; math.Abs(float64(got[v])-e) > 1e-5*float64(d)+1e-5*math.Abs(e) {
							t.Fatalf("%s score bits=%d groups=%d n=%d: token %d = %v, want %v", implName(simd), bits, groups, nvec, v, got[v], e)
						}
					}
					if got[nvec] != 42 || acc[d] != 42 {
						t.Fatalf("%s bits=%d groups=%d n=%d: guard overwritten", implName(simd), bits, groups, nvec)
					}
					for j := 0; j < d; j++ {
						if math.Abs(float64(acc[j]-want[j])) > 1e-5*mag/float64(d)+1e-5 {
							t.Fatalf("%s accum bits=%d groups=%d n=%d: acc[%d] = %v, want %v", implName(simd), bits, groups, nvec, j, acc[j], want[j])
						}
					}
				}
			}
		}
		if !saved {
			break
		}
	}
}
