package kernels

import (
	"fmt"
	"math"
	"math/rand"
	"slices"
	"testing"
)

// TestMaxPoolRow runs every SIMD level against the Go twin over lengths around the lane count, strides 1–3, taps
// 1–5, offsets 0–3 and src with or without one spare value, with NaNs and ties sprinkled in (the fold order decides which NaN survives) and guard
// values after dst that must stay untouched.
func TestMaxPoolRow(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	nan := float32(math.NaN())
	for _, l := range impls() {
		restore := setImpl(l)
		for _, n := range []int{0, 1, 15, 16, 17, 31, 32, 33, 56, 112} {
			for stride := 1; stride <= 3; stride++ {
				for k := 1; k <= 5; k++ {
					for off := 0; off < 8; off++ {
						extra := off / 4 // a spare value past the last window lets stride 2 redo its tail in one block
						name := fmt.Sprintf("%s/n%d/s%d/k%d/off%d/extra%d", l, n, stride, k, off%4, extra)
						srcLen := off%4 + max((n-1)*stride+k, 0) + extra
						src := make([]float32, srcLen)
						for i := range src {
							switch r := rng.Intn(20); {
							case r == 0:
								src[i] = nan
							case r < 4:
								src[i] = 0.5 // ties
							default:
								src[i] = rng.Float32()*2 - 1
							}
						}
						src = src[off%4:]
						want := make([]float32, n)
						maxPoolRowGeneric(want, src, k, stride)
						got := make([]float32, n+3)
						for i := n; i < len(got); i++ {
							got[i] = 42
						}
						MaxPoolRow(got[:n], src, k, stride)
						for i := range got {
							w := float32(42)
							if i < n {
								w = want[i]
							}
							if math.Float32bits(got[i]) != math.Float32bits(w) {
								t.Fatalf("%s: [%d] = %v, want %v", name, i, got[i], w)
							}
						}
					}
				}
			}
		}
		restore()
	}
}

// TestMaxPoolRowShortSrc checks the up-front bounds check: a src too short for the last window panics in Go
// instead of letting the assembly read past it.
func TestMaxPoolRowShortSrc(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("no panic for a short src")
		}
	}()
	MaxPoolRow(make([]float32, 32), make([]float32, 64), 3, 2)
}

func BenchmarkMaxPoolRow(b *testing.B) {
	for _, stride := range []int{1, 2} {
		for _, l := range impls() {
			b.Run(fmt.Sprintf("s%d/%s", stride, l), func(b *testing.B) {
				defer setImpl(l)()
				dst := make([]float32, 56)
				src := make([]float32, (len(dst)-1)*stride+3)
				for i := range src {
					src[i] = float32(i % 7)
				}
				b.SetBytes(int64(4 * len(src)))
				for b.Loop() {
					MaxPoolRow(dst, src, 3, stride)
				}
			})
		}
	}
}

// TestAnyNaN runs every SIMD level against the Go twin with a single NaN at each position of short and
// lane-crossing lengths, and with none.
func TestAnyNaN(t *testing.T) {
	for _, l := range impls() {
		restore := setImpl(l)
		for _, n := range []int{0, 1, 15, 16, 17, 33, 112} {
			x := make([]float32, n)
			for i := range x {
				x[i] = float32(i) - 3
			}
			if AnyNaN(x) || anyNaNGeneric(x) {
				t.Fatalf("%s/n%d: NaN reported in clean values", l, n)
			}
			for p := range x {
				x[p] = float32(math.NaN())
				if !AnyNaN(x) {
					t.Fatalf("%s/n%d: NaN at %d missed", l, n, p)
				}
				x[p] = 1
			}
		}
		restore()
	}
}

