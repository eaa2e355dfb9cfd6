package kernels

import (
	"fmt"
	"math"
	"testing"

	"github.com/hone-ml/hone/kernels/kerneltest"
)

var unaryCases = []struct {
	name        string
	op          unOp
	alpha, beta float32
	gen         kerneltest.Gen
	tol         kerneltest.Tolerance
}{
	{"AddScalar", opAddScalar, 0.75, 0, kerneltest.Uniform(-10, 10), kerneltest.Exact},
	{"MulScalar", opMulScalar, -1.5, 0, kerneltest.Uniform(-10, 10), kerneltest.Exact},
	{"MulAddScalar", opMulAddScalar, 1.3, -0.2, kerneltest.Uniform(-10, 10), kerneltest.Tolerance{Rel: 1e-6, Abs: 1e-6}},
	{"Relu", opRelu, 0, 0, kerneltest.Uniform(-1, 1), kerneltest.Exact},
	{"Clip", opClip, -0.3, 0.6, kerneltest.Uniform(-1, 1), kerneltest.Exact},
	{"LeakyRelu", opLeakyRelu, 0.1, 0, kerneltest.Uniform(-1, 1), kerneltest.Exact},
	{"HardSigmoid", opHardSigmoid, 0.2, 0.5, kerneltest.Uniform(-5, 5), kerneltest.Tolerance{Rel: 1e-6, Abs: 1e-7}},
	{"HardSwish", opHardSwish, 1.0 / 6, 0.5, kerneltest.Uniform(-5, 5), kerneltest.Tolerance{Rel: 1e-6, Abs: 1e-7}},
	{"Exp", opExp, 0, 0, kerneltest.Uniform(-100, 89), kerneltest.Tolerance{Rel: 3e-7, Abs: 3e-45}},
	{"Sigmoid", opSigmoid, 0, 0, kerneltest.Uniform(-100, 30), kerneltest.Tolerance{Rel: 3e-7, Abs: 3e-45}},
	{"Tanh", opTanh, 0, 0, kerneltest.Uniform(-10, 10), kerneltest.Tolerance{Rel: 3e-7}},
	{"Erf", opErf, 0, 0, kerneltest.Uniform(-5, 5), kerneltest.Tolerance{Rel: 3e-7}},
}

// TestUnaryKernels runs every SIMD variant of every unary loop against its Go twin through the kerneltest harness.
func TestUnaryKernels(t *testing.T) {
	for _, c := range unaryCases {
		for _, l := range impls() {
			t.Run(c.name+"/"+l.String(), func(t *testing.T) {
				kerneltest.Unary(t, kerneltest.Lengths(8, 16), c.gen, c.tol,
					func(dst, x []float32) { defer setImpl(l)(); unary(c.op, dst, x, c.alpha, c.beta) },
					func(dst, x []float32) { unaryGeneric(c.op, dst, x, c.alpha, c.beta) })
			})
		}
	}
}

func TestBinaryKernels(t *testing.T) {
	ops := map[string]func(dst, a, b []float32){"Add": Add, "Sub": Sub, "Mul": Mul, "Div": Div, "Max": Max}
	ref := map[string]binOp{"Add": opAdd, "Sub": opSub, "Mul": opMul, "Div": opDiv, "Max": opMax}
	for name, f := range ops {
		for _, l := range impls() {
			t.Run(name+"/"+l.String(), func(t *testing.T) {
				kerneltest.Binary(t, kerneltest.Lengths(8, 16), kerneltest.Uniform(0.5, 4), kerneltest.Exact,
					func(dst, a, b []float32) { defer setImpl(l)(); f(dst, a, b) },
					func(dst, a, b []float32) { binaryGeneric(ref[name], dst, a, b) })
			})
		}
	}
}

// TestAxpy runs every SIMD variant of Axpy (dst = a + b·s) against its Go twin; the assembly's fused multiply-add
// rounds once, so results may differ from the twin by an ulp of b·s.
func TestAxpy(t *testing.T) {
	const s = -1.7
	for _, l := range impls() {
		t.Run(l.String(), func(t *testing.T) {
			kerneltest.Binary(t, kerneltest.Lengths(8, 16), kerneltest.Uniform(-10, 10), kerneltest.Tolerance{Rel: 1e-6, Abs: 2e-6},
				func(dst, a, b []float32) { defer setImpl(l)(); copy(dst, a); Axpy(dst, b, s) },
				func(dst, a, b []float32) { copy(dst, a); axpyGeneric(dst, b, s) })
		})
	}
}

