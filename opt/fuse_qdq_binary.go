package opt

import "github.com/hone-ml/hone/ir"

// fuseQDQBinary rewrites DQ(a), DQ(b) → Add/Mul [→ Relu/Clip] → Q into ONNX Runtime's QLinearAdd/QLinearMul
// (com.microsoft), so residual and FPN sums and squeeze-and-excitation scaling stay on 8-bit tensors instead of
// dequantizing both operands to float tensors and quantizing the result. Both inputs must be per-tensor 8-bit
// activations with constant scales and zero points; the output Q and a Relu/Clip before it are taken as qOutput
// allows. hone's kernel computes the chain's own float32 arithmetic, so the integers are unchanged.
var fuseQDQBinary = Pass{
	Name:    "fuse_qdq_binary",
	Ops:     []string{"Add", "Mul"},
	Creates: []OpRef{{ir.DomainMicrosoft, "QLinearAdd"}, {ir.DomainMicrosoft, "QLinearMul"}},
	Match: func(c *Ctx, n *ir.Node) bool {
		_, ok := qdqBinaryMatch(c, n)
		return ok
	},
	Apply: func(c *Ctx, n *ir.Node) (bool, error) {
		m, _ := qdqBinaryMatch(c, n)
		in := []string{
			m.a.Q, c.Producer(n.Inputs[0]).Inputs[1], c.qdqZeroPoint(m.a, m.a.dtype(c), n.Name+"_a_zero_point"),
			m.b.Q, c.Producer(n.Inputs[1]).Inputs[1], c.qdqZeroPoint(m.b, m.b.dtype(c), n.Name+"_b_zero_point"),
			m.q.Inputs[1], c.qdqZeroPoint(m.y, ir.Uint8, n.Name+"_y_zero_point"),
		}
		f := &ir.Node{Name: n.Name, OpType: "QLinear" + n.OpType, Domain: ir.DomainMicrosoft, Inputs: in, Outputs: []string{m.y.Q}}
		c.G.InsertBefore(n, f)
		c.G.RemoveNode(n)
		for _, r := range m.removed {
			c.G.RemoveNode(r)
		}
		return true, nil
	},
}

type qdqBinary struct {
	a, b, y qdqParam
	q       *ir.Node
	removed []*ir.Node
}

func qdqBinaryMatch(c *Ctx, n *ir.Node) (qdqBinary, bool) {
	var m qdqBinary
	if !n.IsDefaultDomain() || len(n.Inputs) != 2 || len(n.Outputs) != 1 {
		return m, false
	}
	var ok bool
	if m.a, ok = dqInput(c, n.Inputs[0]); !ok || !perTensorActivation(c, m.a) {
		return m, false
	}
	if m.b, ok = dqInput(c, n.Inputs[1]); !ok || !perTensorActivation(c, m.b) {
		return m, false
	}
	if m.q, m.y, m.removed, ok = qOutput(c, n.Outputs[0]); !ok {
		return m, false
	}
	return m, true
}
