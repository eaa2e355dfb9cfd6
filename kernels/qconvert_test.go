package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/hone-ml/hone/kernels/kerneltest"
)

// qquantizeRef is ONNX QuantizeLinear's definition, in float64 after the float32 division (or product):
// saturate(roundHalfEven(x ⊘ scale) + zp), NaN → clamp(0).
func qquantizeRef(x, scale float32, zp, lo, hi int32, mul bool) uint8 {
	f := x / scale
	if mul {
		f = x * scale
	}
	if f != f {
		return uint8(max(lo, min(hi, 0)))
	}
	v := math.RoundToEven(float64(f)) + float64(zp)
	return uint8(int32(math.Max(float64(lo), math.Min(float64(hi), v))))
}

// qconvInputs mixes random values with the cases that catch a wrong rounding, clamp or NaN test: exact halves
// of unit (ties go to even, also just past the saturation bounds), values one ulp either side of a half, huge values,
// ±Inf, NaNs of both signs and with a payload, ±0, a denormal and the largest floats.
func qconvInputs(r *rand.Rand, n int, unit float32) []float32 {
	specials := []float32{float32(math.NaN()), math.Float32frombits(0xffc00000), math.Float32frombits(0x7fa00001),
		float32(math.Inf(1)), float32(math.Inf(-1)), 0, float32(math.Copysign(0, -1)), math.SmallestNonzeroFloat32,
		math.MaxFloat32, -math.MaxFloat32}
	x := make([]float32, n)
	for i := range x {
		tie := (float32(r.IntN(800)-400) + 0.5) * unit // a tie in exact arithmetic
		switch i % 8 {
		case 0:
			x[i] = tie
		case 1:
			x[i] = math.Nextafter32(tie, float32(math.Inf(1)))
		case 2:
			x[i] = math.Nextafter32(tie, float32(math.Inf(-1)))
		case 3:
			x[i] = float32(r.NormFloat64()) * 1e6
		case 4:
			x[i] = specials[r.IntN(len(specials))]
		default:
			x[i] = float32(r.NormFloat64()) * 200 * unit
		}
	}
	return x
}

// qconvRanges are the output ranges the quantizers are checked over: int8 and uint8 with the zero point in the
// middle, off it and at either end, ReLU-clamped ones (lo = zp), ranges without 0, where a NaN stores a bound, and
// a zero point far outside the range (the AVX2 routines, which work in int16, leave it to the twin).
var qconvRanges = []struct{ zp, lo, hi int32 }{
	{0, -128, 127}, {-7, -128, 127}, {-128, -128, 127}, {127, -128, 127}, {0, -127, 127}, {-5, -5, 127},
	{-100, -128, -20}, {128, 0, 255}, {3, 0, 255}, {0, 0, 255}, {255, 0, 255}, {100, 100, 255}, {50, 10, 200},
	{40000, -128, 127},
}

// qconvLengths are the element counts the conversions are checked over: 0, 1, both vector widths (16 and 32) ±1
// and their multiples, and 1000.
var qconvLengths = kerneltest.Lengths(16, 32)

// TestQQuantize checks every level (the AVX-512 and AVX2 loops and the twin) against the definition and against
// the twin, exactly, over the conformance lengths and offsets, for the int8 and uint8 ranges, division and
// multiplication, ordinary, exact (power-of-two), zero, infinite and NaN scales, with guard bytes.
func TestQQuantize(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	scales := []float32{0.0173, 1.0 / 3, 2.5e-5, 7, 0.25, 0, float32(math.Inf(1)), float32(math.NaN())}
	for _, l := range qimpls() {
		restore := setQImpl(l)
		for _, q := range qconvRanges {
			for _, mul := range []bool{false, true} {
				mode := qconvDiv
				if mul {
					mode = qconvMul
				}
				for _, scale := range scales {
					unit := scale // puts x ⊘ scale on ties
					if mul {
						unit = 1 / scale
					}
					for _, n := range qconvLengths {
						for off := 0; off < 4; off++ {
							name := fmt.Sprintf("%s/zp%d[%d,%d]/mul=%v/s%g/n%d/off%d", l, q.zp, q.lo, q.hi, mul, scale, n, off)
							x := qconvInputs(r, n+off, unit)[off:]
							y := make([]uint8, n+off+2)
							y[off+n], y[off+n+1] = 0xAB, 0xCD
							QQuantize(y[off:off+n], x, scale, q.zp, q.lo, q.hi, mul)
							twin := make([]uint8, n)
							qquantizeGeneric(twin, x, mode, 0, scale, q.zp, q.lo, q.hi)
							for i, v := range x {
								if want := qquantizeRef(v, scale, q.zp, q.lo, q.hi, mul); y[off+i] != want || y[off+i] != twin[i] {
									t.Fatalf("%s: x[%d]=%g: got %d, want %d (twin %d)", name, i, v, y[off+i], want, twin[i])
								}
							}
							if y[off+n] != 0xAB || y[off+n+1] != 0xCD {
								t.Fatalf("%s: wrote past the end", name)
							}
						}
					}
				}
			}
		}
		restore()
	}
}

