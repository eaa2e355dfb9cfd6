package opt

import "github.com/hone-ml/hone/ir"

// fuseQDQMaxPool rewrites DQ(x) → MaxPool → Q into MaxPool on x's integers when Q uses x's own scale and zero
// point (as ONNX Runtime's and hone's quantizers emit). Quantization is monotone and the pooled values are
// already on x's grid, so Q(MaxPool(DQ(x))) = MaxPool(x) exactly; padding behaves the same because MaxPool pads
// with the lowest value of either type.
var fuseQDQMaxPool = Pass{
	Name: "fuse_qdq_maxpool",
	Ops:  []string{"MaxPool"},
	Match: func(c *Ctx, n *ir.Node) bool {
		_, _, ok := qdqMaxPoolMatch(c, n)
		return ok
	},
	Apply: func(c *Ctx, n *ir.Node) (bool, error) {
		x, q, _ := qdqMaxPoolMatch(c, n)
		n.Inputs = []string{x.Q}
		n.Outputs = []string{q.Outputs[0]}
		c.G.RemoveNode(q)
		return true, nil
	},
}

func qdqMaxPoolMatch(c *Ctx, n *ir.Node) (qdqParam, *ir.Node, bool) {
	if len(n.Inputs) != 1 || len(n.Outputs) == 0 || !onlyFirstOutputUsed(c, n) || c.Opset("") < 12 {
		return qdqParam{}, nil, false
	}
	x, ok := dqInput(c, n.Inputs[0])
	if !ok || !perTensorActivation(c, x) {
		return qdqParam{}, nil, false
	}
	q := c.SoleConsumer(n.Outputs[0])
	if q == nil || q.OpType != "QuantizeLinear" || !q.IsDefaultDomain() || len(q.Outputs) != 1 {
		return qdqParam{}, nil, false
	}
	_, y, removed, ok := qOutput(c, n.Outputs[0])
	if !ok || len(removed) != 1 || y.Scale.F32()[0] != x.Scale.F32()[0] || y.zeroPoint() != x.zeroPoint() ||
		y.dtype(c) != x.dtype(c) && !(y.ZP == nil && x.dtype(c) == ir.Uint8) {
		return qdqParam{}, nil, false
	}
	return x, q, true
}
