package opt

import "github.com/hone-ml/hone/ir"

// fuseQDQResize rewrites DQ(x) → Resize(mode nearest) → Q into Resize on x's integers when Q uses x's own scale
// and zero point (what calibration gives: nearest resizing only repeats values, so the output's range is the
// input's). Nearest neighbours copy values, and Q(DQ(v)) = v, so the result is exact; the feature pyramid's
// upsampling then moves bytes instead of float32 values plus a quantization pass. Linear modes average values
// and are left alone.
var fuseQDQResize = Pass{
	Name: "fuse_qdq_resize",
	Ops:  []string{"Resize"},
	Match: func(c *Ctx, n *ir.Node) bool {
		_, _, ok := qdqResizeMatch(c, n)
		return ok
	},
	Apply: func(c *Ctx, n *ir.Node) (bool, error) {
		x, q, _ := qdqResizeMatch(c, n)
		n.Inputs = append([]string{x.Q}, n.Inputs[1:]...)
		n.Outputs = []string{q.Outputs[0]}
		c.G.RemoveNode(q)
		return true, nil
	},
}

func qdqResizeMatch(c *Ctx, n *ir.Node) (qdqParam, *ir.Node, bool) {
	if !n.IsDefaultDomain() || len(n.Inputs) < 2 || len(n.Outputs) != 1 || n.AttrString("mode", "nearest") != "nearest" ||
		c.Opset("") < 11 {
		return qdqParam{}, nil, false
	}
	x, ok := dqInput(c, n.Inputs[0])
	if !ok || !perTensorActivation(c, x) {
		return qdqParam{}, nil, false
	}
	q, y, removed, ok := qOutput(c, n.Outputs[0])
	if !ok || len(removed) != 1 || y.Scale.F32()[0] != x.Scale.F32()[0] || y.zeroPoint() != x.zeroPoint() ||
		y.dtype(c) != x.dtype(c) && !(y.ZP == nil && x.dtype(c) == ir.Uint8) {
		return qdqParam{}, nil, false
	}
	return x, q, true
}
