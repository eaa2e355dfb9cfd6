package opt

import (
	"github.com/hone-ml/hone/ir"
)

// foldQDQCast replaces Cast(c) of a constant with the converted constant when the conversion is exact (float16
// to float32, int8 or int16 to int32) and the result only feeds quantization parameters: DequantizeLinear
// inputs, or a Mul that only feeds DequantizeLinear scales (fold_qdq_scale's pattern, which it then folds).
// hone's static quantizer stores per-channel weight scales as float16 and small int32 biases as int8 or int16
// behind such Casts to keep the file small (quant.halfScales, quant.narrowInts); the QDQ fusions need them as
// constants of the types DequantizeLinear reads, and they run before fold_shape.
var foldQDQCast = Pass{
	Name: "fold_qdq_cast",
	Ops:  []string{"Cast"},
	Match: func(c *Ctx, n *ir.Node) bool {
		if len(n.Inputs) != 1 || len(n.Outputs) != 1 || c.IsOutput(n.Outputs[0]) || len(c.Consumers(n.Outputs[0])) == 0 {
			return false
		}
		t := c.Const(n.Inputs[0])
		if t == nil || !exactCast(t.DType, ir.DType(n.AttrInt("to", 0))) {
			return false
		}
		for _, r := range c.Consumers(n.Outputs[0]) {
			switch {
			case r.OpType == "DequantizeLinear" && r.IsDefaultDomain():
			case r.OpType == "Mul" && r.IsDefaultDomain() && feedsScalesOnly(c, r.Outputs):
			default:
				return false
			}
		}
		return true
	},
	Apply: func(c *Ctx, n *ir.Node) (bool, error) {
		t := c.Const(n.Inputs[0])
		var out *ir.Tensor
		if t.DType == ir.Float16 {
			out = ir.New(ir.Float32, t.Shape...)
			for i, h := range t.Bits16() {
				out.F32()[i] = ir.HalfToFloat(h)
			}
		} else {
			out = ir.New(ir.Int32, t.Shape...)
			for i := range out.I32() {
				if t.DType == ir.Int8 {
					out.I32()[i] = int32(t.I8()[i])
				} else {
					out.I32()[i] = int32(t.I16()[i])
				}
			}
		}
		c.G.RemoveNode(n)
		c.G.SetInitializer(n.Outputs[0], out)
		return true, nil
	},
}

// exactCast reports whether foldQDQCast converts from to to: the widenings quantization parameters are stored
// with, each exact.
func exactCast(from, to ir.DType) bool {
	return (from == ir.Float16 && to == ir.Float32) || ((from == ir.Int8 || from == ir.Int16) && to == ir.Int32)
}

// feedsScalesOnly reports whether outs is one value read only as the scale of DequantizeLinear nodes.
func feedsScalesOnly(c *Ctx, outs []string) bool {
	if len(outs) != 1 || c.IsOutput(outs[0]) || len(c.Consumers(outs[0])) == 0 {
		return false
	}
	for _, r := range c.Consumers(outs[0]) {
		if r.OpType != "DequantizeLinear" || !r.IsDefaultDomain() || r.Input(1) != outs[0] || r.Input(0) == outs[0] || r.Input(2) == outs[0] {
			return false
		}
	}
	return true
}
