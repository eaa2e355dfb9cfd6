package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// TestQPointwiseTwins runs each SIMD level's pointwise kernel and panel packer against the Go twins: every row
// count, group counts around the loop, both output signednesses with tie-heavy and saturating multipliers, and
// guard bytes past the rows and pixels asked for.
func TestQPointwiseTwins(t *testing.T) {
	r := rand.New(rand.NewPCG(31, 32))
	for _, l := range qimpls() {
		kernel, pack := qpwKernelFor(l), qpwPackFor(l)
		for _, kg := range []int{0, 1, 2, 3, 5, 24, 97} {
			for rows := 1; rows <= qpwRows; rows++ {
				x, w, corr, scale := qpwRandBlock(r, kg, func() float32 { return []float32{1.0 / 512, 1.0 / 4096, 0.5, 3e-5}[r.IntN(4)] })
				for _, signed := range []bool{false, true} {
					lo, hi, zp := int32(0), int32(255), int32(r.IntN(256))
					if signed {
						lo, hi, zp = -128, 127, int32(r.IntN(256)-128)
					}
					flo, fhi := float32(lo-zp), float32(hi-zp)
					ldd := qpwCols + 3
					got, want := make([]uint8, qpwRows*ldd), make([]uint8, qpwRows*ldd)
					for i := range got {
						got[i], want[i] = 0xA5, 0xA5
					}
					kernel(kg, x, w, corr, scale, got, ldd, rows, flo, fhi, zp)
					qpwKernelGeneric(kg, x, w, corr, scale, want, ldd, rows, flo, fhi, zp)
					for i := range want {
						if got[i] != want[i] {
							t.Fatalf("%s kg=%d rows=%d signed=%v: d[%d] = %d, want %d", l, kg, rows, signed, i, got[i], want[i])
						}
						if (i/ldd >= rows || i%ldd >= qpwCols) && got[i] != 0xA5 {
							t.Fatalf("%s kg=%d rows=%d: d[%d] written", l, kg, rows, i)
						}
					}
				}
			}
			for rows := 1; rows <= qpwRows; rows++ {
				for _, withBias := range []bool{false, true} {
					x, w, corr, scale := qpwRandBlock(r, kg, func() float32 { return float32(r.Float64() * 1e-3) })
					var fbias []float32
					if withBias {
						fbias = make([]float32, rows)
						for i := range fbias {
							fbias[i] = float32(r.NormFloat64())
						}
					}
					ldd := qpwCols + 3
					got, want := make([]float32, qpwRows*ldd), make([]float32, qpwRows*ldd)
					for i := range got {
						got[i], want[i] = -1, -1
					}
					qpwKernelF32For(l)(kg, x, w, corr, scale, got, ldd, rows, fbias)
					qpwKernelF32Generic(kg, x, w, corr, scale, want, ldd, rows, fbias)
					for i := range want {
						if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
							t.Fatalf("%s float32 kg=%d rows=%d bias=%v: d[%d] = %g, want %g", l, kg, rows, withBias, i, got[i], want[i])
						}
						if (i/ldd >= rows || i%ldd >= qpwCols) && got[i] != -1 {
							t.Fatalf("%s float32 kg=%d rows=%d: d[%d] written", l, kg, rows, i)
						}
					}
				}
			}
			for _, flip := range []uint8{0, 0x80} {
				plane := qpwCols + 7
				src, _ := qrand(r, 4*kg*plane+1)
				got, want := make([]uint8, kg*qpwCols*4+8), make([]uint8, kg*qpwCols*4+8)
				pack(got, src, plane, kg, 4*plane, flip)
				qpwPackGeneric(want, src, plane, kg, 4*plane, flip)
				for i := range want {
					if got[i] != want[i] {
						t.Fatalf("%s pack kg=%d flip=%#x: byte %d = %d, want %d", l, kg, flip, i, got[i], want[i])
					}
				}
			}
		}
	}
}

// qpwRandBlock draws one kernel call's inputs: a packed panel and a block's weights of kg groups, and per-channel
// corrections and multipliers (from scale).
func qpwRandBlock(r *rand.Rand, kg int, scale func() float32) ([]uint8, []int8, []int32, []float32) {
	x, _ := qrand(r, kg*qpwCols*4)
	_, w := qrand(r, kg*qpwRows*4)
	corr, sc := make([]int32, qpwRows), make([]float32, qpwRows)
	for i := range corr {
		corr[i] = int32(r.IntN(1<<20) - 1<<19)
		sc[i] = scale()
	}
	return x, w, corr, sc
}