// TestActivationSpecials checks the IEEE corners every variant must share with the scalar formulas.
func TestActivationSpecials(t *testing.T) {
	nan, inf := float32(math.NaN()), float32(math.Inf(1))
	negZero := float32(math.Copysign(0, -1))
	in := []float32{nan, inf, -inf, 0, negZero, 1e-30, -1e-30, 1e-8, -200, 200, 88.7, 89, -87.5, -103, -110}
	// Pad to two full AVX-512 vectors so the specials go through the assembly, not the tail.
	x := append(append([]float32(nil), in...), make([]float32, 32-len(in))...)
	refs := map[unOp]func(float64) float64{
		opExp: math.Exp, opTanh: math.Tanh, opErf: math.Erf,
		opSigmoid: func(v float64) float64 { return 1 / (1 + math.Exp(-v)) },
		opRelu: func(v float64) float64 {
			if v < 0 {
				return 0
			}
			return v
		},
	}
	for op, ref := range refs {
		for _, l := range impls() {
			t.Run(fmt.Sprintf("%d/%s", op, l), func(t *testing.T) {
				defer setImpl(l)()
				got := make([]float32, len(x))
				unary(op, got, x, 0, 0)
				for i, v := range in {
					want := float32(ref(float64(v)))
					g := got[i]
					if math.IsNaN(float64(want)) != math.IsNaN(float64(g)) ||
						(!math.IsNaN(float64(want)) && math.Abs(float64(g-want)) > 3e-7*math.Abs(float64(want))+1e-44) {
						t.Errorf("op %d(%v) = %v, want %v", op, v, g, want)
					}
					if want == 0 && math.Signbit(float64(want)) != math.Signbit(float64(g)) && op != opErf && op != opExp {
						t.Errorf("op %d(%v) = %v: sign of zero differs from %v", op, v, g, want)
					}
				}
			})
		}
	}
}

// TestMathAccuracy sweeps float32 inputs (every 1009th bit pattern over the interesting range) and compares each
// variant with math.* evaluated in float64, at the tolerance documented on Exp/Sigmoid/Tanh/Erf.
func TestMathAccuracy(t *testing.T) {
	fns := []struct {
		name string
		op   unOp
		ref  func(float64) float64
		lim  float32
		rel  float64
	}{
		{"Exp", opExp, math.Exp, 88.7, 2.4e-7},
		{"Sigmoid", opSigmoid, func(v float64) float64 { return 1 / (1 + math.Exp(-v)) }, 100, 4e-7},
		{"Tanh", opTanh, math.Tanh, 20, 4e-7},
		{"Erf", opErf, math.Erf, 6, 4e-7},
	}
	var xs []float32
	for bits := uint32(0x0080_0000); bits < 0x4300_0000; bits += 1009 { // normals from FLT_MIN to 128
		v := math.Float32frombits(bits)
		xs = append(xs, v, -v)
	}
	for _, f := range fns {
		for _, l := range impls() {
			t.Run(f.name+"/"+l.String(), func(t *testing.T) {
				defer setImpl(l)()
				var in []float32
				for _, v := range xs {
					if v <= f.lim && v >= -f.lim {
						in = append(in, v)
					}
				}
				got := make([]float32, len(in))
				unary(f.op, got, in, 0, 0)
				worst, at := 0.0, float32(0)
				for i, v := range in {
					want := f.ref(float64(v))
					if math.Abs(want) < 1.2e-38 { // subnormal results: absolute error on the subnormal grid
						if math.Abs(float64(got[i])-want) > 3e-45 {
							t.Fatalf("%s(%v) = %v, want %v", f.name, v, got[i], want)
						}
						continue
					}
					if e := math.Abs(float64(got[i])-want) / math.Abs(want); e > worst {
						worst, at = e, v
					}
				}
				if worst > f.rel {
					t.Fatalf("%s: max relative error %.3g at x=%v, documented %.3g", f.name, worst, at, f.rel)
				}
				t.Logf("%s: max relative error %.3g at x=%v over %d inputs", f.name, worst, at, len(in))
			})
		}
	}
}