// TestQDequantize checks every level against the twin and (float32(x) − zp)·scale bit for bit, over every byte
// value, integer and fractional zero points, and scales that overflow, underflow, are zero, negative, infinite or
// NaN, with guard values.
func TestQDequantize(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	scales := []float32{0.0173, 0.5, -0.25, 0, 1e-40, 3e38, float32(math.Inf(1)), float32(math.Inf(-1)), float32(math.NaN())}
	for _, l := range qimpls() {
		restore := setQImpl(l)
		for _, signed := range []bool{false, true} {
			for _, n := range qconvLengths {
				for off := 0; off < 4; off++ {
					x := make([]uint8, n+off)
					for i := range x {
						x[i] = uint8(i*37 + r.IntN(3))
					}
					x = x[off:]
					zp := []float32{float32(r.IntN(256) - 128), 0, -128, 255, 2.5}[r.IntN(5)]
					scale := scales[r.IntN(len(scales))]
					if r.IntN(3) == 0 {
						scale = float32(r.Float64() * 0.1)
					}
					name := fmt.Sprintf("%s/signed=%v/n%d/off%d/zp%g/s%g", l, signed, n, off, zp, scale)
					y := make([]float32, n+1)
					y[n] = -1234
					QDequantize(y[:n], x, signed, zp, scale)
					twin := make([]float32, n)
					qdequantizeGeneric(twin, x, signed, zp, scale)
					for i, v := range x {
						want := (float32(v) - zp) * scale
						if signed {
							want = (float32(int8(v)) - zp) * scale
						}
						if math.Float32bits(y[i]) != math.Float32bits(want) || math.Float32bits(y[i]) != math.Float32bits(twin[i]) {
							t.Fatalf("%s: x[%d]=%d: got %g, want %g (twin %g)", name, i, v, y[i], want, twin[i])
						}
					}
					if y[n] != -1234 {
						t.Fatalf("%s: wrote past the end", name)
					}
				}
			}
		}
		restore()
	}
}

// FuzzQQuantize compares every level's vector path with the twin on arbitrary bytes read as floats.
func FuzzQQuantize(f *testing.F) {
	f.Add([]byte("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"), float32(0.02), int32(3), true, false)
	f.Fuzz(func(t *testing.T, b []byte, scale float32, zp int32, signed, mul bool) {
		x := make([]float32, len(b)/4)
		for i := range x {
			x[i] = math.Float32frombits(uint32(b[4*i]) | uint32(b[4*i+1])<<8 | uint32(b[4*i+2])<<16 | uint32(b[4*i+3])<<24)
		}
		lo, hi := int32(0), int32(255)
		if signed {
			lo, hi = -128, 127
		}
		zp = max(lo, min(hi, zp))
		mode := qconvDiv
		if mul {
			mode = qconvMul
		}
		want := make([]uint8, len(x))
		qquantizeGeneric(want, x, mode, 0, scale, zp, lo, hi)
		for _, l := range qimpls()[1:] {
			restore := setQImpl(l)
			got := make([]uint8, len(x))
			QQuantize(got, x, scale, zp, lo, hi, mul)
			restore()
			for i := range got {
				if got[i] != want[i] {
					t.Fatalf("%s: x[%d]=%g scale %g zp %d: vector %d, twin %d", l, i, x[i], scale, zp, got[i], want[i])
				}
			}
		}
	})
}

