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

// qconvInputs mixes random values with the cases that catch a wrong rounding or clamp: exact halves (ties go to
// even), values one ulp either side of a half, the range ends, ±Inf, NaN and huge values.
func qconvInputs(r *rand.Rand, n int, scale float32) []float32 {
	x := make([]float32, n)
	for i := range x {
		switch i % 8 {
		case 0:
			x[i] = (float32(r.IntN(600)-300) + 0.5) * scale // a tie in exact arithmetic
		case 1:
			x[i] = math.Nextafter32((float32(r.IntN(600)-300)+0.5)*scale, float32(math.Inf(1)))
		case 2:
			x[i] = float32(r.NormFloat64()) * 1e6
		case 3:
			x[i] = []float32{float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1)), 0}[r.IntN(4)]
		default:
			x[i] = float32(r.NormFloat64()) * 200 * scale
		}
	}
	return x
}

// TestQQuantize checks every level (the AVX-512 loop and the twin) against the definition, exactly, over the
// conformance lengths and offsets, for int8 and uint8 ranges, division and multiplication, with guard bytes.
func TestQQuantize(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	type rng struct{ zp, lo, hi int32 }
	for _, l := range qimpls() {
		restore := setQImpl(l)
		for _, q := range []rng{{0, -128, 127}, {-7, -128, 127}, {0, -127, 127}, {128, 0, 255}, {3, 0, 255}} {
			for _, mul := range []bool{false, true} {
				for _, scale := range []float32{0.0173, 1.0 / 3, 2.5e-5, 7} {
					for _, n := range kerneltest.Lengths(16) {
						for off := 0; off < 4; off++ {
							name := fmt.Sprintf("%s/zp%d[%d,%d]/mul=%v/s%g/n%d/off%d", l, q.zp, q.lo, q.hi, mul, scale, n, off)
							x := qconvInputs(r, n+off, scale)[off:]
							y := make([]uint8, n+off+2)
							y[off+n], y[off+n+1] = 0xAB, 0xCD
							QQuantize(y[off:off+n], x, scale, q.zp, q.lo, q.hi, mul)
							for i, v := range x {
								if want := qquantizeRef(v, scale, q.zp, q.lo, q.hi, mul); y[off+i] != want {
									t.Fatalf("%s: x[%d]=%g: got %d, want %d", name, i, v, y[off+i], want)
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

// TestQDequantize checks every level against (float32(x) − zp)·scale bit for bit, with guard values.
func TestQDequantize(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for _, l := range qimpls() {
		restore := setQImpl(l)
		for _, signed := range []bool{false, true} {
			for _, n := range kerneltest.Lengths(16) {
				for off := 0; off < 4; off++ {
					x := make([]uint8, n+off)
					for i := range x {
						x[i] = uint8(r.IntN(256))
					}
					x = x[off:]
					zp, scale := float32(r.IntN(256)-128), float32(r.Float64()*0.1)
					y := make([]float32, n+1)
					y[n] = -1234
					QDequantize(y[:n], x, signed, zp, scale)
					for i, v := range x {
						want := (float32(v) - zp) * scale
						if signed {
							want = (float32(int8(v)) - zp) * scale
						}
						if math.Float32bits(y[i]) != math.Float32bits(want) {
							t.Fatalf("%s/signed=%v/n%d/off%d: x[%d]=%d: got %g, want %g", l, signed, n, off, i, v, y[i], want)
						}
					}
					if y[n] != -1234 {
						t.Fatalf("%s/n%d: wrote past the end", l, n)
					}
				}
			}
		}
		restore()
	}
}

// FuzzQQuantize compares the vector path with the twin on arbitrary bytes read as floats.
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
		got, want := make([]uint8, len(x)), make([]uint8, len(x))
		QQuantize(got, x, scale, zp, lo, hi, mul)
		mode := qconvDiv
		if mul {
			mode = qconvMul
		}
		qquantizeGeneric(want, x, mode, 0, scale, zp, lo, hi)
		for i := range got {
			if got[i] != want[i] {
				t.Fatalf("x[%d]=%g scale %g zp %d: vector %d, twin %d", i, x[i], scale, zp, got[i], want[i])
			}
		}
	})
}

// TestQRequantizeSums checks every level against the GEMM epilogue's definition (QRequantize on the int32 sum
// plus bias), exactly, including biases that push the sum past float32's exact integers and clamped results.
func TestQRequantizeSums(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	for _, l := range qimpls() {
		restore := setQImpl(l)
		for _, bias := range []int32{0, -1234, 1<<24 + 3, -(1<<25 + 7)} {
			for _, q := range [][3]int32{{5, -128, 127}, {100, 0, 255}} {
				for _, n := range kerneltest.Lengths(16) {
					for off := 0; off < 4; off++ {
						acc := make([]float32, n+off)
						for i := range acc {
							acc[i] = float32(r.IntN(1<<24) - 1<<23)
						}
						acc = acc[off:]
						scale := float32(r.Float64() * 1e-5)
						y := make([]uint8, n+1)
						y[n] = 0x5A
						QRequantizeSums(y[:n], acc, bias, scale, q[0], q[1], q[2])
						for i, v := range acc {
							if want := uint8(QRequantize(int32(v)+bias, scale, q[0], q[1], q[2])); y[i] != want {
								t.Fatalf("%s/bias%d/n%d/off%d: acc[%d]=%g: got %d, want %d", l, bias, n, off, i, v, y[i], want)
							}
						}
						if y[n] != 0x5A {
							t.Fatalf("%s/n%d: wrote past the end", l, n)
						}
					}
				}
			}
		}
		restore()
	}
}

// TestQToNHWC checks the blocked transpose at every level against the definition over channel and pixel counts
// around the 8×8 and 16×64 blocks, with a plane stride larger than the pixel count and guard bytes around the
// output.
func TestQToNHWC(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	for _, l := range qimpls() {
		restore := setQImpl(l)
		// 21 × 229: a 7×7 stem's row window (the vector blocks overlap on channels and on pixels).
		for _, c := range []int{1, 3, 7, 8, 9, 16, 21, 24, 33, 64, 72} {
			for _, n := range []int{1, 7, 8, 9, 64, 71, 128, 200, 229} {
				for _, flip := range []uint8{0, 0x80} {
					qcheckToNHWC(t, r, l, c, n, flip)
				}
			}
		}
		restore()
	}
}

func qcheckToNHWC(t *testing.T, r *rand.Rand, l qimpl, c, n int, flip uint8) {
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
	for p := 0; p < n; p++ {
		for ch := 0; ch < c; ch++ {
			if want := src[ch*stride+p] ^ flip; dst[p*c+ch] != want {
				t.Fatalf("%s c%d n%d flip%#x: dst[%d,%d] = %d, want %d", l, c, n, flip, p, ch, dst[p*c+ch], want)
			}
		}
	}
	if buf[0] != 0x77 || buf[c*n+1] != 0x77 {
		t.Fatalf("%s c%d n%d: wrote outside the output", l, c, n)
	}
}

// TestQLookup checks every level against the table over the conformance lengths and offsets, with every byte
// value as an index and a guard byte after the output.
func TestQLookup(t *testing.T) {
	r := rand.New(rand.NewPCG(13, 14))
	var table [256]uint8
	for i := range table {
		table[i] = uint8(r.IntN(256))
	}
	for _, l := range qimpls() {
		restore := setQImpl(l)
		for _, n := range kerneltest.Lengths(64) {
			for off := 0; off < 4; off++ {
				x := make([]uint8, n+off)
				for i := range x {
					x[i] = uint8(i*37 + r.IntN(3))
				}
				x = x[off:]
				y := make([]uint8, n+1)
				y[n] = 0x3C
				QLookup(y[:n], x, &table)
				for i, v := range x {
					if y[i] != table[v] {
						t.Fatalf("%s/n%d/off%d: y[%d] = %d, want table[%d] = %d", l, n, off, i, y[i], v, table[v])
					}
				}
				if y[n] != 0x3C {
					t.Fatalf("%s/n%d: wrote past the end", l, n)
				}
			}
		}
		restore()
	}
}

// BenchmarkQToNHWC sets the levels side by side on the integer convolution's shape: a 256-pixel block of 64
// planes of 56×56 pixels.
func BenchmarkQToNHWC(b *testing.B) {
	const c, n, hw = 64, 256, 56 * 56
	src, dst := make([]uint8, c*hw), make([]uint8, c*n)
	for _, l := range qimpls() {
		b.Run(l.String(), func(b *testing.B) {
			defer setQImpl(l)()
			b.SetBytes(c * n)
			for b.Loop() {
				QToNHWC(dst, src, c, n, hw, 0x80)
			}
		})
	}
}

// TestQBinary checks the fused quantized sum and product at every level against DequantizeLinear, the float32 op
// and QuantizeLinear run in turn (QDequantize, a scalar op, QQuantize), for every signedness of A, B and C, lengths
// around the vector width, scales that put many results on rounding ties, saturation both ways, and NaN.
func TestQBinary(t *testing.T) {
	r := rand.New(rand.NewPCG(41, 42))
	scales := [][3]float32{{0.5, 0.25, 1}, {0.02, 0.031, 0.047}, {1.5, 2, 0.01}, {float32(math.NaN()), 0.1, 0.1}}
	for _, l := range qimpls() {
		restore := setQImpl(l)
		for _, n := range []int{0, 1, 15, 16, 17, 100} {
			for sign := 0; sign < 8; sign++ {
				for _, sc := range scales {
					for _, mul := range []bool{false, true} {
						qa := Q8{Scale: sc[0], Zero: int32(r.IntN(40) - 20), Signed: sign&1 != 0}
						qb := Q8{Scale: sc[1], Zero: int32(r.IntN(40) - 20), Signed: sign&2 != 0}
						qc := Q8{Scale: sc[2], Zero: int32(r.IntN(40) - 20), Signed: sign&4 != 0}
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
						want, got := make([]uint8, n), make([]uint8, n+1)
						got[n] = 0x5a
						QQuantize(want, fa, qc.Scale, qc.Zero, lo, hi, false)
						QBinary(got[:n], a, b, qa, qb, qc, mul)
						for i := range want {
							if got[i] != want[i] {
								t.Fatalf("%s n=%d sign=%d scales=%v mul=%v: y[%d] = %d, want %d (a %d, b %d)", l, n, sign, sc, mul, i, got[i], want[i], a[i], b[i])
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
