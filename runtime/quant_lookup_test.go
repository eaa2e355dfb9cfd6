package runtime

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/hone-ml/hone/internal/irtest"
	"github.com/hone-ml/hone/ir"
)

// qdqHardSwishModel is PP-OCR's quantized HardSwish as hone's static quantizer writes it: x → Q → DQ → Add 3 →
// Clip [0, 6] → Q → DQ → Mul by the DQ'd input → Div 6 → Q, then DQ → Add shift → Q (a folded bias), ending in
// a float output through a last DQ. With twoSources the Mul reads a second quantized input instead, which no
// byte table can express.
func qdqHardSwishModel(twoSources bool) *ir.Model {
	b := irtest.New("qdq_hardswish")
	x := b.Input("x", ir.Float32, 2, 3, 5, 7)
	s1, z1 := b.Init("s1", ir.Scalar(0.043)), b.Init("z1", qInt8Scalar(-9))
	s2, z2 := b.Init("s2", ir.Scalar(6.0/255)), b.Init("z2", qInt8Scalar(-128))
	s3, z3 := b.Init("s3", ir.Scalar(0.031)), b.Init("z3", qInt8Scalar(-40))
	s4, z4 := b.Init("s4", ir.Scalar(0.037)), b.Init("z4", qInt8Scalar(3))
	c3, c0, c6 := b.Init("c3", ir.FromFloat32([]int{1}, []float32{3})), b.Init("c0", ir.Scalar(0)), b.Init("c6", ir.Scalar(6))
	shift := b.Init("shift", ir.FromFloat32([]int{1}, []float32{0.27}))
	d1 := b.Op("DequantizeLinear", []string{b.Op("QuantizeLinear", []string{x, s1, z1}), s1, z1})
	gate := b.Op("Clip", []string{b.Op("Add", []string{d1, c3}), c0, c6})
	g := b.Op("DequantizeLinear", []string{b.Op("QuantizeLinear", []string{gate, s2, z2}), s2, z2})
	other := d1
	if twoSources {
		x2 := b.Input("x2", ir.Float32, 2, 3, 5, 7)
		other = b.Op("DequantizeLinear", []string{b.Op("QuantizeLinear", []string{x2, s1, z1}), s1, z1})
	}
	hs := b.Op("Div", []string{b.Op("Mul", []string{other, g}), c6})
	h := b.Op("DequantizeLinear", []string{b.Op("QuantizeLinear", []string{hs, s3, z3}), s3, z3})
	y := b.Op("QuantizeLinear", []string{b.Op("Add", []string{h, shift}), s4, z4})
	b.Output(b.Op("DequantizeLinear", []string{y, s4, z4}))
	return b.Model(13)
}

func qInt8Scalar(v int8) *ir.Tensor {
	t := ir.New(ir.Int8)
	t.I8()[0] = v
	return t
}

// TestQLookupFusionExact compiles the quantized HardSwish with and without the optimizer: the fused graph must
// hold one QLookup and no float elementwise op, and its output must equal the op-by-op QDQ simulation bit for
// bit on inputs covering every integer of the input scale (plus halves, which land on rounding ties). With two
// quantized sources the rewrite must not fire.
func TestQLookupFusionExact(t *testing.T) {
	for _, two := range []bool{false, true} {
		m := qdqHardSwishModel(two)
		sim, fused := qCompileBoth(t, m, 1, 1)
		ops := irtest.OpCount(fused.Graph)
		if want := !two; (ops["QLookup"] == 1 && ops["Mul"] == 0 && ops["Clip"] == 0 && ops["Div"] == 0) != want {
			t.Fatalf("two sources %v: compiled ops %v; want fused=%v", two, ops, want)
		}
		r := rand.New(rand.NewPCG(3, 3))
		feeds := map[string]*ir.Tensor{}
		for _, name := range []string{"x", "x2"} {
			v := make([]float32, 2*3*5*7)
			for i := range v {
				v[i] = float32(float64(r.IntN(600)-300)*0.5*0.043) + float32(r.NormFloat64()*1e-3*float64(i%2))
			}
			v[0], v[1] = float32(math.Inf(1)), float32(math.NaN())
			feeds[name] = ir.FromFloat32([]int{2, 3, 5, 7}, v)
		}
		if !two {
			delete(feeds, "x2")
		}
		want, got := qRunBoth(t, sim, fused, feeds)
		for name, w := range want {
			wf, gf := w.F32(), got[name].F32()
			for i := range wf {
				if math.Float32bits(wf[i]) != math.Float32bits(gf[i]) {
					t.Fatalf("two sources %v: element %d = %g, simulation %g", two, i, gf[i], wf[i])
				}
			}
		}
	}
}

