package quant

import (
	"path/filepath"
	"slices"
	"testing"

	"github.com/hone-ml/hone/internal/irtest"
	"github.com/hone-ml/hone/ir"
	"github.com/hone-ml/hone/onnx"
)

// TestCompact checks that compact merges duplicate constants, drops Conv attributes equal to their defaults and
// renames internal values, while the graph computes the same bytes, keeps its input and output names, node names,
// non-default attributes and the outer values a subgraph reads; the result must pass the ONNX checker.
func TestCompact(t *testing.T) {
	b := irtest.New("m")
	x := b.Input("image_input", ir.Float32, 1, 2, 5, 5)
	cond := b.Input("use_then", ir.Bool)
	w := b.Init("conv_weight_long_name", irtest.Rand(1, 3, 2, 3, 3))
	c := b.Op("Conv", []string{x, w}, irtest.Ints("dilations", 1, 1), irtest.Ints("strides", 2, 2),
		irtest.Ints("pads", 0, 0, 0, 0), irtest.Int("group", 1))
	three1 := b.Init("p2o.helper.constant.1", ir.Scalar(3))
	three2 := b.Init("p2o.helper.constant.2", ir.Scalar(3))
	six := b.Init("p2o.helper.constant.3", ir.Scalar(6))
	a := b.Op("Add", []string{c, three1})
	m1 := b.Op("Mul", []string{a, three2})
	captured := b.Op("Div", []string{m1, six})
	// The branches read captured from the outer graph, so it must keep its name.
	then := irtest.New("then")
	then.Output(then.Op("Relu", []string{captured}))
	els := irtest.New("else")
	els.Output(els.Op("Neg", []string{captured}))
	y := b.Op("If", []string{cond}, irtest.GraphAttr("then_branch", then.G), irtest.GraphAttr("else_branch", els.G))
	b.Output(y, m1)
	// The checker wants every graph output typed (irtest leaves them open).
	for _, g := range []*ir.Graph{b.G, then.G, els.G} {
		for _, o := range g.Outputs {
			o.Type = irtest.Type(ir.Float32, 1, 3, 2, 2)
		}
	}
	m := b.Model(13)
	for i, n := range m.Graph.Nodes {
		n.Name = "node" + string(rune('A'+i))
	}
	tr := ir.New(ir.Bool)
	tr.BoolData()[0] = true
	in := map[string]*ir.Tensor{x: irtest.Rand(2, 1, 2, 5, 5), cond: tr}
	want := run(t, m, in)
	inits := len(m.Graph.Initializers)

	compact(m.Graph)
	if err := m.Graph.Validate(); err != nil {
		t.Fatal(err)
	}
	g := m.Graph
	if len(g.Initializers) != inits-1 {
		t.Errorf("%d initializers, want %d (the two equal scalars merged)", len(g.Initializers), inits-1)
	}
	for i, n := range g.Nodes {
		if n.Name != "node"+string(rune('A'+i)) {
			t.Errorf("node %d renamed to %q", i, n.Name)
		}
		if n.OpType == "Conv" && (len(n.Attrs) != 1 || n.Attrs[0].Name != "strides") {
			t.Errorf("Conv attributes %v, want only strides", n.Attrs)
		}
		for _, v := range append(append([]string{}, n.Inputs...), n.Outputs...) {
			if v != x && v != cond && v != y && v != m1 && v != captured && len(v) > 1 {
				t.Errorf("value %q of %s not shortened", v, n)
			}
		}
	}
	if g.Producers()[captured] == nil {
		t.Errorf("value %q read by the If branches was renamed", captured)
	}
	got := run(t, m, in)
	for _, name := range []string{y, m1} {
		if got[name] == nil || string(got[name].Bytes()) != string(want[name].Bytes()) {
			t.Errorf("output %q changed: %v vs %v", name, got[name], want[name])
		}
	}
	p := filepath.Join(t.TempDir(), "c.onnx")
	if err := onnx.Save(m, p); err != nil {
		t.Fatal(err)
	}
	onnxCheck(t, p)
}

