package opt

import "github.com/hone-ml/hone/ir"

// fuseConvIntegerFloat rewrites ConvInteger → Cast(float) → Mul(scale) — what ONNX Runtime's dynamic quantizer
// writes for a Conv, the scale being Mul(x_scale, w_scale) — into hone's QConvFloat, the integer convolution whose
// epilogue dequantizes as it stores: float32(S)·(x_scale·w_scale[m]). That is the float32 arithmetic the chain
// does, in the same order, so the result is bit-identical, without an int32 tensor and two element-wise passes
// over it; depthwise layers also reach the vectorized integer kernels, which ConvInteger's int32 output has none
// of. A bias Add after the Mul stays as it is.
//
// The scale may be Mul(x_scale, w_scale) with x_scale a scalar and w_scale a constant scalar or one value per
// output channel (shaped to broadcast along the output's axis 1), either operand order, or either factor alone.
// W and its zero point must be constants.
var fuseConvIntegerFloat = Pass{
	Name:    "fuse_conv_integer_float",
	Ops:     []string{"ConvInteger"},
	Creates: []OpRef{{ir.DomainHone, ir.OpQConvFloat}},
	Match: func(c *Ctx, n *ir.Node) bool {
		_, ok := convIntegerFloat(c, n)
		return ok
	},
	Apply: func(c *Ctx, n *ir.Node) (bool, error) {
		m, ok := convIntegerFloat(c, n)
		if !ok {
			return false, nil
		}
		one := func(which string) string { return c.AddConst(n.Name+"_"+which, ir.Scalar(1)) }
		zero := func(v, which string) string { // ConvInteger's absent zero point: 0 of its input's type
			if z := n.Input(map[string]int{"x": 2, "w": 3}[which]); z != "" {
				return z
			}
			t, _ := c.G.TypeOfValue(v)
			return c.AddConst(n.Name+"_"+which+"_zero_point", ir.New(t.DType))
		}
		xScale, wScale := m.aScale, m.bScale
		if xScale == "" {
			xScale = one("x_scale")
		}
		if wScale == "" {
			wScale = one("w_scale")
		}
		in := []string{n.Inputs[0], n.Inputs[1], "", xScale, zero(n.Inputs[0], "x"), wScale, zero(n.Inputs[1], "w")}
		qc := &ir.Node{Name: n.Name, OpType: ir.OpQConvFloat, Domain: ir.DomainHone, Inputs: in,
			Outputs: []string{m.mul.Outputs[0]}, Attrs: n.Attrs}
		c.G.InsertBefore(n, qc)
		for _, r := range []*ir.Node{n, m.cast, m.mul} {
			c.G.RemoveNode(r)
		}
		return true, nil
	},
}

// convIntegerFloat matches the Cast and scaling Mul after ConvInteger n; aScale is the scalar factor and bScale
// the per-channel one ("" where the scale has no such factor).
func convIntegerFloat(c *Ctx, n *ir.Node) (intFloatMatch, bool) {
	var m intFloatMatch
	if !isDefaultDomain(n) || len(n.Inputs) < 2 || len(n.Outputs) != 1 {
		return m, false
	}
	w := c.Const(n.Input(1))
	if w == nil || w.Rank() < 3 || (w.DType != ir.Int8 && w.DType != ir.Uint8) {
		return m, false
	}
	if z := n.Input(3); z != "" && c.Const(z) == nil {
		return m, false
	}
	xt, ok := c.G.TypeOfValue(n.Inputs[0])
	if !ok || (xt.DType != ir.Int8 && xt.DType != ir.Uint8) {
		return m, false
	}
	M := w.Shape[0]
	var s string
	if m.cast, m.mul, s = intFloatChain(c, n); m.mul == nil {
		return m, false
	}
	scalar := func(v string) bool {
		t, ok := c.G.TypeOfValue(v)
		return ok && t.DType == ir.Float32 && t.HasShape && shapeProduct(t.Shape) == 1 && len(t.Shape) <= w.Rank()
	}
	// perChannel: a float32 constant of one value, or M values along the output's axis 1: shape [M, 1, …] with
	// one 1 per spatial axis, or that with leading 1s.
	perChannel := func(v string) bool {
		t := f32Const(c, v)
		if t == nil {
			return false
		}
		if t.Len() == 1 {
			return t.Rank() <= w.Rank()
		}
		if t.Len() != M || t.Rank() < w.Rank()-1 || t.Rank() > w.Rank() {
			return false
		}
		for i, d := range t.Shape {
			if want := 1; i == t.Rank()-(w.Rank()-1) {
				if d != M {
					return false
				}
			} else if d != want {
				return false
			}
		}
		return true
	}
	m.aScale, m.bScale, ok = splitScale(c, s, scalar, perChannel)
	return m, ok
}