// FuzzUnaryAsmVsTwin feeds arbitrary float32 bit patterns to every unary loop and compares the selected SIMD
// variant with the Go twin.
func FuzzUnaryAsmVsTwin(f *testing.F) {
	f.Add([]byte{0, 0, 128, 127, 0, 0, 192, 127, 1, 2, 3, 4}, uint8(8), float32(0.5), float32(0.25))
	f.Add(make([]byte, 4*33), uint8(9), float32(1), float32(0))
	f.Fuzz(func(t *testing.T, data []byte, op uint8, alpha, beta float32) {
		o := unOp(op % uint8(numUnOps))
		x := make([]float32, len(data)/4)
		for i := range x {
			x[i] = math.Float32frombits(uint32(data[4*i]) | uint32(data[4*i+1])<<8 | uint32(data[4*i+2])<<16 | uint32(data[4*i+3])<<24)
		}
		want := make([]float32, len(x))
		unaryGeneric(o, want, x, alpha, beta)
		for _, l := range impls()[1:] {
			got := make([]float32, len(x))
			restore := setImpl(l)
			unary(o, got, x, alpha, beta)
			restore()
			for i := range x {
				if !fuzzClose(o, x[i], got[i], want[i]) {
					t.Fatalf("%s op %d (alpha %v beta %v): f(%v) = %v, twin %v", l, o, alpha, beta, x[i], got[i], want[i])
				}
			}
		}
	})
}

// fuzzClose allows what fused multiply-adds can change: a couple of ulps relative, and for the scalar affine
// ops, cancellation (a·s + t near 0) measured against the operands' size.
func fuzzClose(o unOp, x, got, want float32) bool {
	g, w := float64(got), float64(want)
	if math.IsNaN(w) || math.IsNaN(g) {
		return math.IsNaN(w) == math.IsNaN(g)
	}
	if g == w {
		return true
	}
	if math.IsInf(w, 0) || math.IsInf(g, 0) {
		// An FMA can avoid an intermediate overflow the twin hits (or the reverse) only for the affine ops.
		return o == opMulAddScalar || o == opHardSigmoid || o == opHardSwish
	}
	scale := math.Abs(w)
	switch o {
	case opMulAddScalar, opHardSigmoid, opHardSwish, opLeakyRelu:
		scale = max(scale, math.Abs(float64(x))*4, 1e-38)
	case opExp, opSigmoid, opErf, opTanh:
		if math.Abs(w) < 1.2e-38 {
			return math.Abs(g-w) < 1.5e-45*2
		}
	}
	return math.Abs(g-w) <= 4e-7*scale
}

// TestMaxSpecials pins Max's NaN and signed-zero rule (a > b ? a : b) in every variant: MaxPool relies on a NaN
// tap never replacing the running maximum and on a NaN maximum staying NaN.
func TestMaxSpecials(t *testing.T) {
	nan := float32(math.NaN())
	negZero := float32(math.Copysign(0, -1))
	pairs := [][3]float32{{nan, 1, 1}, {1, nan, nan}, {nan, nan, nan}, {0, negZero, negZero}, {negZero, 0, 0},
		{2, 1, 2}, {1, 2, 2}, {float32(math.Inf(-1)), -3, -3}}
	n := 2 * 16 * len(pairs) // whole AVX-512 vectors, so the assembly (not the tail) sees every pair
	a, b, want := make([]float32, n), make([]float32, n), make([]float32, n)
	for i := range a {
		p := pairs[i%len(pairs)]
		a[i], b[i], want[i] = p[0], p[1], p[2]
	}
	for _, l := range impls() {
		t.Run(l.String(), func(t *testing.T) {
			defer setImpl(l)()
			got := make([]float32, n)
			Max(got, a, b)
			for i := range got {
				if math.Float32bits(got[i]) != math.Float32bits(want[i]) && !(got[i] != got[i] && want[i] != want[i]) {
					t.Fatalf("Max(%v, %v) = %v, want %v", a[i], b[i], got[i], want[i])
				}
			}
		})
	}
}

// TestUnarySplitInvariant checks that every unary op gives each element the same bits however the slice is cut,
// as the runtime cuts tensors between threads: the whole of 1000 values against pieces of 1, 7, 16, 33 and 999.
func TestUnarySplitInvariant(t *testing.T) {
	x := make([]float32, 1000)
	for i := range x {
		x[i] = float32(i%97)*0.173 - 8.1 + float32(i)*1e-4
	}
	for _, l := range impls() {
		t.Run(l.String(), func(t *testing.T) {
			defer setImpl(l)()
			for op := unOp(0); op < numUnOps; op++ {
				whole := make([]float32, len(x))
				unary(op, whole, x, 0.2, 0.5)
				for _, cut := range []int{1, 7, 16, 33, 999} {
					got := make([]float32, len(x))
					for s := 0; s < len(x); s += cut {
						e := min(s+cut, len(x))
						unary(op, got[s:e], x[s:e], 0.2, 0.5)
					}
					for i := range got {
						if math.Float32bits(got[i]) != math.Float32bits(whole[i]) {
							t.Fatalf("op %d, pieces of %d: element %d is %v, %v from the whole slice", op, cut, i, got[i], whole[i])
						}
					}
				}
			}
		})
	}
}
