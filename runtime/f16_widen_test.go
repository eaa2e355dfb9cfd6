package runtime

import (
	"math"
	"testing"

	"github.com/hone-ml/hone/internal/irtest"
	"github.com/hone-ml/hone/ir"
)

func halfTensor(shape []int, v []float32) *ir.Tensor {
	t := ir.New(ir.Float16, shape...)
	for i, x := range v {
		t.Bits16()[i] = ir.FloatToHalf(x)
	}
	return t
}

// TestWidenHalf compiles a float16 graph (MatMul with a float16 weight, Add of a float16 Constant, Relu, a Cast
// to float16) and checks the widened plan: no float16 initializer or Cast to float16 is left inside, the output
// is float16, and each value equals the float16 rounding of the exact result computed in float64 from the
// float16 inputs, within one float16 step (the float32 accumulation adds far less than that).
func TestWidenHalf(t *testing.T) {
	b := irtest.New("h")
	x := b.Input("x", ir.Float16, 3, 5)
	wv := irtest.Rand(1, 5, 4).F32()
	w := b.Init("w", halfTensor([]int{5, 4}, wv))
	cv := []float32{0.5, -0.25, 1.5, -3}
	c := b.Op("Constant", nil, irtest.TensorAttr("value", halfTensor([]int{4}, cv)))
	y := b.Op("Cast", []string{b.Op("Relu", []string{b.Op("Add", []string{b.Op("MatMul", []string{x, w}), c})})},
		irtest.Int("to", int64(ir.Float16)))
	b.Output(y)
	b.G.Outputs[0].Type = irtest.Type(ir.Float16, 3, 4)
	m := b.Model(17)
	xv := irtest.Rand(2, 3, 5).F32()
	p, err := Compile(m, Options{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	for name, init := range p.Graph.Initializers {
		if init.DType == ir.Float16 {
			t.Errorf("initializer %q is still float16 in the plan", name)
		}
	}
	casts := 0
	for _, n := range p.Graph.Nodes {
		if n.OpType == "Cast" && n.AttrInt("to", 0) == int64(ir.Float16) {
			casts++
		}
	}
	if casts != 1 {
		t.Errorf("%d Casts to float16 in the plan, want only the one before the output", casts)
	}
	out, err := p.Run(map[string]*ir.Tensor{"x": halfTensor([]int{3, 5}, xv)})
	if err != nil {
		t.Fatal(err)
	}
	got := out[y]
	if got.DType != ir.Float16 {
		t.Fatalf("output is %s, want float16", got.DType)
	}
	h := func(v float32) float64 { return float64(ir.HalfToFloat(ir.FloatToHalf(v))) }
	for i := 0; i < 3; i++ {
		for j := 0; j < 4; j++ {
			s := h(cv[j])
			for k := 0; k < 5; k++ {
				s += h(xv[i*5+k]) * h(wv[k*4+j])
			}
			want := h(float32(math.Max(s, 0)))
			g := float64(ir.HalfToFloat(got.Bits16()[i*4+j]))
			if step := math.Max(math.Abs(want), 6.1e-5) / 1024; math.Abs(g-want) > step {
				t.Errorf("y[%d,%d] = %g, want %g", i, j, g, want)
			}
		}
	}
}

// TestWidenHalfLeavesOthers checks that graphs without float16 and graphs with subgraphs are left as they are.
func TestWidenHalfLeavesOthers(t *testing.T) {
	b := irtest.New("f")
	b.Output(b.Op("Relu", []string{b.Input("x", ir.Float32, 2)}))
	if widenHalf(b.G, map[string]int64{"": 17}) {
		t.Error("a float32 graph was rewritten")
	}
	body := irtest.New("body")
	body.Output(body.Op("Identity", []string{body.Init("k", halfTensor([]int{1}, []float32{1}))}))
	b = irtest.New("s")
	cond := b.Input("c", ir.Bool)
	b.Output(b.Op("If", []string{cond}, irtest.GraphAttr("then_branch", body.G), irtest.GraphAttr("else_branch", body.G)),
		b.Op("Relu", []string{b.Input("x", ir.Float16, 2)}))
	if widenHalf(b.G, map[string]int64{"": 17}) || b.G.Inputs[1].Type.DType != ir.Float16 {
		t.Error("a graph with subgraphs was rewritten")
	}
}
