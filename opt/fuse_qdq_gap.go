package opt

import "github.com/hone-ml/hone/ir"

// fuseQDQGAP rewrites DQ(x) → GlobalAveragePool → Q into ONNX Runtime's QLinearGlobalAveragePool (com.microsoft),
// which averages x's integers directly: squeeze-and-excitation blocks otherwise dequantize a whole feature map
// only to reduce it to one value per channel. x must be a per-tensor 8-bit activation of rank ≥ 3 (NCHW).
var fuseQDQGAP = Pass{
	Name:    "fuse_qdq_gap",
	Ops:     []string{"GlobalAveragePool"},
	Creates: []OpRef{{ir.DomainMicrosoft, "QLinearGlobalAveragePool"}},
	Match: func(c *Ctx, n *ir.Node) bool {
		_, _, _, ok := qdqGAPMatch(c, n)
		return ok
	},
	Apply: func(c *Ctx, n *ir.Node) (bool, error) {
		x, q, y, _ := qdqGAPMatch(c, n)
		in := []string{x.Q, c.Producer(n.Inputs[0]).Inputs[1], c.qdqZeroPoint(x, x.dtype(c), n.Name+"_x_zero_point"),
			q.Inputs[1], c.qdqZeroPoint(y, ir.Uint8, n.Name+"_y_zero_point")}
		f := &ir.Node{Name: n.Name, OpType: "QLinearGlobalAveragePool", Domain: ir.DomainMicrosoft, Inputs: in, Outputs: []string{y.Q}}
		c.G.InsertBefore(n, f)
		c.G.RemoveNode(n)
		c.G.RemoveNode(q)
		return true, nil
	},
}

func qdqGAPMatch(c *Ctx, n *ir.Node) (x qdqParam, q *ir.Node, y qdqParam, ok bool) {
	if !n.IsDefaultDomain() || len(n.Inputs) != 1 || len(n.Outputs) != 1 {
		return x, nil, y, false
	}
	if x, ok = dqInput(c, n.Inputs[0]); !ok || !perTensorActivation(c, x) {
		return x, nil, y, false
	}
	if t, known := c.G.TypeOfValue(n.Inputs[0]); known && t.HasShape && len(t.Shape) < 3 {
		return x, nil, y, false
	}
	q, y, removed, ok := qOutput(c, n.Outputs[0])
	if !ok || len(removed) != 1 {
		return x, nil, y, false
	}
	return x, q, y, true
}
