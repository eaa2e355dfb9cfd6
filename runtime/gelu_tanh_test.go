package runtime

import (
	"math"
	"testing"

	"github.com/hone-ml/hone/internal/irtest"
	"github.com/hone-ml/hone/ir"
)

// TestGeluTanhFused compiles GELU's tanh approximation as PyTorch exports it (x·x → ·x → ·0.044715 → x + · →
// ·√(2/π) → Tanh → + 1 → x·· → ·0.5), with every product's and sum's operands in one order and then in the other,
// with opt/fuse_gelu_tanh (one GeluTanh) and without it (nine ops), over 1500 values (blocks and a tail) including
// ±0, ±Inf, NaN and large magnitudes: the outputs must match bit for bit, and stay within float32 rounding of the
// float64 definition where that is finite.
func TestGeluTanhFused(t *testing.T) {
	x := geluInput(9, 3e12)
	xs := x.F32()
	const c1, c2 = 0.044715, 0.7978845608028654
	for _, swapped := range []bool{false, true} {
		b := irtest.New("gelu_tanh")
		in := b.Input("x", ir.Float32, 3, 500)
		op := func(name string, a, c string) string {
			if swapped {
				a, c = c, a
			}
			return b.Op(name, []string{a, c})
		}
		k := func(name string, v float32) string { return b.Init(name, ir.Scalar(v)) }
		cube := op("Mul", in, op("Mul", in, in))
		inner := op("Mul", k("c2", c2), op("Add", in, op("Mul", k("c1", c1), cube)))
		b.Output(op("Mul", op("Mul", in, op("Add", b.Op("Tanh", []string{inner}), k("one", 1))), k("half", 0.5)))
		m := b.Model(17)
		fused, ops := runGelu(t, m, x, nil)
		plain, plainOps := runGelu(t, m, x, []string{"fuse_gelu_tanh"})
		if ops[ir.OpGeluTanh] != 1 || ops["Tanh"] != 0 || plainOps[ir.OpGeluTanh] != 0 || plainOps["Tanh"] != 1 {
			t.Fatalf("swapped=%v: fused plan %v, unfused %v", swapped, ops, plainOps)
		}
		for i, v := range plain {
			if math.Float32bits(fused[i]) != math.Float32bits(v) && !(v != v && fused[i] != fused[i]) {
				t.Fatalf("swapped=%v: y[%d] (x = %v) = %v fused, %v unfused", swapped, i, xs[i], fused[i], v)
			}
			xv := float64(xs[i])
			want := geluTanhDef(xv)
			if !math.IsNaN(want) && !math.IsInf(want, 0) && math.Abs(float64(v)-want) > 1e-6*math.Max(1, math.Abs(xv)) {
				t.Errorf("y[%d] = %v, float64 definition %v", i, v, want)
			}
		}
	}
}

// TestGeluTanhONNX runs ONNX's own Gelu with approximate="tanh" (opset 20) on float32 through GeluTanh's blocked
// kernels: bit for bit what the fused PyTorch chain computes, and within float32 rounding of the float64 definition.
// The float64 path element by element, which it replaced, took 8.6–10× as long on [128, 512] (1 thread).
func TestGeluTanhONNX(t *testing.T) {
	x := geluInput(11, 3e12)
	b := irtest.New("gelu")
	in := b.Input("x", ir.Float32, 3, 500)
	b.Output(b.Op("Gelu", []string{in}, irtest.String("approximate", "tanh")))
	got, _ := runGelu(t, b.Model(20), x, nil)
	want := make([]float32, x.Len())
	tGeluTanh(want, x.F32(), 0.044715, float32(math.Sqrt(2/math.Pi)))
	for i, v := range got {
		xv := float64(x.F32()[i])
		def := geluTanhDef(xv)
		if math.Float32bits(v) != math.Float32bits(want[i]) && !(v != v && want[i] != want[i]) ||
			!math.IsNaN(def) && !math.IsInf(def, 0) && math.Abs(float64(v)-def) > 1e-6*math.Max(1, math.Abs(xv)) {
			t.Fatalf("y[%d] (x = %v) = %v; GeluTanh %v, float64 definition %v", i, xv, v, want[i], def)
		}
	}
}

// geluTanhDef is GELU's tanh approximation in float64, the reference both tests bound the float32 kernels by.
func geluTanhDef(x float64) float64 {
	return 0.5 * x * (1 + math.Tanh(math.Sqrt(2/math.Pi)*(x+0.044715*x*x*x)))
}