// TestShortName checks that the name sequence has no repeats and never starts with a digit.
func TestShortName(t *testing.T) {
	seen := map[string]bool{}
	for i := range 20000 {
		s := shortName(i)
		if seen[s] || s[0] >= '0' && s[0] <= '9' {
			t.Fatalf("shortName(%d) = %q repeats or starts with a digit", i, s)
		}
		seen[s] = true
	}
	if shortName(0) != "a" || shortName(52) != "aa" || len(shortName(52+52*62-1)) != 2 || len(shortName(52+52*62)) != 3 {
		t.Errorf("names not shortest-first: %q %q %q %q", shortName(0), shortName(52), shortName(52+52*62-1), shortName(52+52*62))
	}
}

// TestHalfScales checks the float16 storage rule for weight scales: each stored scale is the nearest float16 in
// float16's normal range and the smallest float16 not below it under that range, and a tensor stays float32 when
// it is short, has a scale outside float16's range, or has a channel whose scale float16 would move by more than
// 2⁻⁸ unless that channel is negligible beside the tensor's largest.
func TestHalfScales(t *testing.T) {
	fill := func(v ...float32) []float32 { // v, then 0.01 up to minNarrow values
		for len(v) < minNarrow {
			v = append(v, 0.01)
		}
		return v
	}
	for _, c := range []struct {
		name string
		in   []float32
		ok   bool
	}{
		{"normal range", fill(0.0123, 3.1e-4, 0.5), true},
		{"dead channel", fill(1e-37, 2e-12), true}, // ≤ 2⁻¹² of the largest (0.01)
		{"small layer", []float32{5e-7, 5.1e-7, 4.8e-7, 6e-7, 5e-7, 5e-7, 5e-7, 5e-7, 5e-7, 5e-7, 5e-7, 5e-7, 5e-7, 5e-7, 5e-7, 5e-7}, false},
		{"subnormal but not negligible", fill(4.9e-6), false},
		{"too few", []float32{0.1, 0.2}, false},
		{"overflow", fill(7e4), false},
		{"zero", fill(0), false},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := slices.Clone(c.in)
			h := halfScales(s)
			if (h != nil) != c.ok {
				t.Fatalf("halfScales = %v, want ok %v", h, c.ok)
			}
			if h == nil {
				if !slices.Equal(s, c.in) {
					t.Errorf("scales changed on refusal: %v", s)
				}
				return
			}
			for i, x := range c.in {
				b := h.Bits16()[i]
				got := ir.HalfToFloat(b)
				want := ir.HalfToFloat(ir.FloatToHalf(x)) // nearest
				if x < 1.0/16384 {                        // below the normal range: the smallest float16 ≥ x
					want = got
					if got < x || (b > 0 && ir.HalfToFloat(b-1) >= x) {
						want = -1
					}
				}
				if got != s[i] || got != want {
					t.Errorf("scale %g stored as %g (returned %g), want %g", x, got, s[i], want)
				}
			}
		})
	}
}

// TestNarrowInts checks that a quantized bias is stored as int8 or int16 only when every value fits, and that the
// narrow values are the int32 ones.
func TestNarrowInts(t *testing.T) {
	vals := func(v ...int32) *ir.Tensor {
		for len(v) < minNarrow {
			v = append(v, 0)
		}
		return ir.FromInt32([]int{len(v)}, v)
	}
	for _, c := range []struct {
		name string
		in   *ir.Tensor
		want ir.DType // Undefined: stays int32
	}{
		{"int8", vals(-128, 127, 5), ir.Int8},
		{"int16", vals(-129, 32767, -32768), ir.Int16},
		{"int32", vals(32768, 1), ir.Undefined},
		{"int32 min", vals(-2147483648), ir.Undefined},
		{"too few", ir.FromInt32([]int{2}, []int32{1, 2}), ir.Undefined},
	} {
		t.Run(c.name, func(t *testing.T) {
			n := narrowInts(c.in)
			if c.want == ir.Undefined {
				if n != nil {
					t.Errorf("narrowed to %s", n.DType)
				}
				return
			}
			if n == nil || n.DType != c.want {
				t.Fatalf("narrowInts = %v, want %s", n, c.want)
			}
			for i, v := range c.in.I32() {
				got := int32(0)
				if n.DType == ir.Int8 {
					got = int32(n.I8()[i])
				} else {
					got = int32(n.I16()[i])
				}
				if got != v {
					t.Errorf("[%d] = %d, want %d", i, got, v)
				}
			}
		})
	}
}

