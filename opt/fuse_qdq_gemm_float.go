package opt

import "github.com/hone-ml/hone/ir"

// fuseQDQGemmFloat rewrites DQ(a), DQ(b)[, DQ(bias)] → Gemm whose output stays float (no QuantizeLinear follows,
// so fuse_qdq_gemm left it) into QGemm without y_scale, whose epilogue dequantizes:
// y = float32(Σ (a − za)·b + C)·(a_scale·b_scale[j]), as ONNX Runtime's QDQ selectors do for a Gemm with no Q
// after it. The inputs must match as for fuse_qdq_gemm. A classifier's last layer is such a Gemm: ResNet-18's
// 512 → 1000 ran in float on weights dequantized at load, reading 2 MB of float32 per image for 0.5 M
// multiply-adds.
var fuseQDQGemmFloat = Pass{
	Name:    "fuse_qdq_gemm_float",
	Ops:     []string{"Gemm"},
	Creates: []OpRef{{ir.DomainMicrosoft, "QGemm"}},
	Match: func(c *Ctx, n *ir.Node) bool {
		if _, ok := qdqGemmInputs(c, n); !ok {
			return false
		}
		_, _, _, quantized := qOutput(c, n.Outputs[0])
		return !quantized
	},
	Apply: func(c *Ctx, n *ir.Node) (bool, error) {
		m, _ := qdqGemmInputs(c, n)
		in := []string{
			m.x.Q, c.Producer(n.Inputs[0]).Inputs[1], c.qdqZeroPoint(m.x, m.x.dtype(c), n.Name+"_a_zero_point"),
			m.w.Q, c.Producer(n.Inputs[1]).Inputs[1], c.qdqZeroPoint(m.w, ir.Int8, n.Name+"_b_zero_point"),
		}
		if m.b.Q != "" {
			in = append(in, m.b.Q)
		}
		qg := &ir.Node{Name: n.Name, OpType: "QGemm", Domain: ir.DomainMicrosoft, Inputs: in, Outputs: []string{n.Outputs[0]},
			Attrs: []*ir.Attr{{Name: "transB", Type: ir.AttrInt, I: n.AttrInt("transB", 0)}}}
		c.G.InsertBefore(n, qg)
		c.G.RemoveNode(n)
		return true, nil
	},
}