// TestQPointwise checks QPointwise at every level against the definition, requantized with ONNX Runtime's formula
// (QRequantize): channel counts around the 4-channel groups and the 8-channel blocks, pixel counts around the
// 32-pixel panels, int8 and uint8 input and output, per-tensor and per-channel multipliers, with and without
// bias, run across two threads. Bytes outside the output's rows are left alone.
func TestQPointwise(t *testing.T) {
	r := rand.New(rand.NewPCG(33, 34))
	for _, l := range qimpls() {
		restore := setQImpl(l)
		for _, mc := range [][2]int{{1, 1}, {8, 4}, {7, 3}, {12, 16}, {33, 5}, {24, 96}, {16, 130}} {
			for _, P := range []int{1, 31, 32, 33, 100, 257} {
				M, C := mc[0], mc[1]
				name := fmt.Sprintf("%s/M%d_C%d_P%d", l, M, C, P)
				signedIn, signedOut, floatOut := (M+P)%2 == 0, (C+P)%2 == 1, (M+C+P)%3 == 0
				ldx := P + (M % 3) // planes further apart than P: a band of rows
				_, w := qrand(r, M*C)
				pw, err := QPackPointwise(M, C, w)
				if err != nil {
					t.Fatal(err)
				}
				x, _ := qrand(r, C*ldx)
				flip, za, zx := uint8(0), int32(r.IntN(256)), int32(0)
				if signedIn {
					flip, zx = 0x80, int32(r.IntN(256)-128)
					za = zx + 128
				} else {
					zx = za
				}
				out := QOutput{Ldc: P + 2, ZeroPoint: int32(r.IntN(100))}
				scales := make([]float32, M)
				for i := range scales {
					scales[i] = float32(math.Ldexp(1+r.Float64(), -9-r.IntN(4)))
				}
				out.Scale = scales
				if P%2 == 1 {
					out.Scale = scales[:1]
				}
				if P%3 != 0 {
					out.Bias = make([]int32, M)
					for i := range out.Bias {
						out.Bias[i] = int32(r.IntN(20000) - 10000)
					}
				}
				lo, hi := int32(0), int32(255)
				n := (M-1)*out.Ldc + P + 5
				raw := make([]uint8, n)
				for i := range raw {
					raw[i] = 0x5A
				}
				switch {
				case floatOut:
					out.ZeroPoint = 0
					if M%2 == 0 { // QConvFloat's float bias, added after the scaling
						out.FBias = make([]float32, M)
						for i := range out.FBias {
							out.FBias[i] = float32(r.NormFloat64())
						}
					}
					out.F32 = make([]float32, n)
					for i := range out.F32 {
						out.F32[i] = math.Float32frombits(0x5A5A5A5A)
					}
				case signedOut:
					lo, hi = -128, 127
					out.ZeroPoint -= 50
					out.I8 = make([]int8, n)
					for i := range out.I8 {
						out.I8[i] = 0x5A
					}
				default:
					out.U8 = raw
				}
				if err := QPointwise(GoRunner(2), pw, x, ldx, flip, za, P, &out); err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				got := out.U8
				switch {
				case floatOut: // the float32 bits' low bytes stand in for the guard checks below
					got = make([]uint8, n)
					for i, v := range out.F32 {
						got[i] = uint8(math.Float32bits(v))
					}
				case signedOut:
					got = qBytes(out.I8)
				}
				for m := range M {
					for p := range P {
						var s int32
						for c := range C {
							xv := int32(x[c*ldx+p])
							if signedIn {
								xv = int32(int8(x[c*ldx+p]))
							}
							s += int32(w[m*C+c]) * (xv - zx)
						}
						if out.Bias != nil {
							s += out.Bias[m]
						}
						if floatOut {
							want := float32(float32(s) * qscale(out.Scale, m)) // as QGemm's dequantizing epilogue; rounded before the bias
							if out.FBias != nil {
								want += out.FBias[m]
							}
							if v := out.F32[m*out.Ldc+p]; v != want {
								t.Fatalf("%s: y[%d][%d] = %g, want %g", name, m, p, v, want)
							}
							continue
						}
						want := QRequantize(s, qscale(out.Scale, m), out.ZeroPoint, lo, hi)
						v := int32(got[m*out.Ldc+p])
						if signedOut {
							v = int32(int8(got[m*out.Ldc+p]))
						}
						if v != want {
							t.Fatalf("%s: y[%d][%d] = %d, want %d", name, m, p, v, want)
						}
					}
					if m < M-1 {
						for p := P; p < out.Ldc; p++ {
							if got[m*out.Ldc+p] != 0x5A {
								t.Fatalf("%s: y[%d][%d] past the pixels written", name, m, p)
							}
						}
					}
				}
				for i := (M-1)*out.Ldc + P; i < n; i++ {
					if got[i] != 0x5A {
						t.Fatalf("%s: byte %d past the output written", name, i)
					}
				}
			}
		}
		restore()
	}
}

// TestQPointwiseErrors checks that bad shapes and outputs are reported, not run.
func TestQPointwiseErrors(t *testing.T) {
	pw, err := QPackPointwise(2, 3, make([]int8, 6))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := QPackPointwise(2, 3, make([]int8, 5)); err == nil {
		t.Error("QPackPointwise accepted 5 weights for 2×3")
	}
	for name, c := range map[string]struct {
		x   []uint8
		P   int
		out QOutput
	}{
		"short input":         {make([]uint8, 11), 4, QOutput{U8: make([]uint8, 8), Ldc: 4, Scale: []float32{1}}},
		"short output":        {make([]uint8, 12), 4, QOutput{U8: make([]uint8, 7), Ldc: 4, Scale: []float32{1}}},
		"int32 output":        {make([]uint8, 12), 4, QOutput{I32: make([]int32, 8), Ldc: 4}},
		"two outputs":         {make([]uint8, 12), 4, QOutput{U8: make([]uint8, 8), F32: make([]float32, 8), Ldc: 4, Scale: []float32{1}}},
		"float bias on uint8": {make([]uint8, 12), 4, QOutput{U8: make([]uint8, 8), FBias: []float32{1, 2}, Ldc: 4, Scale: []float32{1}}},
		"3 float biases":      {make([]uint8, 12), 4, QOutput{F32: make([]float32, 8), FBias: []float32{1, 2, 3}, Ldc: 4, Scale: []float32{1}}},
		"transposed":          {make([]uint8, 12), 4, QOutput{U8: make([]uint8, 8), Ldc: 4, Scale: []float32{1}, Trans: true}},
		"3 scales":            {make([]uint8, 12), 4, QOutput{U8: make([]uint8, 8), Ldc: 4, Scale: []float32{1, 1, 1}}},
	} {
		if err := QPointwise(nil, pw, c.x, c.P, 0, 0, c.P, &c.out); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}
