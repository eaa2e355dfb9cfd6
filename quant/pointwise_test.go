package quant

import (
	"maps"
	"math"
	"strings"
	"testing"

	"github.com/hone-ml/hone/internal/irtest"
	"github.com/hone-ml/hone/ir"
)

// hardSwishGraph builds Conv → x·Clip(x+3, 0, 6)/6 → Conv, PP-OCR's spelled-out HardSwish between two convs, and
// a residual Add of the second Conv and the HardSwish (a node of two tensors, which must stay quantized).
func hardSwishGraph() *ir.Model {
	b := irtest.New("hs")
	x := b.Input("x", ir.Float32, 1, 2, 4, 4)
	c1 := b.Op("Conv", []string{x, b.Init("w1", irtest.Rand(1, 2, 2, 1, 1)), b.Init("b1", irtest.Rand(2, 2))})
	a := b.Op("Add", []string{c1, b.Init("three", ir.Scalar(3))})
	cl := b.Op("Clip", []string{a, b.Init("zero", ir.Scalar(0)), b.Init("six", ir.Scalar(6))})
	m := b.Op("Mul", []string{c1, cl})
	hs := b.Op("Div", []string{m, b.Init("sixd", ir.Scalar(6))})
	c2 := b.Op("Conv", []string{hs, b.Init("w2", irtest.Rand(3, 2, 2, 1, 1)), b.Init("b2", irtest.Rand(4, 2))})
	b.Output(b.Op("Add", []string{c2, hs}))
	return b.Model(13)
}

// TestPointwiseSources checks that the HardSwish chain maps to the Conv output it reads and the residual Add
// (two different tensors) to nothing.
func TestPointwiseSources(t *testing.T) {
	g := hardSwishGraph().Graph
	src := pointwiseSources(g, g.Producers())
	conv := g.Nodes[0].Outputs[0]
	for _, n := range g.Nodes[1:5] {
		if src[n.Outputs[0]] != conv {
			t.Errorf("%s: source %q, want %q", n, src[n.Outputs[0]], conv)
		}
	}
	if last := g.Nodes[len(g.Nodes)-1]; src[last.Outputs[0]] != "" {
		t.Errorf("residual %s: source %q, want none", last, src[last.Outputs[0]])
	}
}

// TestFlatRange checks that a HardSwish input's range is narrowed to [−3, hi] (HardSwish is 0 below −3), that a
// range inside the non-flat part is kept, and that a region with a per-channel constant is left alone.
func TestFlatRange(t *testing.T) {
	g := hardSwishGraph().Graph
	prod, cons := g.Producers(), g.Consumers()
	src := pointwiseSources(g, prod)
	conv := g.Nodes[0].Outputs[0]
	cases := []struct {
		lo, hi, wantLo, wantHi float32
	}{
		{-20, 10, -3, 10},
		{-2, 5, -2, 5},
		{-20, -5, -20, -5}, // flat throughout: unchanged
	}
	for _, c := range cases {
		lo, hi := flatRange(g, prod, cons, src, conv, c.lo, c.hi)
		if math.Abs(float64(lo-c.wantLo)) > 0.01 || math.Abs(float64(hi-c.wantHi)) > 0.01 {
			t.Errorf("[%g, %g]: got [%g, %g], want [%g, %g]", c.lo, c.hi, lo, hi, c.wantLo, c.wantHi)
		}
	}
	g.Initializers["three"] = ir.FromFloat32([]int{1, 2, 1, 1}, []float32{3, 3})
	if lo, hi := flatRange(g, prod, cons, src, conv, -20, 10); lo != -20 || hi != 10 {
		t.Errorf("per-channel constant: got [%g, %g], want the range unchanged", lo, hi)
	}
}