// FuzzMaxPoolRow compares the dispatched kernel with the Go twin on fuzzed values, lengths, taps and strides.
func FuzzMaxPoolRow(f *testing.F) {
	f.Add([]byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18}, uint8(3), uint8(2), uint8(40), false)
	f.Fuzz(func(t *testing.T, data []byte, k, stride, n uint8, spare bool) {
		kk, ss, nn := 1+int(k%6), 1+int(stride%3), int(n%80)
		src := make([]float32, max((nn-1)*ss+kk, 0))
		if spare {
			src = append(src, float32(math.NaN()))
		}
		for i := range src {
			if len(data) > 0 {
				b := data[i%len(data)]
				src[i] = float32(int8(b)) / 8
				if b == 0xff {
					src[i] = float32(math.NaN())
				}
			}
		}
		want, got := make([]float32, nn), make([]float32, nn)
		maxPoolRowGeneric(want, src, kk, ss)
		MaxPoolRow(got, src, kk, ss)
		for i := range got {
			if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
				t.Fatalf("k%d s%d n%d: [%d] = %v, want %v", kk, ss, nn, i, got[i], want[i])
			}
		}
	})
}

// TestMaxBytes runs every SIMD level against the Go twin, unsigned and signed, on lengths around the 32-byte
// vector and on random bytes that cross the sign bit, with src longer than dst (the extra bytes must be ignored);
// the twin itself is checked against the definition.
func TestMaxBytes(t *testing.T) {
	r := rand.New(rand.NewSource(3))
	for _, l := range impls() {
		restore := setImpl(l)
		for _, n := range []int{0, 1, 31, 32, 33, 64, 95, 112, 200} {
			for _, signed := range []bool{false, true} {
				dst, src := make([]byte, n), make([]byte, n+5)
				for i := range dst {
					dst[i] = byte(r.Uint32())
				}
				for i := range src {
					src[i] = byte(r.Uint32())
				}
				got, want := slices.Clone(dst), slices.Clone(dst)
				MaxBytes(got, src, signed)
				maxBytesGeneric(want, src, signed)
				for i := range want {
					a, b := dst[i], src[i]
					def := max(a, b)
					if signed {
						def = byte(max(int8(a), int8(b)))
					}
					if want[i] != def || got[i] != def {
						t.Fatalf("%s/n%d/signed=%v: byte %d: max(%d, %d) = %d (twin %d), want %d", l, n, signed, i, a, b, got[i], want[i], def)
					}
				}
			}
		}
		restore()
	}
}

// TestEvenBytes checks EvenBytes at every level against the twin over lengths around its 32-output blocks, with
// sources of exactly 2n − 1 bytes (the last block then runs in Go) and longer, and bytes past dst left alone.
func TestEvenBytes(t *testing.T) {
	r := rand.New(rand.NewSource(71))
	for _, l := range impls() {
		restore := setImpl(l)
		for _, n := range []int{1, 31, 32, 33, 64, 95, 200} {
			for _, extra := range []int{-1, 0, 7} {
				src := make([]byte, 2*n+extra)
				for i := range src {
					src[i] = byte(r.Intn(256))
				}
				dst := make([]byte, n+3)
				for i := range dst {
					dst[i] = 0xA5
				}
				EvenBytes(dst[:n], src)
				for i := range n {
					if dst[i] != src[2*i] {
						t.Fatalf("%s n=%d extra=%d: dst[%d] = %d, want %d", l, n, extra, i, dst[i], src[2*i])
					}
				}
				for i := n; i < len(dst); i++ {
					if dst[i] != 0xA5 {
						t.Fatalf("%s n=%d: dst[%d] written", l, n, i)
					}
				}
			}
		}
		restore()
	}
}

// TestSumBytes checks SumBytes at every level against the twin over lengths around its 32- and 64-byte blocks,
// with both flips and all-0xFF data (the largest sums).
func TestSumBytes(t *testing.T) {
	r := rand.New(rand.NewSource(73))
	for _, l := range impls() {
		restore := setImpl(l)
		for _, n := range []int{0, 1, 31, 32, 33, 63, 64, 65, 96, 1000, 25600} {
			for _, flip := range []byte{0, 0x80} {
				for _, full := range []bool{false, true} {
					b := make([]byte, n)
					for i := range b {
						b[i] = byte(r.Intn(256))
						if full {
							b[i] = 0xFF
						}
					}
					if got, want := SumBytes(b, flip), sumBytesGeneric(b, flip); got != want {
						t.Fatalf("%s n=%d flip=%#x: %d, want %d", l, n, flip, got, want)
					}
				}
			}
		}
		restore()
	}
}
