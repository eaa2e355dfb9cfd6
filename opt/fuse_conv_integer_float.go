package opt

import (
	"slices"

	"github.com/hone-ml/hone/ir"
)

// fuseConvIntegerFloat rewrites ConvInteger → Cast(float) → Mul(scale) — what ONNX Runtime's dynamic quantizer
// writes for a Conv, the scale being Mul(x_scale, w_scale) — into hone's QConvFloat, the integer convolution whose
// epilogue dequantizes as it stores: float32(S)·(x_scale·w_scale[m]). That is the float32 arithmetic the chain
// does, in the same order, so the result is bit-identical, without an int32 tensor and two element-wise passes
// over it; depthwise layers also reach the vectorized integer kernels, which ConvInteger's int32 output has none
// of. A bias Add of a constant per output channel after the Mul becomes QConvFloat's float bias, added after the
// scaling as the Add does (a Conv with BatchNormalization folded into it has one: the Add was 14 % of MobileNetV2's
// dynamic int8 time).
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
		out := m.mul.Outputs[0]
		w := c.Const(n.Inputs[1])
		add, bias := convFloatBias(c, m.mul, w.Shape[0], w.Rank())
		if add != nil {
			b := make([]float32, w.Shape[0])
			for i := range b {
				b[i] = bias.F32()[min(i, bias.Len()-1)]
			}
			in, out = append(in, c.AddConst(n.Name+"_float_bias", ir.FromFloat32([]int{len(b)}, b))), add.Outputs[0]
		}
		qc := &ir.Node{Name: n.Name, OpType: ir.OpQConvFloat, Domain: ir.DomainHone, Inputs: in,
			Outputs: []string{out}, Attrs: n.Attrs}
		c.G.InsertBefore(n, qc)
		for _, r := range []*ir.Node{n, m.cast, m.mul, add} {
			if r != nil {
				c.G.RemoveNode(r)
			}
		}
		return true, nil
	},
}

// convFloatBias matches the Add that alone reads mul's output and adds a float32 constant of one value or one per
// output channel (convChannelConst) without broadcasting the result further; it returns the Add and the constant.
func convFloatBias(c *Ctx, mul *ir.Node, M, wRank int) (*ir.Node, *ir.Tensor) {
	add := c.SoleConsumer(mul.Outputs[0])
	if add == nil || add.OpType != "Add" || !add.IsDefaultDomain() || len(add.Inputs) != 2 || len(add.Outputs) != 1 {
		return nil, nil
	}
	b := otherInput(add, mul.Outputs[0])
	if b == "" || b == mul.Outputs[0] || !convChannelConst(c, b, M, wRank) {
		return nil, nil
	}
	yt, ok := c.G.TypeOfValue(mul.Outputs[0])
	at, aok := c.G.TypeOfValue(add.Outputs[0])
	if !ok || !aok || !yt.HasShape || !at.HasShape || !slices.Equal(yt.Shape, at.Shape) {
		return nil, nil
	}
	return add, f32Const(c, b)
}

// convChannelConst reports whether v is a float32 constant of one value, or of M values along a convolution
// output's axis 1 (weights of rank wRank): shape [M, 1, …] with one 1 per spatial axis, or that with leading 1s.
func convChannelConst(c *Ctx, v string, M, wRank int) bool {
	t := f32Const(c, v)
	if t == nil {
		return false
	}
	if t.Len() == 1 {
		return t.Rank() <= wRank
	}
	if t.Len() != M || t.Rank() < wRank-1 || t.Rank() > wRank {
		return false
	}
	for i, d := range t.Shape {
		if want := 1; i == t.Rank()-(wRank-1) {
			if d != M {
				return false
			}
		} else if d != want {
			return false
		}
	}
	return true
}

// convIntegerFloat matches the Cast and scaling Mul after ConvInteger n; aScale is the scalar factor and bScale
// the per-channel one ("" where the scale has no such factor).
func convIntegerFloat(c *Ctx, n *ir.Node) (intFloatMatch, bool) {
	var m intFloatMatch
	if !n.IsDefaultDomain() || len(n.Inputs) < 2 || len(n.Outputs) != 1 {
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
	perChannel := func(v string) bool { return convChannelConst(c, v, M, w.Rank()) }
	m.aScale, m.bScale, ok = splitScale(c, s, scalar, perChannel)
	return m, ok
}