// TestStaticPointwise quantizes the HardSwish graph: the Add and Mul of the HardSwish chain stay float (no Q/DQ
// inside it), the residual Add is quantized, the first Conv's output gets its own Q/DQ with a range starting at
// −3, and the result matches the float model closely.
func TestStaticPointwise(t *testing.T) {
	m := hardSwishGraph()
	data := BatchSamples{"x": irtest.RandPos(9, -10, 10, 8, 2, 4, 4)} // Conv outputs well below −3
	q, rep, err := Static(m, data, StaticConfig{})
	if err != nil {
		t.Fatal(err)
	}
	ops := map[string]int{}
	for _, s := range rep.Quantized {
		ops[s[strings.LastIndexByte(s, '(')+1:len(s)-1]]++
	}
	if want := map[string]int{"Conv": 2, "Add": 1}; !maps.Equal(ops, want) {
		t.Errorf("quantized %v: want the two Convs and the residual Add", rep.Quantized)
	}
	// The first Conv's output is quantized once, with its range narrowed to HardSwish's non-flat part.
	qg := q.Graph
	prod := qg.Producers()
	found := false
	for _, n := range qg.Nodes {
		if n.OpType != "QuantizeLinear" || prod[n.Inputs[0]] == nil || prod[n.Inputs[0]].OpType != "Conv" ||
			prod[n.Inputs[0]].Name != m.Graph.Nodes[0].Name {
			continue
		}
		s, zp := qg.Initializers[n.Inputs[1]].F32()[0], qg.Initializers[n.Inputs[2]].I8()[0]
		if lo := float32(-128-int(zp)) * s; lo < -3.05 || lo > -2.5 {
			t.Errorf("first Conv's output range starts at %g, want −3", lo)
		}
		found = true
	}
	if !found {
		t.Errorf("no QuantizeLinear on the first Conv's output")
	}
	for _, n := range qg.Nodes {
		if n.OpType == "QuantizeLinear" && prod[n.Inputs[0]] != nil && (prod[n.Inputs[0]].OpType == "Add" && prod[n.Inputs[0]].Inputs[1] == "three") {
			t.Errorf("x+3 inside HardSwish is quantized")
		}
	}
	in := map[string]*ir.Tensor{"x": irtest.RandPos(10, -10, 10, 1, 2, 4, 4)}
	want, got := runHone(t, m, in), runHone(t, q, in)
	for name, w := range want {
		if a := compare(w, got[name]); a.SQNR < 25 {
			t.Errorf("%s: SQNR %.1f dB against the float output", name, a.SQNR)
		}
	}
}

// TestStaticRegionFloatExit: a region whose result nothing quantizes — Conv → Sigmoid as the graph's output (a
// detector's probability head), Conv → Relu read by a float Softmax — leaves its source Conv's output float, as
// quantizing it would only round the model's output; a region read by a quantized Conv still gets its source's
// Q/DQ pair. The outputs must stay within 30 dB SQNR of the float model's.
func TestStaticRegionFloatExit(t *testing.T) {
	b := irtest.New("heads")
	x := b.Input("x", ir.Float32, 1, 4, 6, 6)
	conv := func(in, w string, seed int64) string {
		return b.Op("Conv", []string{in, b.Init(w, irtest.Rand(seed, 4, 4, 1, 1))})
	}
	c1 := conv(x, "w1", 1)
	probs := b.Op("Sigmoid", []string{c1})
	c2 := conv(x, "w2", 2)
	soft := b.Op("Softmax", []string{b.Op("Relu", []string{c2})}, irtest.Int("axis", 1))
	c3 := conv(x, "w3", 3)
	c4 := conv(b.Op("Relu", []string{c3}), "w4", 4)
	b.Output(probs, soft, c4)
	m := b.Model(13)
	q, _, err := Static(m, BatchSamples{"x": irtest.Rand(5, 4, 4, 6, 6)}, StaticConfig{})
	if err != nil {
		t.Fatal(err)
	}
	prod := q.Graph.Producers()
	quantized := map[string]bool{}
	for _, n := range q.Graph.Nodes {
		if p := prod[n.Input(0)]; n.OpType == "QuantizeLinear" && p != nil && p.OpType == "Conv" {
			quantized[p.Name] = true
		}
	}
	names := func(i int) string { return m.Graph.Nodes[i].Name }
	if quantized[names(0)] || quantized[names(2)] || !quantized[names(5)] {
		t.Errorf("Conv outputs quantized: %v; want only the one a quantized Conv reads (%s)", quantized, names(5))
	}
	in := map[string]*ir.Tensor{"x": irtest.Rand(6, 1, 4, 6, 6)}
	want, got := runHone(t, m, in), runHone(t, q, in)
	for name, w := range want {
		if a := compare(w, got[name]); a.SQNR < 30 {
			t.Errorf("%s: SQNR %.1f dB against the float output", name, a.SQNR)
		}
	}
}
