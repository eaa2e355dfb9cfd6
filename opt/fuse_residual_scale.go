package opt

import "github.com/hone-ml/hone/ir"

// fuseResidualScale rewrites x + x·s, where s is smaller than x and broadcasts into it (a squeeze-and-excitation
// gate of shape [N, C, 1, 1] in PP-LCNetV3's residual SE blocks), as x·(s + 1): the +1 runs on the small gate and
// one full pass over the feature map disappears. Equal up to rounding: s ∈ [0, 1] there, so nothing cancels.
var fuseResidualScale = Pass{
	Name: "fuse_residual_scale",
	Ops:  []string{"Add"},
	Match: func(c *Ctx, n *ir.Node) bool {
		_, _, _, ok := residualScaleMatch(c, n)
		return ok
	},
	Apply: func(c *Ctx, n *ir.Node) (bool, error) {
		mul, x, s, _ := residualScaleMatch(c, n)
		one := c.AddConst(n.Name+"_one", ir.Scalar(1))
		s1 := c.G.FreshValueName(s + "_plus_one")
		add := &ir.Node{Name: c.G.FreshNodeName(n.Name + "_gate"), OpType: "Add", Inputs: []string{s, one}, Outputs: []string{s1}}
		scale := &ir.Node{Name: n.Name, OpType: "Mul", Inputs: []string{x, s1}, Outputs: []string{n.Outputs[0]}}
		c.G.InsertBefore(n, add)
		c.G.InsertBefore(n, scale)
		c.G.RemoveNode(n)
		c.G.RemoveNode(mul)
		return true, nil
	},
}

// residualScaleMatch finds Add(x, Mul(x, s)) (any operand order) where the Mul is read only by the Add and s,
// float32 like x, provably broadcasts into x's shape without widening it.
func residualScaleMatch(c *Ctx, n *ir.Node) (*ir.Node, string, string, bool) {
	if len(n.Inputs) != 2 || len(n.Outputs) != 1 {
		return nil, "", "", false
	}
	for i, in := range n.Inputs {
		mul := c.Producer(in)
		x := n.Inputs[1-i]
		if mul == nil || mul.OpType != "Mul" || !mul.IsDefaultDomain() || len(mul.Inputs) != 2 ||
			c.SoleConsumer(in) != n || (mul.Inputs[0] != x && mul.Inputs[1] != x) {
			continue
		}
		s := otherInput(mul, x)
		if s != x && isFloat32(c, x) && isFloat32(c, s) && broadcastsInto(c, s, x) {
			return mul, x, s, true
		}
	}
	return nil, "", "", false
}

// broadcastsInto reports whether the static types show that s broadcasts into x's shape and is strictly
// smaller: every right-aligned dimension of s is 1 or the same as x's (equal sizes or the same named symbol).
func broadcastsInto(c *Ctx, s, x string) bool {
	ts, ok1 := c.G.TypeOfValue(s)
	tx, ok2 := c.G.TypeOfValue(x)
	if !ok1 || !ok2 || !ts.HasShape || !tx.HasShape || len(ts.Shape) > len(tx.Shape) {
		return false
	}
	smaller := len(ts.Shape) < len(tx.Shape)
	off := len(tx.Shape) - len(ts.Shape)
	for i, d := range ts.Shape {
		e := tx.Shape[off+i]
		switch {
		case d.Known() && d.Size == 1:
			smaller = smaller || !e.Known() || e.Size != 1
		case d.Known() && e.Known() && d.Size == e.Size:
		case !d.Known() && !e.Known() && d.Param != "" && d.Param == e.Param:
		default:
			return false
		}
	}
	return smaller
}
