package opt

import (
	"testing"

	"github.com/hone-ml/hone/internal/irtest"
	"github.com/hone-ml/hone/ir"
)

// TestFuseQDQResize checks that DQ → Resize(nearest) → Q on the input's own scale becomes Resize on the integers,
// and that it does not fire for linear interpolation or when Q uses another scale.
func TestFuseQDQResize(t *testing.T) {
	for _, c := range []struct {
		name, mode string
		ys         float32
		fused      bool
	}{{"nearest", "nearest", 0.05, true}, {"linear", "linear", 0.05, false}, {"other scale", "nearest", 0.06, false}} {
		t.Run(c.name, func(t *testing.T) {
			b := irtest.New("qdq_resize")
			x := b.Input("x", ir.Float32, 1, 3, 4, 4)
			s := b.Init("s", ir.Scalar(0.05))
			z := b.Init("z", ir.New(ir.Int8))
			xd := b.Op("DequantizeLinear", []string{b.Op("QuantizeLinear", []string{x, s, z}), s, z})
			sc := b.Init("scales", ir.FromFloat32([]int{4}, []float32{1, 1, 2, 2}))
			y := b.Op("Resize", []string{xd, b.Init("roi", ir.New(ir.Float32, 0)), sc}, &ir.Attr{Name: "mode", Type: ir.AttrString, S: c.mode})
			b.Output(b.Op("QuantizeLinear", []string{y, b.Init("ys", ir.Scalar(c.ys)), z}))
			g := b.G
			if err := ir.InferGraph(g, map[string]int64{"": 13}); err != nil {
				t.Fatal(err)
			}
			n, err := runPass(g, map[string]int64{"": 13}, nil, fuseQDQResize)
			if err != nil {
				t.Fatal(err)
			}
			ops := irtest.OpCount(g)
			onInts := false // the Resize reads the input Q's integers (the orphaned DQ is eliminate_dead's)
			for _, nd := range g.Nodes {
				if p := g.Producers()[nd.Input(0)]; nd.OpType == "Resize" && p != nil && p.OpType == "QuantizeLinear" {
					onInts = true
				}
			}
			if c.fused != (n == 1) || c.fused != (onInts && ops["QuantizeLinear"] == 1) {
				t.Errorf("rewrites %d, ops %v, want fused=%v", n, ops, c.fused)
			}
			if err := g.Validate(); err != nil {
				t.Error(err)
			}
		})
	}
}