// TestQRequantizeSums checks every level against the twin and (for finite multipliers) the GEMM epilogue's
// definition (QRequantize on the int32 sum plus bias), exactly, including biases that push the sum past float32's
// exact integers, power-of-two multipliers that put sums on ties, clamped results, and zero, infinite and NaN
// multipliers (0·∞ is NaN, which stores the twin's NaN byte).
func TestQRequantizeSums(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	for _, l := range qimpls() {
		restore := setQImpl(l)
		for _, bias := range []int32{0, -1234, 1<<24 + 3, -(1<<25 + 7)} {
			for _, q := range qconvRanges {
				for _, n := range qconvLengths {
					for off := 0; off < 4; off++ {
						acc := make([]float32, n+off)
						for i := range acc {
							acc[i] = float32(r.IntN(1<<24) - 1<<23)
							if i%7 == 3 {
								acc[i] = []float32{0, 1<<24 - 1, -(1<<24 - 1), 64, -96}[r.IntN(5)]
							}
						}
						acc = acc[off:]
						scale := []float32{float32(r.Float64() * 1e-5), 1.0 / 128, 1, 0, float32(math.Inf(1)), float32(math.NaN())}[r.IntN(6)]
						name := fmt.Sprintf("%s/bias%d/zp%d[%d,%d]/s%g/n%d/off%d", l, bias, q.zp, q.lo, q.hi, scale, n, off)
						y := make([]uint8, n+1)
						y[n] = 0x5A
						QRequantizeSums(y[:n], acc, bias, scale, q.zp, q.lo, q.hi)
						twin := make([]uint8, n)
						qquantizeGeneric(twin, acc, qconvSums, bias, scale, q.zp, q.lo, q.hi)
						finite := !math.IsInf(float64(scale), 0) && scale == scale
						for i, v := range acc {
							want := twin[i]
							if finite {
								want = uint8(QRequantize(int32(v)+bias, scale, q.zp, q.lo, q.hi))
							}
							if y[i] != want || y[i] != twin[i] {
								t.Fatalf("%s: acc[%d]=%g: got %d, want %d (twin %d)", name, i, v, y[i], want, twin[i])
							}
						}
						if y[n] != 0x5A {
							t.Fatalf("%s: wrote past the end", name)
						}
					}
				}
			}
		}
		restore()
	}
}

// TestQToNHWC checks the blocked transpose at every level against the definition and the twin over channel and
// pixel counts around the 8×8, 16×32 and 16×64 blocks, with a plane stride larger than the pixel count and guard
// bytes around the output.
func TestQToNHWC(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	for _, l := range qimpls() {
		restore := setQImpl(l)
		qcheckToNHWCShapes(t, r, l.String())
		restore()
	}
}

func qcheckToNHWCShapes(t *testing.T, r *rand.Rand, name string) {
	t.Helper()
	// 21 × 229: a 7×7 stem's row window (the vector blocks overlap on channels and on pixels).
	for _, c := range []int{1, 3, 7, 8, 9, 15, 16, 17, 21, 24, 32, 33, 64, 72} {
		for _, n := range []int{1, 7, 8, 9, 31, 32, 33, 40, 63, 64, 65, 71, 96, 97, 128, 200, 229} {
			for _, flip := range []uint8{0, 0x80} {
				qcheckToNHWC(t, r, name, c, n, flip)
			}
		}
	}
}

