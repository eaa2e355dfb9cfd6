package opt

import "github.com/hone-ml/hone/ir"

// fuseQDQConvFloat rewrites DQ(x), DQ(w)[, DQ(bias)] → Conv whose output stays float (no QuantizeLinear follows,
// so fuse_qdq_conv left it) into hone's QConvFloat: the convolution runs on the integers and its GEMM epilogue
// dequantizes, float32(Σ (x − zx)·w + bias)·(x_scale·w_scale), instead of dequantizing x and w and convolving in
// float. The inputs must meet fuse_qdq_conv's conditions. PP-OCRv4 det's last 3×3 Conv (feeding BatchNorm → Relu
// → ConvTranspose in float) is one.
var fuseQDQConvFloat = Pass{
	Name:    "fuse_qdq_conv_float",
	Ops:     []string{"Conv"},
	Creates: []OpRef{{ir.DomainHone, ir.OpQConvFloat}},
	Match: func(c *Ctx, n *ir.Node) bool {
		_, ok := qdqConvInputs(c, n)
		return ok
	},
	Apply: func(c *Ctx, n *ir.Node) (bool, error) {
		m, _ := qdqConvInputs(c, n)
		in := []string{m.x.Q, m.w.Q, m.b.Q,
			c.Producer(n.Inputs[0]).Inputs[1], c.qdqZeroPoint(m.x, m.x.dtype(c), n.Name+"_x_zero_point"),
			c.Producer(n.Inputs[1]).Inputs[1], c.qdqZeroPoint(m.w, ir.Int8, n.Name+"_w_zero_point")}
		qc := &ir.Node{Name: n.Name, OpType: ir.OpQConvFloat, Domain: ir.DomainHone, Inputs: in, Outputs: n.Outputs, Attrs: n.Attrs}
		c.G.InsertBefore(n, qc)
		c.G.RemoveNode(n)
		return true, nil
	},
}
