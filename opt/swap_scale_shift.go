package opt

import "github.com/hone-ml/hone/ir"

// swapScaleShift rewrites a·x + b (scalar constants, a ≠ 0) that feeds only a padded Conv as (x + b/a)·a, so
// fuse_affine_conv can fold the scale into the Conv's weights and one pass over the feature map disappears; the
// shift must stay outside because the Conv's zero padding would not see it. PP-LCNetV3's learned scale and shift
// before every depthwise Conv of PP-OCRv4 takes this path. Equal up to rounding of b/a.
var swapScaleShift = Pass{
	Name: "swap_scale_shift",
	Ops:  []string{"Add"},
	Match: func(c *Ctx, n *ir.Node) bool {
		_, _, _, _, ok := scaleShiftMatch(c, n)
		return ok
	},
	Apply: func(c *Ctx, n *ir.Node) (bool, error) {
		mul, x, a, b, _ := scaleShiftMatch(c, n)
		shifted := c.G.FreshValueName(x + "_shifted")
		add := &ir.Node{Name: n.Name, OpType: "Add", Outputs: []string{shifted},
			Inputs: []string{x, c.AddConst(n.Name+"_shift", ir.Scalar(float32(float64(b)/float64(a))))}}
		scale := &ir.Node{Name: mul.Name, OpType: "Mul", Outputs: []string{n.Outputs[0]},
			Inputs: []string{shifted, c.AddConst(mul.Name+"_scale", ir.Scalar(a))}}
		if t, ok := c.G.TypeOfValue(x); ok { // x + b/a has x's type; later passes check it
			if c.G.ValueInfo == nil {
				c.G.ValueInfo = map[string]*ir.ValueInfo{}
			}
			c.G.ValueInfo[shifted] = &ir.ValueInfo{Name: shifted, Type: t}
		}
		c.G.InsertBefore(n, add)
		c.G.InsertBefore(n, scale)
		c.G.RemoveNode(n)
		c.G.RemoveNode(mul)
		return true, nil
	},
}

// scaleShiftMatch finds Add(Mul(x, a), b) with rank-0 (or shape-preserving one-element) float32 constants a ≠ 0
// and b, each node read only by the next, ending in a Conv with constant weights that is not pointwise.
func scaleShiftMatch(c *Ctx, n *ir.Node) (mul *ir.Node, x string, a, b float32, ok bool) {
	if len(n.Inputs) != 2 || len(n.Outputs) != 1 {
		return nil, "", 0, 0, false
	}
	conv := c.SoleConsumer(n.Outputs[0])
	if conv == nil || conv.OpType != "Conv" || !conv.IsDefaultDomain() || len(conv.Inputs) < 2 || conv.Inputs[0] != n.Outputs[0] {
		return nil, "", 0, 0, false
	}
	w := f32Const(c, conv.Inputs[1])
	if w == nil || w.Rank() < 3 || pointwise(conv, w) {
		return nil, "", 0, 0, false
	}
	ki := 1
	if c.Const(n.Inputs[0]) != nil {
		ki = 0
	}
	bt := f32Const(c, n.Inputs[ki])
	mul = c.Producer(n.Inputs[1-ki])
	if bt == nil || bt.Len() != 1 || mul == nil || mul.OpType != "Mul" || !mul.IsDefaultDomain() ||
		len(mul.Inputs) != 2 || c.SoleConsumer(mul.Outputs[0]) != n {
		return nil, "", 0, 0, false
	}
	mi := 1
	if c.Const(mul.Inputs[0]) != nil {
		mi = 0
	}
	at := f32Const(c, mul.Inputs[mi])
	x = mul.Inputs[1-mi]
	if at == nil || at.Len() != 1 || at.F32()[0] == 0 || c.Const(x) != nil || !isFloat32(c, x) ||
		!scalarFits(c, x, mul.Inputs[mi], n.Inputs[ki]) {
		return nil, "", 0, 0, false
	}
	return mul, x, at.F32()[0], bt.F32()[0], true
}