func qcheckToNHWC(t *testing.T, r *rand.Rand, l string, c, n int, flip uint8) {
	t.Helper()
	stride := n + 5
	src := make([]uint8, c*stride)
	for i := range src {
		src[i] = uint8(r.IntN(256))
	}
	buf := make([]uint8, c*n+2)
	buf[0], buf[c*n+1] = 0x77, 0x77
	dst := buf[1 : c*n+1]
	QToNHWC(dst, src, c, n, stride, flip)
	twin := make([]uint8, c*n)
	qtoNHWCGeneric(twin, src, c, stride, flip, 0, c, 0, n)
	for p := 0; p < n; p++ {
		for ch := 0; ch < c; ch++ {
			if want := src[ch*stride+p] ^ flip; dst[p*c+ch] != want || twin[p*c+ch] != want {
				t.Fatalf("%s c%d n%d flip%#x: dst[%d,%d] = %d, want %d (twin %d)", l, c, n, flip, p, ch, dst[p*c+ch], want, twin[p*c+ch])
			}
		}
	}
	if buf[0] != 0x77 || buf[c*n+1] != 0x77 {
		t.Fatalf("%s c%d n%d: wrote outside the output", l, c, n)
	}
}

// TestQLookup checks every level against the table and the twin over the conformance lengths and offsets, with
// every byte value as an index and a guard byte after the output.
func TestQLookup(t *testing.T) {
	r := rand.New(rand.NewPCG(13, 14))
	for _, l := range qimpls() {
		restore := setQImpl(l)
		qcheckLookup(t, r, l.String())
		restore()
	}
}

func qcheckLookup(t *testing.T, r *rand.Rand, name string) {
	t.Helper()
	var table [256]uint8
	for i := range table {
		table[i] = uint8(r.IntN(256))
	}
	for _, n := range kerneltest.Lengths(32, 64) {
		for off := 0; off < 4; off++ {
			x := make([]uint8, n+off)
			for i := range x {
				x[i] = uint8(i*37 + r.IntN(3))
			}
			x = x[off:]
			y := make([]uint8, n+1)
			y[n] = 0x3C
			QLookup(y[:n], x, &table)
			twin := make([]uint8, n)
			qlookupGeneric(twin, x, &table)
			for i, v := range x {
				if y[i] != table[v] || twin[i] != table[v] {
					t.Fatalf("%s/n%d/off%d: y[%d] = %d, want table[%d] = %d (twin %d)", name, n, off, i, y[i], v, table[v], twin[i])
				}
			}
			if y[n] != 0x3C {
				t.Fatalf("%s/n%d: wrote past the end", name, n)
			}
		}
	}
}

// BenchmarkQToNHWC sets the levels side by side on the integer convolution's shapes: a 256-pixel block of 64
// planes of 56×56 pixels (ResNet-18), and of det's 96 planes of 160×160.
func BenchmarkQToNHWC(b *testing.B) {
	for _, s := range []struct{ c, n, hw int }{{64, 256, 56 * 56}, {96, 256, 160 * 160}} {
		src, dst := make([]uint8, s.c*s.hw), make([]uint8, s.c*s.n)
		for _, l := range qimpls() {
			b.Run(fmt.Sprintf("c%d/%s", s.c, l), func(b *testing.B) {
				defer setQImpl(l)()
				b.SetBytes(int64(s.c * s.n))
				for b.Loop() {
					QToNHWC(dst, src, s.c, s.n, s.hw, 0x80)
				}
			})
		}
	}
}

