package opt

import (
	"math"

	"github.com/hone-ml/hone/ir"
)

// Small predicates shared by several passes.

// f32Const returns the initializer name as float32 data, or nil when it is absent, not constant or not float32.
func f32Const(c *Ctx, name string) *ir.Tensor {
	t := c.Const(name)
	if t == nil || t.DType != ir.Float32 {
		return nil
	}
	return t
}

// isFloat32 reports whether a value is known to be float32 (from its initializer or inferred type).
func isFloat32(c *Ctx, name string) bool {
	t, ok := c.G.TypeOfValue(name)
	return ok && t.DType == ir.Float32
}

// onlyFirstOutputUsed reports whether every output after the first is omitted or unread.
func onlyFirstOutputUsed(c *Ctx, n *ir.Node) bool {
	for _, o := range n.Outputs[1:] {
		if o != "" && (len(c.Consumers(o)) > 0 || c.IsOutput(o)) {
			return false
		}
	}
	return len(n.Outputs) > 0 && n.Outputs[0] != ""
}

// scalarConst reads an optional scalar (or one-element) float32 constant input; ok is false when the input is
// given but not a usable constant.
func scalarConst(c *Ctx, name string, def float32) (float32, bool) {
	if name == "" {
		return def, true
	}
	t := f32Const(c, name)
	if t == nil || t.Len() != 1 {
		return 0, false
	}
	return t.F32()[0], true
}

// activation describes a fusable activation node as the hone fused ops encode it (see ir/ops.go).
func activation(c *Ctx, n *ir.Node) (name string, params []float32, ok bool) {
	if !n.IsDefaultDomain() || len(n.Inputs) == 0 || !onlyFirstOutputUsed(c, n) {
		return "", nil, false
	}
	switch n.OpType {
	case "Relu", "Sigmoid", "Tanh", "HardSwish":
		return n.OpType, nil, true
	case "LeakyRelu":
		return n.OpType, []float32{n.AttrFloat("alpha", 0.01)}, true
	case "HardSigmoid":
		return n.OpType, []float32{n.AttrFloat("alpha", 0.2), n.AttrFloat("beta", 0.5)}, true
	case "Clip":
		lo, hi := float32(math.Inf(-1)), float32(math.Inf(1))
		if c.Opset("") < 11 {
			return n.OpType, []float32{n.AttrFloat("min", lo), n.AttrFloat("max", hi)}, true
		}
		lo, ok1 := scalarConst(c, n.Input(1), lo)
		hi, ok2 := scalarConst(c, n.Input(2), hi)
		if !ok1 || !ok2 {
			return "", nil, false
		}
		return n.OpType, []float32{lo, hi}, true
	}
	return "", nil, false
}

// fuseActivation replaces base (whose sole consumer is act) by a hone-domain node of type fused: same inputs and
// attributes plus the activation, writing act's outputs. The new node takes base's place in the order.
func fuseActivation(c *Ctx, base, act *ir.Node, fused, actName string, params []float32) {
	attrs := make([]*ir.Attr, 0, len(base.Attrs)+2)
	for _, a := range base.Attrs {
		aa := *a
		attrs = append(attrs, &aa)
	}
	attrs = append(attrs, &ir.Attr{Name: "activation", Type: ir.AttrString, S: actName})
	if len(params) > 0 {
		attrs = append(attrs, &ir.Attr{Name: "activation_params", Type: ir.AttrFloats, Floats: params})
	}
	nn := &ir.Node{Name: base.Name, OpType: fused, Domain: ir.DomainHone, Inputs: append([]string(nil), base.Inputs...),
		Outputs: []string{act.Outputs[0]}, Attrs: attrs, Doc: base.Doc}
	c.G.InsertBefore(base, nn)
	c.G.RemoveNode(base)
	c.G.RemoveNode(act)
}

// channelConst reports whether k, broadcast against a rank-r output [N, M, spatial...], varies at most along the
// channel axis: right-aligned, every axis but axis 1 must be 1 and axis 1 (if k reaches it) must be 1 or m. Such
// a constant is one value per output channel (or one value for all), so it can fold into per-channel weights.
func channelConst(k *ir.Tensor, m, r int) bool {
	if k == nil || k.Rank() > r {
		return false
	}
	for i, d := range k.Shape {
		axis := i + r - k.Rank()
		if axis == 1 {
			if d != 1 && d != m {
				return false
			}
		} else if d != 1 {
			return false
		}
	}
	return true
}

// otherInput returns the input of a two-input node that is not name.
func otherInput(n *ir.Node, name string) string {
	if n.Inputs[0] == name {
		return n.Inputs[1]
	}
	return n.Inputs[0]
}
