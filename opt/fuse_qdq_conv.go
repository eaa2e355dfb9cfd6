package opt

import "github.com/hone-ml/hone/ir"

// fuseQDQConv rewrites DQ(x), DQ(w)[, DQ(bias)] → Conv [→ Relu/Clip] → Q into one QLinearConv, as ONNX Runtime's
// QDQ Conv selector does, so the convolution runs on the integers (u8×s8 GEMM with the requantization in its
// epilogue) instead of dequantizing, convolving in float and quantizing again. Conditions: x per-tensor 8-bit;
// w a constant int8 tensor, per tensor or per output channel (axis 0) with zero points 0; the bias, if any, a
// constant int32 tensor with zero point 0 and scale x_scale·w_scale (what QLinearConv assumes); the Conv's only
// reader the Q (or a Relu/Clip the Q makes redundant, see qOutput).
var fuseQDQConv = Pass{
	Name:    "fuse_qdq_conv",
	Ops:     []string{"Conv"},
	Creates: []OpRef{{"", "QLinearConv"}},
	Match: func(c *Ctx, n *ir.Node) bool {
		_, ok := qdqConvMatch(c, n)
		return ok
	},
	Apply: func(c *Ctx, n *ir.Node) (bool, error) {
		m, _ := qdqConvMatch(c, n)
		xdt := m.x.dtype(c)
		in := []string{m.x.Q, "", "", m.w.Q, "", "", "", "", ""}
		in[1] = c.Producer(n.Inputs[0]).Inputs[1]
		in[2] = c.qdqZeroPoint(m.x, xdt, n.Name+"_x_zero_point")
		in[4] = c.Producer(n.Inputs[1]).Inputs[1]
		in[5] = c.qdqZeroPoint(m.w, ir.Int8, n.Name+"_w_zero_point")
		in[6] = m.q.Inputs[1]
		in[7] = c.qdqZeroPoint(m.y, ir.Uint8, n.Name+"_y_zero_point")
		if m.b.Q != "" {
			in[8] = m.b.Q
		} else {
			in = in[:8]
		}
		qc := &ir.Node{Name: n.Name, OpType: "QLinearConv", Inputs: in, Outputs: []string{m.y.Q}, Attrs: n.Attrs}
		c.G.InsertBefore(n, qc)
		c.G.RemoveNode(n)
		for _, r := range m.removed {
			c.G.RemoveNode(r)
		}
		return true, nil
	},
}

type qdqConv struct {
	x, w, b, y qdqParam
	q          *ir.Node
	removed    []*ir.Node
}

func qdqConvMatch(c *Ctx, n *ir.Node) (qdqConv, bool) {
	m, ok := qdqConvInputs(c, n)
	if !ok {
		return m, false
	}
	if m.q, m.y, m.removed, ok = qOutput(c, n.Outputs[0]); !ok {
		return m, false
	}
	return m, true
}

// qdqConvInputs matches the dequantized inputs of a 1-D or 2-D Conv (the integer kernels' shapes; a 3-D one
// stays a float Conv between its DQ and Q): x per-tensor 8-bit, w constant int8 with zero points 0 (per tensor or
// per output channel), the optional bias constant int32 with scale x_scale·w_scale.
func qdqConvInputs(c *Ctx, n *ir.Node) (qdqConv, bool) {
	return qdqWeightedInputs(c, n, 0, func(w *ir.Tensor) bool { return w.Rank() == 3 || w.Rank() == 4 })
}

// qdqWeightedInputs matches the dequantized inputs x, w[, bias] of a convolution whose weights hold the output
// channels on axis (Conv 0, ConvTranspose 1) and whose int8 weights pass shape: x per-tensor 8-bit, w per tensor
// or per output channel with zero points 0, the bias constant int32 with zero point 0 and scale x_scale·w_scale.
func qdqWeightedInputs(c *Ctx, n *ir.Node, axis int, shape func(w *ir.Tensor) bool) (qdqConv, bool) {
	var m qdqConv
	if len(n.Inputs) < 2 || len(n.Inputs) > 3 || len(n.Outputs) != 1 {
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
	if wq == nil || wq.DType != ir.Int8 || wq.Rank() <= axis || !allZero(m.w.ZP) || !shape(wq) {
		return m, false
	}
	M := wq.Shape[axis]
	if m.w.Scale.Len() != 1 && (m.w.Scale.Len() != M || m.w.Axis != int64(axis)) {
		return m, false
	}
	if n.Input(2) != "" {
		if m.b, ok = dqInput(c, n.Inputs[2]); !ok {
			return m, false
		}
		bq := c.Const(m.b.Q)
		if bq == nil || bq.DType != ir.Int32 || bq.Len() != M || !allZero(m.b.ZP) ||
			!biasScaleMatches(m.b.Scale, m.x.Scale, m.w.Scale, M) {
			return m, false
		}
	}
	return m, true
}