// TestDropDefaultAttrs checks that compact drops attributes equal to their ONNX defaults and a kernel_shape equal
// to the weight's (also behind a DequantizeLinear), keeps the others, and that the graph computes the same bytes.
func TestDropDefaultAttrs(t *testing.T) {
	b := irtest.New("m")
	x := b.Input("x", ir.Float32, 1, 2, 4, 4)
	wq := ir.New(ir.Int8, 3, 2, 3, 3)
	for i := range wq.I8() {
		wq.I8()[i] = int8(i%7 - 3)
	}
	w := b.Op("DequantizeLinear", []string{b.Init("wq", wq), b.Init("ws", ir.Scalar(0.05))})
	c := b.Op("Conv", []string{x, w}, irtest.Ints("kernel_shape", 3, 3), irtest.Ints("pads", 1, 1, 1, 1))
	h := b.Op("HardSigmoid", []string{c}, irtest.Float("alpha", 0.2), irtest.Float("beta", 0.5))
	h2 := b.Op("HardSigmoid", []string{h}, irtest.Float("alpha", 1.0/6), irtest.Float("beta", 0.5))
	ct := b.Op("ConvTranspose", []string{h2, b.Init("wt", irtest.Rand(2, 3, 2, 2, 2))}, irtest.Ints("kernel_shape", 2, 2),
		irtest.Ints("strides", 2, 2), irtest.Ints("dilations", 1, 1), irtest.Ints("pads", 0, 0, 0, 0), irtest.Int("group", 1))
	r := b.Op("Resize", []string{ct, "", b.Init("sc", ir.FromFloat32([]int{4}, []float32{1, 1, 2, 2}))},
		irtest.String("mode", "nearest"), irtest.String("coordinate_transformation_mode", "asymmetric"),
		irtest.String("nearest_mode", "floor"))
	b.Output(r)
	b.G.Outputs[0].Type = irtest.Type(ir.Float32, 1, 2, 16, 16)
	m := b.Model(13)
	in := map[string]*ir.Tensor{x: irtest.Rand(3, 1, 2, 4, 4)}
	want := run(t, m, in)
	compact(m.Graph)
	wantAttrs := map[string][]string{"Conv": {"pads"}, "HardSigmoid": {"alpha"}, "ConvTranspose": {"strides"},
		"Resize": {"coordinate_transformation_mode", "nearest_mode"}}
	for _, n := range m.Graph.Nodes {
		var names []string
		for _, a := range n.Attrs {
			names = append(names, a.Name)
		}
		if n.OpType == "HardSigmoid" && len(names) == 0 {
			continue // the first one: both attributes are defaults
		}
		if w, ok := wantAttrs[n.OpType]; ok && !slices.Equal(names, w) {
			t.Errorf("%s keeps %v, want %v", n.OpType, names, w)
		}
	}
	got := run(t, m, in)
	if string(got[r].Bytes()) != string(want[r].Bytes()) {
		t.Errorf("output changed")
	}
	p := filepath.Join(t.TempDir(), "c.onnx")
	if err := onnx.Save(m, p); err != nil {
		t.Fatal(err)
	}
	onnxCheck(t, p)
}
