package kernels

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/hone-ml/hone/kernels/kerneltest"
)

// The epilogue twin tests run every integer SIMD level this CPU has (AVX2 and AVX-512 on a VNNI machine) against
// the Go twins bit for bit, on the values the range tests in qgemm_test.go leave out: sums at the int32 limits
// (whose correction wraps), NaN, infinite, zero, negative, subnormal and huge multipliers, and misaligned slices.

// qepiSums returns n accumulators: mostly small (ties and saturation at typical scales), some large, some at the
// int32 limits.
func qepiSums(r *rand.Rand, n int) []int32 {
	s := make([]int32, n)
	for i := range s {
		switch r.IntN(8) {
		case 0:
			s[i] = []int32{math.MinInt32, math.MaxInt32, math.MinInt32 + 1, math.MaxInt32 - 1, 0, -1, 1 << 24, 1<<24 + 1}[r.IntN(8)]
		case 1:
			s[i] = int32(r.Uint32())
		case 2, 3:
			s[i] = int32(r.IntN(1<<22) - 1<<21)
		default:
			s[i] = int32(r.IntN(1200) - 600)
		}
	}
	return s
}

// qepiScales returns n multipliers: exact halves and quarters (ties), random small ones of both signs, and a few
// special values.
func qepiScales(r *rand.Rand, n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		switch r.IntN(10) {
		case 0:
			s[i] = []float32{float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1)), 0, float32(math.Copysign(0, -1)),
				math.SmallestNonzeroFloat32, 1e30, -1e-30}[r.IntN(8)]
		case 1, 2:
			s[i] = []float32{0.5, 0.25, -0.5, 1}[r.IntN(4)]
		default:
			s[i] = float32(r.NormFloat64() * 1e-2)
		}
	}
	return s
}

// qepiOffset copies s to off elements into a fresh allocation, so the assembly sees every alignment.
func qepiOffset[T any](s []T, off int) []T {
	out := make([]T, off+len(s))
	copy(out[off:], s)
	return out[off:]
}

func TestQRequantRowTwins(t *testing.T) {
	r := rand.New(rand.NewPCG(21, 22))
	for _, l := range qimpls()[1:] {
		fn := qrequantFor(l)
		for _, n := range kerneltest.Lengths(8, 16, 32) {
			for off := range 4 {
				acc, corr := qepiOffset(qepiSums(r, n), off), qepiOffset(qepiSums(r, n), (off+1)%4)
				scale := qepiOffset(qepiScales(r, n), (off+2)%4)
				for _, rng := range [][2]int32{{0, 255}, {-128, 127}} {
					for _, zp := range []int32{0, 128, -128, 127, 255, -7} {
						flo, fhi := float32(rng[0]-zp), float32(rng[1]-zp)
						want, got := make([]uint8, n), make([]uint8, off+n+8)
						for i := range got {
							got[i] = 0xa5
						}
						qrequantRowGeneric(acc, corr, scale, want, flo, fhi, zp)
						fn(acc, corr, scale, got[off:off+n], flo, fhi, zp)
						for j := range want {
							if got[off+j] != want[j] {
								t.Fatalf("%s n %d off %d range %v zp %d: (%d+%d)·%g → %d, want %d", l, n, off, rng, zp,
									acc[j], corr[j], scale[j], got[off+j], want[j])
							}
						}
						qcheckByteGuards(t, fmt.Sprintf("%s n %d off %d", l, n, off), got, off, n)
					}
				}
			}
		}
	}
}

func TestQDequantRowTwins(t *testing.T) {
	r := rand.New(rand.NewPCG(23, 24))
	for _, l := range qimpls()[1:] {
		fn := qdequantFor(l)
		for _, n := range kerneltest.Lengths(8, 16, 32) {
			for off := range 4 {
				acc, corr := qepiOffset(qepiSums(r, n), off), qepiOffset(qepiSums(r, n), (off+3)%4)
				scale, fbias := qepiOffset(qepiScales(r, n), (off+2)%4), qepiOffset(qepiScales(r, n), (off+1)%4)
				for _, bias := range []bool{false, true} {
					fb := fbias
					if !bias {
						fb = nil
					}
					want, got := make([]float32, n), make([]float32, off+n+8)
					for i := range got {
						got[i] = -42
					}
					qdequantRowGeneric(acc, corr, scale, fb, want)
					fn(acc, corr, scale, fb, got[off:off+n])
					for j, w := range want {
						if math.Float32bits(got[off+j]) != math.Float32bits(w) {
							t.Fatalf("%s n %d off %d bias %v: element %d = %g (%#x), want %g (%#x)", l, n, off, bias, j,
								got[off+j], math.Float32bits(got[off+j]), w, math.Float32bits(w))
						}
					}
					for i, v := range got {
						if (i < off || i >= off+n) && v != -42 {
							t.Fatalf("%s n %d off %d bias %v: wrote outside the row at %d", l, n, off, bias, i)
						}
					}
				}
			}
		}
	}
}

