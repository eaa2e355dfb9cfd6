package opt

import (
	"testing"

	"github.com/hone-ml/hone/internal/irtest"
	"github.com/hone-ml/hone/ir"
)

// TestFuseQDQGAP checks DQ → GlobalAveragePool → Q becoming QLinearGlobalAveragePool, and that a pooled value
// also read in float (a second reader beside the Q) is left alone.
func TestFuseQDQGAP(t *testing.T) {
	for _, c := range []struct {
		name        string
		floatReader bool
		fused       bool
	}{{"fused", false, true}, {"float reader", true, false}} {
		t.Run(c.name, func(t *testing.T) {
			b := irtest.New("qdq_gap")
			x := b.Input("x", ir.Float32, 1, 3, 4, 4)
			s := b.Init("s", ir.Scalar(0.05))
			z := b.Init("z", ir.New(ir.Int8))
			xd := b.Op("DequantizeLinear", []string{b.Op("QuantizeLinear", []string{x, s, z}), s, z})
			p := b.Op("GlobalAveragePool", []string{xd})
			b.Output(b.Op("QuantizeLinear", []string{p, b.Init("ys", ir.Scalar(0.02)), z}))
			if c.floatReader {
				b.Output(b.Op("Relu", []string{p}))
			}
			g := b.G
			if err := ir.InferGraph(g, map[string]int64{"": 13}); err != nil {
				t.Fatal(err)
			}
			n, err := runPass(g, map[string]int64{"": 13}, nil, fuseQDQGAP)
			if err != nil {
				t.Fatal(err)
			}
			ops := irtest.OpCount(g)
			if c.fused != (n == 1) || c.fused != (ops["QLinearGlobalAveragePool"] == 1 && ops["GlobalAveragePool"] == 0 && ops["QuantizeLinear"] == 1) {
				t.Errorf("rewrites %d, ops %v, want fused=%v", n, ops, c.fused)
			}
			if err := g.Validate(); err != nil {
				t.Error(err)
			}
		})
	}
}
