package opt

import "github.com/hone-ml/hone/ir"

// fuseQDQMatMulFloat rewrites DQ(a), DQ(B) → MatMul [→ Add(bias)] whose output stays float (no QuantizeLinear
// follows, so fuse_qdq_matmul left it) into ONNX Runtime's contrib MatMulIntegerToFloat, as its QDQ selectors do:
// the product runs on the integers and the GEMM epilogue dequantizes and adds the bias,
// y = float32(Σ (a − za)(B − zb))·(a_scale·b_scale[j]) + bias[j]. B must be a constant int8 matrix (per tensor or
// per column, zero points 0). An Add of a constant that broadcasts along the last axis only (one value per
// column) is taken in as the bias. PP-OCRv4 rec's classifier (MatMul → Add → Softmax over 6625 classes) and its
// attention projections (MatMul → Add → Reshape) are such layers.
var fuseQDQMatMulFloat = Pass{
	Name:    "fuse_qdq_matmul_float",
	Ops:     []string{"MatMul"},
	Creates: []OpRef{{ir.DomainMicrosoft, "MatMulIntegerToFloat"}},
	Match: func(c *Ctx, n *ir.Node) bool {
		m, ok := qdqMatMulInputs(c, n)
		return ok && c.Const(m.w.Q) != nil
	},
	Apply: func(c *Ctx, n *ir.Node) (bool, error) {
		m, _ := qdqMatMulInputs(c, n)
		in := []string{m.x.Q, m.w.Q, c.Producer(n.Inputs[0]).Inputs[1], c.Producer(n.Inputs[1]).Inputs[1],
			c.qdqZeroPoint(m.x, m.x.dtype(c), n.Name+"_a_zero_point"), c.qdqZeroPoint(m.w, ir.Int8, n.Name+"_b_zero_point")}
		out := n.Outputs[0]
		add, bias := matMulBias(c, n, c.Const(m.w.Q).Shape[1])
		if add != nil {
			in, out = append(in, bias), add.Outputs[0]
		}
		qm := &ir.Node{Name: n.Name, OpType: "MatMulIntegerToFloat", Domain: ir.DomainMicrosoft, Inputs: in, Outputs: []string{out}}
		c.G.InsertBefore(n, qm)
		c.G.RemoveNode(n)
		if add != nil {
			c.G.RemoveNode(add)
		}
		return true, nil
	},
}

// matMulBias returns the Add that is n's sole reader when its other input is a float32 constant with one value
// per column of n's [.., N] product (shape [N] or [1, …, 1, N]), and that constant as a [N] vector.
func matMulBias(c *Ctx, n *ir.Node, cols int) (*ir.Node, string) {
	v := n.Outputs[0]
	add := c.SoleConsumer(v)
	if add == nil || add.OpType != "Add" || !add.IsDefaultDomain() || len(add.Inputs) != 2 || len(add.Outputs) != 1 || c.IsOutput(v) {
		return nil, ""
	}
	other := add.Inputs[1]
	if other == v {
		other = add.Inputs[0]
	}
	if other == v {
		return nil, ""
	}
	b := f32Const(c, other)
	if b == nil || b.Len() != cols {
		return nil, ""
	}
	// A bias of rank above the product's would broadcast the output to a higher rank.
	if t, ok := c.G.TypeOfValue(v); !ok || !t.HasShape || b.Rank() > len(t.Shape) {
		return nil, ""
	}
	for _, d := range b.Shape[:b.Rank()-1] {
		if d != 1 {
			return nil, ""
		}
	}
	if b.Rank() == 1 {
		return add, other
	}
	return add, c.AddConst(n.Name+"_bias", ir.FromFloat32([]int{cols}, b.F32()))
}
