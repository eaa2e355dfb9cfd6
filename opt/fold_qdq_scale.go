package opt

import (
	"github.com/hone-ml/hone/ir"
)

// foldQDQScale replaces Mul(a, b) of two float32 constants (scalars or vectors of one length) that only feeds the
// scale input of DequantizeLinear nodes with the product as a constant. hone's static quantizer writes an int32
// bias's scale s_in·s_w that way instead of storing a copy (quant.biasDequant); the QDQ fusions need the scale as
// a constant, and they run before fold_shape. The float32 product is what Mul computes, so the fold is exact.
var foldQDQScale = Pass{
	Name: "fold_qdq_scale",
	Ops:  []string{"Mul"},
	Match: func(c *Ctx, n *ir.Node) bool {
		if len(n.Inputs) != 2 || len(n.Outputs) != 1 || c.IsOutput(n.Outputs[0]) || len(c.Consumers(n.Outputs[0])) == 0 {
			return false
		}
		a, b := f32Const(c, n.Inputs[0]), f32Const(c, n.Inputs[1])
		if a == nil || b == nil || a.Rank() > 1 || b.Rank() > 1 || (a.Len() != b.Len() && a.Len() != 1 && b.Len() != 1) {
			return false
		}
		for _, r := range c.Consumers(n.Outputs[0]) {
			if r.OpType != "DequantizeLinear" || !r.IsDefaultDomain() || r.Input(1) != n.Outputs[0] || r.Input(0) == n.Outputs[0] ||
				r.Input(2) == n.Outputs[0] {
				return false
			}
		}
		return true
	},
	Apply: func(c *Ctx, n *ir.Node) (bool, error) {
		a, b := f32Const(c, n.Inputs[0]), f32Const(c, n.Inputs[1])
		if a.Len() < b.Len() || (a.Len() == b.Len() && a.Rank() < b.Rank()) {
			a, b = b, a
		}
		p := ir.New(ir.Float32, a.Shape...)
		for i, x := range a.F32() {
			p.F32()[i] = x * b.F32()[i%b.Len()]
		}
		c.G.RemoveNode(n)
		c.G.SetInitializer(n.Outputs[0], p)
		return true, nil
	},
}
