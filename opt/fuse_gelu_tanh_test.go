package opt

import (
	"testing"

	"github.com/hone-ml/hone/internal/irtest"
	"github.com/hone-ml/hone/ir"
)

// TestFuseGeluTanh checks that PyTorch's tanh GELU chain becomes one GeluTanh carrying the graph's two
// coefficients, and that chains computing something else stay: another constant where 1 or 0.5 belongs, a
// square of two different tensors, and an intermediate value read elsewhere.
func TestFuseGeluTanh(t *testing.T) {
	type variant struct {
		one, half  float32
		otherSq    bool // x·y in place of x·x
		tanhOutput bool // the Tanh's result is also a graph output
	}
	for _, c := range []struct {
		name  string
		v     variant
		fused bool
	}{
		{"canonical", variant{1, 0.5, false, false}, true},
		{"+ 2", variant{2, 0.5, false, false}, false},
		{"· 0.4", variant{1, 0.4, false, false}, false},
		{"x·y", variant{1, 0.5, true, false}, false},
		{"tanh read twice", variant{1, 0.5, false, true}, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			b := irtest.New("gelu_tanh")
			x := b.Input("x", ir.Float32, 2, 8)
			sq := b.Op("Mul", []string{x, x})
			if c.v.otherSq {
				sq = b.Op("Mul", []string{x, b.Input("y", ir.Float32, 2, 8)})
			}
			cube := b.Op("Mul", []string{x, sq})
			inner := b.Op("Mul", []string{b.Op("Add", []string{x, b.Op("Mul", []string{cube, b.Init("c1", ir.Scalar(0.044715))})}),
				b.Init("c2", ir.Scalar(0.7978846))})
			th := b.Op("Tanh", []string{inner})
			b.Output(b.Op("Mul", []string{b.Op("Mul", []string{x, b.Op("Add", []string{th, b.Init("one", ir.Scalar(c.v.one))})}),
				b.Init("half", ir.Scalar(c.v.half))}))
			if c.v.tanhOutput {
				b.Output(th)
			}
			g := b.G
			if err := ir.InferGraph(g, map[string]int64{"": 17}); err != nil {
				t.Fatal(err)
			}
			n, err := runPass(g, map[string]int64{"": 17}, nil, fuseGeluTanh)
			if err != nil {
				t.Fatal(err)
			}
			ops := irtest.OpCount(g)
			if fused := n == 1 && ops[ir.OpGeluTanh] == 1 && len(g.Nodes) == 1; fused != c.fused || !c.fused && n != 0 {
				t.Fatalf("rewrites %d, ops %v: want fused=%v", n, ops, c.fused)
			}
			if err := g.Validate(); err != nil {
				t.Error(err)
			}
			if c.fused {
				k := g.Nodes[0].AttrFloats("coefficients", nil)
				if g.Nodes[0].Inputs[0] != x || len(k) != 2 || k[0] != 0.044715 || k[1] != 0.7978846 {
					t.Errorf("input %v, coefficients %v", g.Nodes[0].Inputs, k)
				}
			}
		})
	}
}
