package opt

import "github.com/hone-ml/hone/ir"

// fuseQDQMatMul rewrites DQ(a), DQ(b) → MatMul [→ Relu/Clip] → Q into one QLinearMatMul, as ONNX Runtime's QDQ
// MatMul selector does, so the product runs on the integers (u8×s8 GEMM with the requantization in its
// epilogue). Conditions: a per-tensor 8-bit; b either a constant int8 matrix with zero points 0, per tensor or
// per column (axis 1, which QLinearMatMul's 1-D b_scale means), or a per-tensor 8-bit activation of any rank
// (attention's Q·Kᵀ and P·V); the MatMul's only reader the Q (or a Relu/Clip the Q makes redundant, see
// qOutput).
var fuseQDQMatMul = Pass{
	Name:    "fuse_qdq_matmul",
	Ops:     []string{"MatMul"},
	Creates: []OpRef{{"", "QLinearMatMul"}},
	Match: func(c *Ctx, n *ir.Node) bool {
		_, ok := qdqMatMulMatch(c, n)
		return ok
	},
	Apply: func(c *Ctx, n *ir.Node) (bool, error) {
		m, _ := qdqMatMulMatch(c, n)
		in := []string{
			m.x.Q, c.Producer(n.Inputs[0]).Inputs[1], c.qdqZeroPoint(m.x, m.x.dtype(c), n.Name+"_a_zero_point"),
			m.w.Q, c.Producer(n.Inputs[1]).Inputs[1], c.qdqZeroPoint(m.w, m.w.dtype(c), n.Name+"_b_zero_point"),
			m.q.Inputs[1], c.qdqZeroPoint(m.y, ir.Uint8, n.Name+"_y_zero_point"),
		}
		qm := &ir.Node{Name: n.Name, OpType: "QLinearMatMul", Inputs: in, Outputs: []string{m.y.Q}}
		c.G.InsertBefore(n, qm)
		c.G.RemoveNode(n)
		for _, r := range m.removed {
			c.G.RemoveNode(r)
		}
		return true, nil
	},
}

func qdqMatMulMatch(c *Ctx, n *ir.Node) (qdqConv, bool) {
	m, ok := qdqMatMulInputs(c, n)
	if !ok {
		return m, false
	}
	if m.q, m.y, m.removed, ok = qOutput(c, n.Outputs[0]); !ok {
		return m, false
	}
	return m, true
}

// qdqMatMulInputs matches a MatMul's two dequantized inputs as fuse_qdq_matmul needs them (m.x, m.w).
func qdqMatMulInputs(c *Ctx, n *ir.Node) (qdqConv, bool) {
	var m qdqConv
	if len(n.Inputs) != 2 || len(n.Outputs) != 1 {
		return m, false
	}
	var ok bool
	if m.x, ok = dqInput(c, n.Inputs[0]); !ok || !perTensorActivation(c, m.x) {
		return m, false
	}
	if m.w, ok = dqInput(c, n.Inputs[1]); !ok {
		return m, false
	}
	if wq := c.Const(m.w.Q); wq != nil {
		if wq.DType != ir.Int8 || wq.Rank() != 2 || !allZero(m.w.ZP) {
			return m, false
		}
		if m.w.Scale.Len() != 1 && (m.w.Scale.Len() != wq.Shape[1] || (m.w.Axis != 1 && m.w.Axis != -1)) {
			return m, false
		}
	} else if !perTensorActivation(c, m.w) {
		return m, false
	}
	return m, true
}