// TestQLookupConstantFirst checks the lookup fusion of PP-OCR's learnable affine block, DQ → Mul(scale, x) →
// Add(x, bias) → Q, whose constant comes first and has shape [1]: one QLookup, equal to the chain on every byte.
func TestQLookupConstantFirst(t *testing.T) {
	b := irtest.New("affine")
	x := b.Input("x", ir.Int8, 1, 2, 16, 8)
	s, z := b.Init("s", ir.Scalar(0.031)), b.Init("z", qInt8Scalar(3))
	d := b.Op("DequantizeLinear", []string{x, s, z})
	m := b.Op("Mul", []string{b.Init("a", ir.FromFloat32([]int{1}, []float32{0.77})), d})
	a := b.Op("Add", []string{m, b.Init("c", ir.FromFloat32([]int{1}, []float32{-0.21}))})
	b.Output(b.Op("QuantizeLinear", []string{a, b.Init("ys", ir.Scalar(0.027)), z}))
	model := &ir.Model{Graph: b.G, Opsets: []ir.OpsetImport{{Domain: "", Version: 13}}}
	xt := ir.New(ir.Int8, 1, 2, 16, 8)
	for i := range xt.I8() {
		xt.I8()[i] = int8(i) // every byte once
	}
	feeds := map[string]*ir.Tensor{"x": xt}
	sim, fused := qCompileBoth(t, model, 1, 1)
	if ops := irtest.OpCount(fused.Graph); ops["QLookup"] != 1 || ops["Mul"] != 0 || ops["DequantizeLinear"] != 0 {
		t.Fatalf("compiled ops %v", ops)
	}
	want, got := qRunBoth(t, sim, fused, feeds)
	name := b.G.Outputs[0].Name
	if fmt.Sprint(got[name].Float64s()) != fmt.Sprint(want[name].Float64s()) {
		t.Fatalf("fused %v, chain %v", got[name].Float64s(), want[name].Float64s())
	}
}

// TestQLookupFloatFusion compiles DQ → per-channel Add → Sub scalar (constant first) → per-channel Mul →
// BatchNormalization → Relu with and without the optimizer, for int8 and uint8 data over two images: the fused
// plan must hold one per-channel float QLookup and no float op, and agree with the op-by-op chain within a few
// ulps (its table is computed in float32 the same way, bar the fused multiply-adds).
func TestQLookupFloatFusion(t *testing.T) {
	for _, dt := range []ir.DType{ir.Int8, ir.Uint8} {
		t.Run(dt.String(), func(t *testing.T) {
			b := irtest.New("qdq_lookup_float")
			x := b.Input("x", ir.Float32, 2, 4, 5, 7)
			s, z := b.Init("s", ir.Scalar(0.043)), b.Init("z", ir.New(dt))
			d := b.Op("DequantizeLinear", []string{b.Op("QuantizeLinear", []string{x, s, z}), s, z})
			a := b.Op("Add", []string{d, b.Init("k", irtest.Rand(1, 1, 4, 1, 1))})
			sub := b.Op("Sub", []string{b.Init("c", ir.Scalar(0.3)), a})
			mul := b.Op("Mul", []string{sub, b.Init("m", irtest.Rand(2, 4, 1, 1))})
			norm := b.Op("BatchNormalization", []string{mul, b.Init("g", irtest.Rand(3, 4)), b.Init("beta", irtest.Rand(4, 4)),
				b.Init("mean", irtest.Rand(5, 4)), b.Init("var", irtest.RandPos(6, 0.5, 2, 4))}, irtest.Float("epsilon", 1e-3))
			b.Output(b.Op("Relu", []string{norm}))
			m := b.Model(13)
			sim, fused := qCompileBoth(t, m, 2, 2)
			ops := irtest.OpCount(fused.Graph)
			if ops["QLookup"] != 1 || ops["DequantizeLinear"]+ops["Add"]+ops["Sub"]+ops["Mul"]+ops["BatchNormalization"]+ops["Relu"] != 0 {
				t.Fatalf("compiled ops %v, want one QLookup and no float op", ops)
			}
			r := rand.New(rand.NewPCG(5, 5))
			v := make([]float32, 2*4*5*7)
			for i := range v {
				v[i] = float32(r.IntN(300)-150) * 0.043
			}
			feeds := map[string]*ir.Tensor{"x": ir.FromFloat32([]int{2, 4, 5, 7}, v)}
			for run := 0; run < 2; run++ { // the second run sees recycled arena buffers
				want, got := qRunBoth(t, sim, fused, feeds)
				for name, w := range want {
					wf, gf := w.F32(), got[name].F32()
					for i := range wf {
						if d := math.Abs(float64(wf[i] - gf[i])); d > 1e-5*max(1, math.Abs(float64(wf[i]))) {
							t.Fatalf("element %d = %g, chain %g", i, gf[i], wf[i])
						}
					}
				}
			}
		})
	}
}

