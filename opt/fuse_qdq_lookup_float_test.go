package opt

import (
	"testing"

	"github.com/hone-ml/hone/internal/irtest"
	"github.com/hone-ml/hone/ir"
)

// TestFuseQDQLookupFloat checks DQ → per-channel Add → BatchNormalization → Relu becoming one QLookup with a
// [C, 256] float32 table, and three cases that must not fire: a constant varying along the pixels (not per
// channel), a DQ output also read by a second node, and that the chain stops before an op outside the set (Sigmoid).
func TestFuseQDQLookupFloat(t *testing.T) {
	for _, c := range []struct {
		name  string
		shape []int // the Add constant's shape
		extra bool  // a second reader of the DQ output
		op    string
		fused bool
	}{
		{"fused", []int{1, 4, 1, 1}, false, "Relu", true},
		{"spatial constant", []int{1, 1, 1, 5}, false, "Relu", false},
		{"second reader", []int{1, 4, 1, 1}, true, "Relu", false},
		{"stops at Sigmoid", []int{1, 4, 1, 1}, false, "Sigmoid", true},
	} {
		t.Run(c.name, func(t *testing.T) {
			b := irtest.New("qdq_lookup_float")
			x := b.Input("x", ir.Float32, 1, 4, 3, 5)
			s := b.Init("s", ir.Scalar(0.05))
			z := b.Init("z", ir.New(ir.Int8))
			d := b.Op("DequantizeLinear", []string{b.Op("QuantizeLinear", []string{x, s, z}), s, z})
			k := irtest.Rand(7, c.shape...)
			a := b.Op("Add", []string{d, b.Init("k", k)})
			norm := b.Op("BatchNormalization", []string{a, b.Init("g", irtest.Rand(3, 4)), b.Init("beta", irtest.Rand(4, 4)),
				b.Init("mean", irtest.Rand(5, 4)), b.Init("var", irtest.RandPos(6, 0.5, 2, 4))}, irtest.Float("epsilon", 1e-3))
			b.Output(b.Op(c.op, []string{norm}))
			if c.extra {
				b.Output(b.Op("Relu", []string{d}))
			}
			g := b.G
			if err := ir.InferGraph(g, map[string]int64{"": 13}); err != nil {
				t.Fatal(err)
			}
			n, err := runPass(g, map[string]int64{"": 13}, nil, fuseQDQLookupFloat)
			if err != nil {
				t.Fatal(err)
			}
			ops := irtest.OpCount(g)
			if c.fused != (n == 1) || c.fused != (ops["QLookup"] == 1 && ops["DequantizeLinear"] == 0 && ops["Add"] == 0 && ops["BatchNormalization"] == 0) {
				t.Errorf("rewrites %d, ops %v, want fused=%v", n, ops, c.fused)
			}
			if want := map[bool]int{true: 0, false: 1}[c.op == "Relu"]; c.fused && ops[c.op] != want {
				t.Errorf("ops %v: want %d %s left", ops, want, c.op)
			}
			if err := g.Validate(); err != nil {
				t.Error(err)
			}
		})
	}
}
