package opt

import "github.com/hone-ml/hone/ir"

// fuseQDQConvTranspose rewrites DQ(x), DQ(w)[, DQ(bias)] → ConvTranspose [→ Relu/Clip → Q] into hone's
// QConvTranspose, which runs it on the integers: a u8×s8 GEMM of the input pixels by W as a [C, M·kh·kw] matrix,
// then each output row interleaved from its taps' columns. Conditions: the kernel patches tile the output (kernel =
// stride, no padding, dilation or extra output; the 2×2/stride-2 upsampling of PP-OCR det's head), no groups, 2-D;
// x per-tensor 8-bit; w a constant int8 tensor, per tensor or per output channel (axis 1) with zero points 0; the
// bias, if any, a constant int32 tensor with zero point 0 and scale x_scale·w_scale. With a Q after it (or a
// Relu/Clip the Q makes redundant, see qOutput) the output is requantized in the GEMM's epilogue; without one it
// is dequantized there (det's last ConvTranspose, read by Sigmoid).
var fuseQDQConvTranspose = Pass{
	Name:    "fuse_qdq_convtranspose",
	Ops:     []string{"ConvTranspose"},
	Creates: []OpRef{{ir.DomainHone, ir.OpQConvTranspose}},
	Match: func(c *Ctx, n *ir.Node) bool {
		_, ok := qdqConvTransposeInputs(c, n)
		return ok
	},
	Apply: func(c *Ctx, n *ir.Node) (bool, error) {
		m, _ := qdqConvTransposeInputs(c, n)
		in := []string{m.x.Q, m.w.Q, m.b.Q,
			c.Producer(n.Inputs[0]).Inputs[1], c.qdqZeroPoint(m.x, m.x.dtype(c), n.Name+"_x_zero_point"),
			c.Producer(n.Inputs[1]).Inputs[1], c.qdqZeroPoint(m.w, ir.Int8, n.Name+"_w_zero_point")}
		out := n.Outputs[0]
		q, y, removed, ok := qOutput(c, out)
		if ok {
			in = append(in, q.Inputs[1], c.qdqZeroPoint(y, ir.Uint8, n.Name+"_y_zero_point"))
			out = y.Q
		}
		qt := &ir.Node{Name: n.Name, OpType: ir.OpQConvTranspose, Domain: ir.DomainHone, Inputs: in, Outputs: []string{out}, Attrs: n.Attrs}
		c.G.InsertBefore(n, qt)
		c.G.RemoveNode(n)
		for _, r := range removed {
			c.G.RemoveNode(r)
		}
		return true, nil
	},
}

// qdqConvTransposeInputs matches the dequantized inputs of a tiling ConvTranspose (see fuseQDQConvTranspose).
func qdqConvTransposeInputs(c *Ctx, n *ir.Node) (qdqConv, bool) {
	if n.AttrInt("group", 1) != 1 {
		return qdqConv{}, false
	}
	return qdqWeightedInputs(c, n, 1, func(w *ir.Tensor) bool { return ConvTransposeTiles(n, w.Shape) })
}

// ConvTransposeTiles reports whether a 2-D ConvTranspose with weights of shape ws ([C, M, kh, kw]) tiles its
// output: kernel = stride, no padding, dilation, output padding or output shape, auto_pad NOTSET or VALID.
func ConvTransposeTiles(n *ir.Node, ws []int) bool {
	if len(ws) != 4 || n.AttrInts("output_shape", nil) != nil {
		return false
	}
	if ap := n.AttrString("auto_pad", "NOTSET"); ap != "NOTSET" && ap != "VALID" {
		return false
	}
	if k := n.AttrInts("kernel_shape", nil); k != nil && (len(k) != 2 || k[0] != int64(ws[2]) || k[1] != int64(ws[3])) {
		return false
	}
	s := n.AttrInts("strides", []int64{1, 1})
	if len(s) != 2 || s[0] != int64(ws[2]) || s[1] != int64(ws[3]) {
		return false
	}
	for _, name := range []string{"pads", "output_padding"} {
		for _, v := range n.AttrInts(name, nil) {
			if v != 0 {
				return false
			}
		}
	}
	for _, v := range n.AttrInts("dilations", nil) {
		if v != 1 {
			return false
		}
	}
	return true
}
