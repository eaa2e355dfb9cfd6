package quant

import (
	"path/filepath"
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
