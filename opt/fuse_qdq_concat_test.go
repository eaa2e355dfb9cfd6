package opt

import (
	"testing"

	"github.com/hone-ml/hone/internal/irtest"
	"github.com/hone-ml/hone/ir"
)

// TestFuseQDQConcat checks DQ(a), DQ(b) → Concat → Q becoming QLinearConcat with the axis kept, and that a Concat
// with a float input is left alone.
func TestFuseQDQConcat(t *testing.T) {
	for _, c := range []struct {
		name       string
		floatInput bool
		fused      bool
	}{{"fused", false, true}, {"float input", true, false}} {
		t.Run(c.name, func(t *testing.T) {
			b := irtest.New("qdq_concat")
			a := b.Input("a", ir.Float32, 1, 3, 4, 4)
			x := b.Input("b", ir.Float32, 1, 2, 4, 4)
			s := b.Init("s", ir.Scalar(0.05))
			s2 := b.Init("s2", ir.Scalar(0.07))
			z := b.Init("z", ir.New(ir.Int8))
			ad := b.Op("DequantizeLinear", []string{b.Op("QuantizeLinear", []string{a, s, z}), s, z})
			bd := b.Op("DequantizeLinear", []string{b.Op("QuantizeLinear", []string{x, s2, z}), s2, z})
			if c.floatInput {
				bd = x
			}
			y := b.Op("Concat", []string{ad, bd}, irtest.Int("axis", 1))
			b.Output(b.Op("QuantizeLinear", []string{y, b.Init("ys", ir.Scalar(0.1)), z}))
			g := b.G
			if err := ir.InferGraph(g, map[string]int64{"": 13}); err != nil {
				t.Fatal(err)
			}
			n, err := runPass(g, map[string]int64{"": 13}, nil, fuseQDQConcat)
			if err != nil {
				t.Fatal(err)
			}
			ops := irtest.OpCount(g)
			if c.fused != (n == 1) || c.fused != (ops["QLinearConcat"] == 1 && ops["Concat"] == 0) {
				t.Errorf("rewrites %d, ops %v, want fused=%v", n, ops, c.fused)
			}
			for _, nd := range g.Nodes {
				if nd.OpType == "QLinearConcat" && (nd.AttrInt("axis", -9) != 1 || len(nd.Inputs) != 8) {
					t.Errorf("QLinearConcat inputs %v, axis %d", nd.Inputs, nd.AttrInt("axis", -9))
				}
			}
			if err := g.Validate(); err != nil {
				t.Error(err)
			}
		})
	}
}