func TestQRequantTileTransTwins(t *testing.T) {
	r := rand.New(rand.NewPCG(25, 26))
	for _, l := range qimpls()[1:] {
		fn := qrequantTileFor(l)
		for rep := range 8 {
			tile, corr, scale := qepiSums(r, qgemmMR*qgemmNR), qepiSums(r, qgemmNR), qepiScales(r, qgemmNR)
			for _, rng := range [][2]int32{{0, 255}, {-128, 127}} {
				for _, zp := range []int32{0, 128, -128, -3} {
					for _, cols := range []int{qgemmNR, qgemmNR / 2, 8, 24, 13} {
						for _, ldd := range []int{qgemmMR, qgemmMR + 3, 3 * qgemmMR} {
							flo, fhi := float32(rng[0]-zp), float32(rng[1]-zp)
							want, got := make([]uint8, cols*ldd), make([]uint8, cols*ldd+8)
							for i := range got {
								got[i] = 0xa5
								if i < len(want) {
									want[i] = 0xa5
								}
							}
							qrequantTileTransGeneric(tile, corr, scale, want, ldd, flo, fhi, zp, cols)
							fn(tile, corr, scale, got, ldd, flo, fhi, zp, cols)
							for p, w := range want {
								if got[p] != w {
									t.Fatalf("%s rep %d range %v zp %d cols %d ldd %d: byte %d (row %d, column %d) = %d, want %d",
										l, rep, rng, zp, cols, ldd, p, p%ldd, p/ldd, got[p], w)
								}
							}
							qcheckByteGuards(t, fmt.Sprintf("%s cols %d ldd %d", l, cols, ldd), got, 0, len(want))
						}
					}
				}
			}
		}
	}
}

func TestQTileTrans32SpecialTwins(t *testing.T) {
	r := rand.New(rand.NewPCG(27, 28))
	for _, l := range qimpls()[1:] {
		fn := qtileTrans32For(l)
		for rep := range 8 {
			tile, corr := qepiSums(r, qgemmMR*qgemmNR), qepiSums(r, qgemmNR)
			scale, fbias := qepiScales(r, qgemmNR), qepiScales(r, qgemmNR)
			for _, mode := range []qtileMode{qtileInt, qtileFloat, qtileFloatBias} {
				for _, ldd := range []int{qgemmMR, qgemmMR + 1, 2 * qgemmMR} {
					want, got := make([]int32, qgemmNR*ldd), make([]int32, qgemmNR*ldd+8)
					for i := range got {
						got[i] = -99
						if i < len(want) {
							want[i] = -99
						}
					}
					qtileTrans32Generic(tile, corr, scale, fbias, want, ldd, mode)
					fn(tile, corr, scale, fbias, got, ldd, mode)
					for p, w := range want {
						if got[p] != w {
							t.Fatalf("%s rep %d mode %d ldd %d: d[%d] (row %d, column %d) = %#x, want %#x", l, rep, mode, ldd, p,
								p%ldd, p/ldd, got[p], w)
						}
					}
					for _, v := range got[len(want):] {
						if v != -99 {
							t.Fatalf("%s mode %d ldd %d: wrote past the tile", l, mode, ldd)
						}
					}
				}
			}
		}
	}
}

// qcheckByteGuards fails if any byte of full outside the output full[off:off+n] is no longer the guard 0xa5.
func qcheckByteGuards(t *testing.T, name string, full []uint8, off, n int) {
	t.Helper()
	for i, v := range full {
		if (i < off || i >= off+n) && v != 0xa5 {
			t.Fatalf("%s: wrote outside its output at byte %d", name, i)
		}
	}
}

