package opt

import "github.com/hone-ml/hone/ir"

// fuseQDQConcat rewrites DQ(x₁), …, DQ(xₙ) → Concat → Q into ONNX Runtime's QLinearConcat (com.microsoft), which
// copies each input's integers into the output, requantized to its scale by a byte lookup where they differ,
// instead of dequantizing every input and quantizing the concatenation. Every input must be a per-tensor 8-bit
// activation; the Concat's only reader is the Q.
var fuseQDQConcat = Pass{
	Name:    "fuse_qdq_concat",
	Ops:     []string{"Concat"},
	Creates: []OpRef{{ir.DomainMicrosoft, "QLinearConcat"}},
	Match: func(c *Ctx, n *ir.Node) bool {
		_, _, _, ok := qdqConcatMatch(c, n)
		return ok
	},
	Apply: func(c *Ctx, n *ir.Node) (bool, error) {
		xs, q, y, _ := qdqConcatMatch(c, n)
		in := []string{q.Inputs[1], c.qdqZeroPoint(y, ir.Uint8, n.Name+"_y_zero_point")}
		for i, x := range xs {
			in = append(in, x.Q, c.Producer(n.Inputs[i]).Inputs[1], c.qdqZeroPoint(x, x.dtype(c), n.Name+"_x_zero_point"))
		}
		f := &ir.Node{Name: n.Name, OpType: "QLinearConcat", Domain: ir.DomainMicrosoft, Inputs: in, Outputs: []string{y.Q},
			Attrs: []*ir.Attr{{Name: "axis", Type: ir.AttrInt, I: n.AttrInt("axis", 0)}}}
		c.G.InsertBefore(n, f)
		c.G.RemoveNode(n)
		c.G.RemoveNode(q)
		return true, nil
	},
}

func qdqConcatMatch(c *Ctx, n *ir.Node) (xs []qdqParam, q *ir.Node, y qdqParam, ok bool) {
	if !n.IsDefaultDomain() || len(n.Inputs) == 0 || len(n.Outputs) != 1 || n.Attr("axis") == nil {
		return nil, nil, y, false
	}
	for _, in := range n.Inputs {
		x, ok := dqInput(c, in)
		if !ok || !perTensorActivation(c, x) {
			return nil, nil, y, false
		}
		xs = append(xs, x)
	}
	q, y, removed, ok := qOutput(c, n.Outputs[0])
	if !ok || len(removed) != 1 {
		return nil, nil, y, false
	}
	return xs, q, y, true
}
