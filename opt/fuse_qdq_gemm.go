package opt

import "github.com/hone-ml/hone/ir"

// fuseQDQGemm rewrites DQ(a), DQ(b)[, DQ(bias)] → Gemm [→ Relu/Clip] → Q into ONNX Runtime's com.microsoft QGemm,
// which hone runs as one u8×s8 GEMM with the int32 bias and requantization in its epilogue (ONNX's QLinearMatMul
// has no bias). Conditions as for fuse_qdq_conv: a per-tensor 8-bit, transA 0, alpha and beta 1; b a constant
// int8 matrix with zero points 0, per tensor or per output column (axis 0 of [N,K] when transB, else axis 1);
// the bias a constant int32 [N] with zero point 0 and scale a_scale·b_scale.
var fuseQDQGemm = Pass{
	Name:    "fuse_qdq_gemm",
	Ops:     []string{"Gemm"},
	Creates: []OpRef{{ir.DomainMicrosoft, "QGemm"}},
	Match: func(c *Ctx, n *ir.Node) bool {
		_, ok := qdqGemmMatch(c, n)
		return ok
	},
	Apply: func(c *Ctx, n *ir.Node) (bool, error) {
		m, _ := qdqGemmMatch(c, n)
		in := []string{
			m.x.Q, c.Producer(n.Inputs[0]).Inputs[1], c.qdqZeroPoint(m.x, m.x.dtype(c), n.Name+"_a_zero_point"),
			m.w.Q, c.Producer(n.Inputs[1]).Inputs[1], c.qdqZeroPoint(m.w, ir.Int8, n.Name+"_b_zero_point"),
			m.b.Q, m.q.Inputs[1], c.qdqZeroPoint(m.y, ir.Uint8, n.Name+"_y_zero_point"),
		}
		qg := &ir.Node{Name: n.Name, OpType: "QGemm", Domain: ir.DomainMicrosoft, Inputs: in, Outputs: []string{m.y.Q},
			Attrs: []*ir.Attr{{Name: "transB", Type: ir.AttrInt, I: n.AttrInt("transB", 0)}}}
		c.G.InsertBefore(n, qg)
		c.G.RemoveNode(n)
		for _, r := range m.removed {
			c.G.RemoveNode(r)
		}
		return true, nil
	},
}

func qdqGemmMatch(c *Ctx, n *ir.Node) (qdqConv, bool) {
	m, ok := qdqGemmInputs(c, n)
	if !ok {
		return m, false
	}
	if m.q, m.y, m.removed, ok = qOutput(c, n.Outputs[0]); !ok {
		return m, false
	}
	return m, true
}

// qdqGemmInputs matches Gemm's dequantized inputs for fuse_qdq_gemm and fuse_qdq_gemm_float.
func qdqGemmInputs(c *Ctx, n *ir.Node) (qdqConv, bool) {
	var m qdqConv
	if len(n.Inputs) < 2 || len(n.Inputs) > 3 || len(n.Outputs) != 1 || n.AttrInt("transA", 0) != 0 ||
		n.AttrFloat("alpha", 1) != 1 || n.AttrFloat("beta", 1) != 1 {
		return m, false
	}
	var ok bool
	if m.x, ok = dqInput(c, n.Inputs[0]); !ok || !perTensorActivation(c, m.x) {
		return m, false
	}
	if m.w, ok = dqInput(c, n.Inputs[1]); !ok {
		return m, false
	}
	wq := c.Const(m.w.Q)
	if wq == nil || wq.DType != ir.Int8 || wq.Rank() != 2 || !allZero(m.w.ZP) {
		return m, false
	}
	colAxis := int64(1)
	if n.AttrInt("transB", 0) != 0 {
		colAxis = 0
	}
	N := wq.Shape[colAxis]
	if m.w.Scale.Len() != 1 && (m.w.Scale.Len() != N || m.w.Axis != colAxis) {
		return m, false
	}
	if n.Input(2) != "" {
		if m.b, ok = dqInput(c, n.Inputs[2]); !ok {
			return m, false
		}
		bq := c.Const(m.b.Q)
		if bq == nil || bq.DType != ir.Int32 || bq.Len() != N || bq.Shape[len(bq.Shape)-1] != N || !allZero(m.b.ZP) ||
			!biasScaleMatches(m.b.Scale, m.x.Scale, m.w.Scale, N) {
			return m, false
		}
	}
	return m, true
}