// FuzzQEpilogueTwins decodes a tile of sums, corrections, multipliers and biases from the fuzzer's bytes and
// checks every epilogue of every SIMD level against its twin, bit for bit.
func FuzzQEpilogueTwins(f *testing.F) {
	seed := make([]byte, 4*(qgemmMR*qgemmNR+3*qgemmNR))
	for i := range seed {
		seed[i] = byte(i * 37)
	}
	f.Add(seed, int32(128), false, uint8(32))
	f.Add(seed[:100], int32(-5), true, uint8(9))
	f.Fuzz(func(t *testing.T, data []byte, zp int32, signed bool, cols uint8) {
		words := make([]uint32, qgemmMR*qgemmNR+3*qgemmNR)
		for i := range words {
			if len(data) >= 4*(i+1) {
				words[i] = binary.LittleEndian.Uint32(data[4*i:])
			}
		}
		tile := make([]int32, qgemmMR*qgemmNR)
		for i := range tile {
			tile[i] = int32(words[i])
		}
		corr, scale, fbias := make([]int32, qgemmNR), make([]float32, qgemmNR), make([]float32, qgemmNR)
		for j := range corr {
			corr[j] = int32(words[len(tile)+j])
			scale[j] = math.Float32frombits(words[len(tile)+qgemmNR+j])
			fbias[j] = math.Float32frombits(words[len(tile)+2*qgemmNR+j])
		}
		lo, hi := int32(0), int32(255)
		if signed {
			lo, hi = -128, 127
		}
		// A zero point near the range, as models use: the twin's rounding is exact only for |f| < 2²², and the
		// clamps keep |f| ≤ |lo − zp| + |hi − zp|.
		zp = zp%256 + lo/2
		flo, fhi := float32(lo-zp), float32(hi-zp)
		n := int(cols) % (qgemmNR + 1)
		for _, l := range qimpls()[1:] {
			want8, got8 := make([]uint8, n), make([]uint8, n)
			qrequantRowGeneric(tile, corr, scale, want8, flo, fhi, zp)
			qrequantFor(l)(tile, corr, scale, got8, flo, fhi, zp)
			if string(got8) != string(want8) {
				t.Fatalf("%s requant row: %v, want %v", l, got8, want8)
			}
			for _, fb := range [][]float32{nil, fbias} {
				wantF, gotF := make([]float32, n), make([]float32, n)
				qdequantRowGeneric(tile, corr, scale, fb, wantF)
				qdequantFor(l)(tile, corr, scale, fb, gotF)
				for j := range wantF {
					if math.Float32bits(gotF[j]) != math.Float32bits(wantF[j]) {
						t.Fatalf("%s dequant row (bias %v): element %d = %#x, want %#x", l, fb != nil, j,
							math.Float32bits(gotF[j]), math.Float32bits(wantF[j]))
					}
				}
			}
			if n > 0 {
				wantT, gotT := make([]uint8, n*qgemmMR), make([]uint8, n*qgemmMR)
				qrequantTileTransGeneric(tile, corr, scale, wantT, qgemmMR, flo, fhi, zp, n)
				qrequantTileFor(l)(tile, corr, scale, gotT, qgemmMR, flo, fhi, zp, n)
				if string(gotT) != string(wantT) {
					t.Fatalf("%s requant tile, %d columns: %v, want %v", l, n, gotT, wantT)
				}
			}
			for _, mode := range []qtileMode{qtileInt, qtileFloat, qtileFloatBias} {
				want32, got32 := make([]int32, qgemmNR*qgemmMR), make([]int32, qgemmNR*qgemmMR)
				qtileTrans32Generic(tile, corr, scale, fbias, want32, qgemmMR, mode)
				qtileTrans32For(l)(tile, corr, scale, fbias, got32, qgemmMR, mode)
				for p := range want32 {
					if got32[p] != want32[p] {
						t.Fatalf("%s tile32 mode %d: d[%d] = %#x, want %#x", l, mode, p, got32[p], want32[p])
					}
				}
			}
		}
	})
}

// BenchmarkQEpilogue times each epilogue on one 8×32 tile (as QGemm calls them) at every SIMD level; the row
// epilogues run on all 8 rows. Compare levels within one epilogue for the asm/twin ratios.
func BenchmarkQEpilogue(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 2))
	tile, corr := make([]int32, qgemmMR*qgemmNR), make([]int32, qgemmNR)
	scale, fbias := make([]float32, qgemmNR), make([]float32, qgemmNR)
	for i := range tile {
		tile[i] = int32(r.IntN(1<<16) - 1<<15)
	}
	for j := range corr {
		corr[j], scale[j], fbias[j] = int32(r.IntN(1000)-500), float32(r.Float64()*1e-2), float32(r.NormFloat64())
	}
	const ldd = 80 * 80 // a plane apart, as an NCHW output stores a tile's columns (det's 80² maps)
	d8, dF, d32 := make([]uint8, qgemmNR*ldd), make([]float32, qgemmNR), make([]int32, qgemmNR*ldd)
	for _, l := range qimpls() {
		b.Run("requantRow/"+l.String(), func(b *testing.B) {
			fn := qrequantFor(l)
			b.SetBytes(qgemmMR * qgemmNR * 4)
			for b.Loop() {
				for i := range qgemmMR {
					fn(tile[i*qgemmNR:(i+1)*qgemmNR], corr, scale, d8[i*qgemmNR:(i+1)*qgemmNR], -128, 127, 0)
				}
			}
		})
		b.Run("dequantRow/"+l.String(), func(b *testing.B) {
			fn := qdequantFor(l)
			b.SetBytes(qgemmMR * qgemmNR * 4)
			for b.Loop() {
				for i := range qgemmMR {
					fn(tile[i*qgemmNR:(i+1)*qgemmNR], corr, scale, fbias, dF)
				}
			}
		})
		b.Run("requantTileTrans/"+l.String(), func(b *testing.B) {
			fn := qrequantTileFor(l)
			b.SetBytes(qgemmMR * qgemmNR * 4)
			for b.Loop() {
				fn(tile, corr, scale, d8, ldd, -128, 127, 0, qgemmNR)
			}
		})
		for _, mode := range []qtileMode{qtileInt, qtileFloatBias} {
			b.Run(fmt.Sprintf("tileTrans32-mode%d/%s", mode, l), func(b *testing.B) {
				fn := qtileTrans32For(l)
				b.SetBytes(qgemmMR * qgemmNR * 4)
				for b.Loop() {
					fn(tile, corr, scale, fbias, d32, ldd, mode)
				}
			})
		}
	}
}
