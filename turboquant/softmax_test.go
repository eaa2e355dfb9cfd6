package turboquant

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestSoftmaxKernels checks maxF32 and expShift, AVX-512 (where present) and twin, against float64 math.Exp over
// lengths around the 16-lane width and unaligned offsets, with a guard after the slice, −Inf scores (masked tokens)
// and arguments deep in the subnormal range.
func TestSoftmaxKernels(t *testing.T) {
	saved := useAVX512
	defer func() { useAVX512 = saved }()
	rng := rand.New(rand.NewPCG(9, 9))
	for _, simd := range []bool{saved, false} {
		useAVX512 = simd
		for _, n := range []int{1, 2, 15, 16, 17, 31, 64, 65, 200, 4096} {
			for off := 0; off < 3; off++ {
				buf := make([]float32, off+n+1)
				x := buf[off : off+n]
				for i := range x {
					x[i] = float32(rng.NormFloat64() * 30)
				}
				if n > 2 {
					x[1] = float32(math.Inf(-1))
					x[n-1] = -1e4 // e^(−1e4·scale) underflows
				}
				buf[off+n] = 42
				in := append([]float32(nil), x...)
				want := maxF32Generic(in)
				if got := maxF32(x); got != want {
					t.Fatalf("%s max n=%d off=%d: %v, want %v", implName(simd), n, off, got, want)
				}
				const scale = 0.35
				sum := expShift(x, want, scale)
				var ref float64
				for i, v := range in {
					// The argument is rounded to float32 as in the kernels; e^z is then accurate to a few ulp.
					e := math.Exp(float64((v - want) * scale))
					ref += e
					// exp32 flushes below e^−87.3 to zero; the vector code keeps subnormals. Both are within 1e-37.
					if d := math.Abs(float64(x[i]) - e); d > 1e-6*e+1e-37 {
						t.Fatalf("%s exp n=%d off=%d: x[%d] = %v → %v, want %v", implName(simd), n, off, i, v, x[i], e)
					}
				}
				if math.Abs(float64(sum)-ref) > 1e-5*ref {
					t.Fatalf("%s exp sum n=%d off=%d: %v, want %v", implName(simd), n, off, sum, ref)
				}
				if buf[off+n] != 42 {
					t.Fatalf("%s n=%d off=%d: guard overwritten", implName(simd), n, off)
				}
			}
		}
		if !saved {
			break
		}
	}
}

// TestScoreCodesPadded checks the cache's padded score path, which scores whole blocks straight from storage with
// room past the end, against the twin, and that it falls back when that room is missing.
func TestScoreCodesPadded(t *testing.T) {
	rng := rand.New(rand.NewPCG(4, 4))
	for _, bits := range []int{1, 2, 3, 4, 5} {
		cb, err := SphereCodebook(128, bits)
		if err != nil {
			t.Fatal(err)
		}
		tab := newCodeTable(cb.c32, bits)
		const groups = 8
		stride := groups * bits
		for _, n := range []int{1, 15, 16, 17, 100} {
			for _, room := range []bool{true, false} {
				m := (n + 15) &^ 15
				ncap := n
				if room {
					ncap = m
				}
				codes := make([]uint16, n*stride, ncap*stride+4*b2i(room))
				for i := range codes[:cap(codes)] {
					codes[:cap(codes)][i] = uint16(rng.Uint32())
				}
				norms := make([]float32, n, ncap)
				for i := range norms[:cap(norms)] {
					norms[:cap(norms)][i] = rng.Float32()
				}
				q := make([]float32, groups*16)
				for i := range q {
					q[i] = float32(rng.NormFloat64())
				}
				out := make([]float32, n, ncap)
				want := make([]float32, n)
				scoreCodesPadded(out, q, codes, norms, groups, bits, tab)
				scoreCodesGeneric(want, q, codes, norms, groups, bits, tab)
				for i := range want {
					if math.Abs(float64(out[i]-want[i])) > 1e-5*(1+math.Abs(float64(want[i]))) {
						t.Fatalf("bits=%d n=%d room=%v: score %d = %v, want %v", bits, n, room, i, out[i], want[i])
					}
				}
			}
		}
	}
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// FuzzScoreCodes compares the score kernel (AVX-512 where present) with its Go twin on arbitrary code bytes, token
// counts and bit widths; the twin takes a different route (Walsh expansion and subset-sum tables), so agreement
// checks the GFNI index assembly on every bit pattern the fuzzer finds.
func FuzzScoreCodes(f *testing.F) {
	f.Add([]byte{0x5a, 0xa5, 0xff, 0x00, 0x13}, uint8(3), uint8(17), uint8(2))
	f.Add([]byte{0xff}, uint8(4), uint8(1), uint8(1))
	f.Add([]byte{0x01, 0x80}, uint8(2), uint8(33), uint8(8))
	f.Fuzz(func(t *testing.T, raw []byte, bitsB, nB, groupsB uint8) {
		bits := 1 + int(bitsB)%4
		n := 1 + int(nB)%64
		groups := 1 + int(groupsB)%8
		stride := groups * bits
		codes := make([]uint16, n*stride)
		for i := range codes {
			if len(raw) > 0 {
				codes[i] = uint16(raw[(2*i)%len(raw)]) | uint16(raw[(2*i+1)%len(raw)])<<8
			}
		}
		rng := rand.New(rand.NewPCG(uint64(n), uint64(bits)))
		table := make([]float32, 1<<bits)
		for i := range table {
			table[i] = float32(rng.NormFloat64())
		}
		q, norms := make([]float32, groups*16), make([]float32, n)
		for i := range q {
			q[i] = float32(rng.NormFloat64())
		}
		for i := range norms {
			norms[i] = rng.Float32()
		}
		tab := newCodeTable(table, bits)
		got, want := make([]float32, n), make([]float32, n)
		scoreCodesImpl(got, q, codes, norms, groups, bits, tab)
		scoreCodesGeneric(want, q, codes, norms, groups, bits, tab)
		for i := range want {
			if math.Abs(float64(got[i]-want[i])) > 1e-5*float64(groups*16) {
				t.Fatalf("bits=%d groups=%d n=%d: token %d = %v, twin %v", bits, groups, n, i, got[i], want[i])
			}
		}
	})
}