// TestQLookupFloatErrors checks that a per-channel float table that does not match the input's channels is an
// error naming the shapes, not a panic.
func TestQLookupFloatErrors(t *testing.T) {
	k, err := qBuildLookup(nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx := &Ctx{}
	for _, c := range []struct {
		x, table *ir.Tensor
	}{
		{ir.New(ir.Int8, 1, 3, 2, 2), ir.New(ir.Float32, 4, 256)},
		{ir.New(ir.Int8, 6), ir.New(ir.Float32, 6, 256)},
		{ir.New(ir.Uint8, 1, 3, 2), ir.New(ir.Float32, 3, 255)},
	} {
		if _, err := k.Run(ctx, []*ir.Tensor{c.x, c.table}); err == nil {
			t.Errorf("x %v, table %v: no error", c.x.Shape, c.table.Shape)
		}
	}
}

// TestQLookupTranscendental compiles regions of one int8 tensor through ops the lookup takes from the runtime's own
// kernels (opt's Evaluator): GELU's tanh form with Pow (GPT-2), its erf form, and Swish's x·sigmoid(x). Each must
// become one QLookup with no float op left and equal the op-by-op plan bit for bit on every byte, in a tensor
// whose length (273) leaves a vector tail.
func TestQLookupTranscendental(t *testing.T) {
	gelTanh := func(b *irtest.Builder, x string) string {
		c := func(name string, v float32) string { return b.Init(name, ir.Scalar(v)) }
		cube := b.Op("Pow", []string{x, c("three", 3)})
		inner := b.Op("Add", []string{x, b.Op("Mul", []string{cube, c("k", 0.044715)})})
		th := b.Op("Tanh", []string{b.Op("Mul", []string{inner, c("r", 0.7978846)})})
		return b.Op("Mul", []string{b.Op("Mul", []string{x, b.Op("Add", []string{th, c("one", 1)})}), c("half", 0.5)})
	}
	gelErf := func(b *irtest.Builder, x string) string {
		e := b.Op("Erf", []string{b.Op("Div", []string{x, b.Init("sqrt2", ir.Scalar(1.4142135))})})
		return b.Op("Mul", []string{b.Op("Mul", []string{x, b.Op("Add", []string{e, b.Init("one", ir.Scalar(1))})}), b.Init("half", ir.Scalar(0.5))})
	}
	swish := func(b *irtest.Builder, x string) string {
		return b.Op("Mul", []string{x, b.Op("Sigmoid", []string{x})})
	}
	for name, region := range map[string]func(*irtest.Builder, string) string{"gelu-tanh": gelTanh, "gelu-erf": gelErf, "swish": swish} {
		t.Run(name, func(t *testing.T) {
			b := irtest.New(name)
			x := b.Input("x", ir.Int8, 1, 3, 13, 7)
			s, z := b.Init("s", ir.Scalar(0.047)), b.Init("z", qInt8Scalar(-11))
			y := region(b, b.Op("DequantizeLinear", []string{x, s, z}))
			b.Output(b.Op("QuantizeLinear", []string{y, b.Init("ys", ir.Scalar(0.029)), b.Init("yz", qInt8Scalar(-40))}))
			model := &ir.Model{Graph: b.G, Opsets: []ir.OpsetImport{{Domain: "", Version: 13}}}
			xt := ir.New(ir.Int8, 1, 3, 13, 7)
			for i := range xt.I8() {
				xt.I8()[i] = int8(i * 7) // every byte
			}
			sim, fused := qCompileBoth(t, model, 1, 1)
			if ops := irtest.OpCount(fused.Graph); ops["QLookup"] != 1 || len(ops) != 1 {
				t.Fatalf("compiled ops %v, want one QLookup", ops)
			}
			want, got := qRunBoth(t, sim, fused, map[string]*ir.Tensor{"x": xt})
			out := b.G.Outputs[0].Name
			if fmt.Sprint(got[out].Float64s()) != fmt.Sprint(want[out].Float64s()) {
				t.Fatalf("fused %v\nchain %v", got[out].Float64s(), want[out].Float64s())
			}
		})
	}
}
