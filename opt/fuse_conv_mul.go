package opt

import "github.com/hone-ml/hone/ir"

// fuseConvMul folds Mul(Conv(x), s) into the Conv's weights and bias when s is constant and varies only along the
// output channel axis: s·(W∗x + b) = (s·W)∗x + s·b per output channel. PP-LCNet (PP-OCRv4) scales every Conv
// output by a learned scalar this way; folded, the Mul's pass over memory disappears and the following Add and
// activation can fuse too.
var fuseConvMul = Pass{
	Name: "fuse_conv_mul",
	Ops:  []string{"Conv"},
	Match: func(c *Ctx, n *ir.Node) bool {
		_, _, ok := convMulMatch(c, n)
		return ok
	},
	Apply: func(c *Ctx, n *ir.Node) (bool, error) {
		mul, s, _ := convMulMatch(c, n)
		w := f32Const(c, n.Inputs[1])
		m := w.Shape[0]
		scale := func(o int) float64 {
			if s.Len() == m {
				return float64(s.F32()[o])
			}
			return float64(s.F32()[0])
		}
		nw := ir.New(ir.Float32, w.Shape...)
		src, dst := w.F32(), nw.F32()
		per := len(src) / m // W is [M, C/group, k...]: one contiguous block per output channel
		for o := 0; o < m; o++ {
			so := scale(o)
			for i := o * per; i < (o+1)*per; i++ {
				dst[i] = float32(float64(src[i]) * so)
			}
		}
		in := []string{n.Inputs[0], c.AddConst(n.Inputs[1]+"_scaled", nw)}
		if bt := f32Const(c, n.Input(2)); bt != nil {
			nb := ir.New(ir.Float32, m)
			for o, v := range bt.F32() {
				nb.F32()[o] = float32(float64(v) * scale(o))
			}
			in = append(in, c.AddConst(n.Name+"_scaled_bias", nb))
		}
		n.Inputs = in
		n.Outputs = []string{mul.Outputs[0]}
		c.G.RemoveNode(mul)
		return true, nil
	},
}

// convMulMatch finds the Mul by a per-channel constant that solely reads a Conv with constant float32 weights
// (and bias, if any).
func convMulMatch(c *Ctx, n *ir.Node) (*ir.Node, *ir.Tensor, bool) {
	if len(n.Inputs) < 2 || len(n.Outputs) != 1 {
		return nil, nil, false
	}
	w := f32Const(c, n.Inputs[1])
	if w == nil || w.Rank() < 3 || w.Shape[0] == 0 {
		return nil, nil, false
	}
	m, r := w.Shape[0], w.Rank()
	if n.Input(2) != "" {
		if b := f32Const(c, n.Inputs[2]); b == nil || b.Len() != m {
			return nil, nil, false
		}
	}
	mul := c.SoleConsumer(n.Outputs[0])
	if mul == nil || mul.OpType != "Mul" || !mul.IsDefaultDomain() || len(mul.Inputs) != 2 {
		return nil, nil, false
	}
	s := f32Const(c, otherInput(mul, n.Outputs[0]))
	if !channelConst(s, m, r) || s.Len() == 0 {
		return nil, nil, false
	}
	return mul, s, true
}