// TestQBinary checks the fused quantized sum and product at every level against DequantizeLinear, the float32 op
// and QuantizeLinear run in turn (QDequantize, a scalar op, QQuantize) and against the twin, for every signedness
// of A, B and C, the conformance lengths, zero points anywhere in the range (the ends included), scales that put
// many results on rounding ties, saturation both ways, products and sums that overflow to ±Inf, a zero output
// scale (±Inf and 0/0 quotients) and NaN.
func TestQBinary(t *testing.T) {
	r := rand.New(rand.NewPCG(41, 42))
	inf, nan := float32(math.Inf(1)), float32(math.NaN())
	scales := [][3]float32{{0.5, 0.25, 1}, {0.02, 0.031, 0.047}, {1.5, 2, 0.01}, {nan, 0.1, 0.1}, {3e38, 3e38, 1},
		{1e30, 1e30, 1e-30}, {0.1, 0.2, 0}, {inf, 0.5, 0.25}, {0.1, 0.1, inf}}
	for _, l := range qimpls() {
		restore := setQImpl(l)
		for _, n := range qconvLengths {
			for sign := 0; sign < 8; sign++ {
				for _, sc := range scales {
					for _, mul := range []bool{false, true} {
						qa := Q8{Scale: sc[0], Zero: int32(r.IntN(256) - 128), Signed: sign&1 != 0}
						qb := Q8{Scale: sc[1], Zero: int32(r.IntN(40) - 20), Signed: sign&2 != 0}
						qc := Q8{Scale: sc[2], Zero: []int32{-128, 127, int32(r.IntN(40) - 20)}[r.IntN(3)], Signed: sign&4 != 0}
						for _, q := range []*Q8{&qa, &qb, &qc} {
							if !q.Signed {
								q.Zero += 128
							}
						}
						a, _ := qrand(r, n)
						b, _ := qrand(r, n)
						fa, fb := make([]float32, n), make([]float32, n)
						QDequantize(fa, a, qa.Signed, float32(qa.Zero), qa.Scale)
						QDequantize(fb, b, qb.Signed, float32(qb.Zero), qb.Scale)
						for i := range fa {
							if mul {
								fa[i] *= fb[i]
							} else {
								fa[i] += fb[i]
							}
						}
						lo, hi := qc.bounds()
						want, twin, got := make([]uint8, n), make([]uint8, n), make([]uint8, n+1)
						got[n] = 0x5a
						QQuantize(want, fa, qc.Scale, qc.Zero, lo, hi, false)
						qbinaryGeneric(twin, a, b, qa, qb, qc, mul)
						QBinary(got[:n], a, b, qa, qb, qc, mul)
						for i := range want {
							if got[i] != want[i] || got[i] != twin[i] {
								t.Fatalf("%s n=%d sign=%d scales=%v mul=%v zc=%d: y[%d] = %d, want %d, twin %d (a %d, b %d)",
									l, n, sign, sc, mul, qc.Zero, i, got[i], want[i], twin[i], a[i], b[i])
							}
						}
						if got[n] != 0x5a {
							t.Fatalf("%s n=%d: wrote past the output", l, n)
						}
					}
				}
			}
		}
		restore()
	}
}

// BenchmarkQConvert sets the levels side by side for each conversion on one activation of det's 96 × 160² int8
// layers (2.4 M elements): QuantizeLinear, the depthwise epilogue's requantization, DequantizeLinear, QLinearAdd
// and QLinearMul of equal shapes, and a QLookup activation table.
func BenchmarkQConvert(b *testing.B) {
	const n = 96 * 160 * 160
	r := rand.New(rand.NewPCG(61, 62))
	x, acc := make([]float32, n), make([]float32, n)
	u, v, y := make([]uint8, n), make([]uint8, n), make([]uint8, n)
	f := make([]float32, n)
	var table [256]uint8
	for i := range x {
		x[i] = float32(r.NormFloat64())
		acc[i] = float32(r.IntN(1<<16) - 1<<15)
		u[i], v[i] = uint8(r.IntN(256)), uint8(r.IntN(256))
	}
	for i := range table {
		table[i] = uint8(r.IntN(256))
	}
	qa, qb, qc := Q8{0.02, 3, true}, Q8{0.03, -5, true}, Q8{0.04, 1, true}
	kernels := []struct {
		name  string
		bytes int64 // read and written per call
		run   func()
	}{
		{"QQuantize", 5 * n, func() { QQuantize(y, x, 0.0173, 3, -128, 127, false) }},
		{"QRequantizeSums", 5 * n, func() { QRequantizeSums(y, acc, 17, 1e-4, 3, -128, 127) }},
		{"QDequantize", 5 * n, func() { QDequantize(f, u, true, 3, 0.0173) }},
		{"QBinaryAdd", 3 * n, func() { QBinary(y, u, v, qa, qb, qc, false) }},
		{"QBinaryMul", 3 * n, func() { QBinary(y, u, v, qa, qb, qc, true) }},
		{"QLookup", 2 * n, func() { QLookup(y, u, &table) }},
	}
	for _, k := range kernels {
		for _, l := range qimpls() {
			b.Run(k.name+"/"+l.String(), func(b *testing.B) {
				defer setQImpl(l)()
				b.SetBytes(k.bytes)
				for b.Loop() {
					k.run()
				}
			})
		}
	}
}
