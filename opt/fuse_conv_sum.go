package opt

import "github.com/hone-ml/hone/ir"

// fuseConvSum merges a Conv whose only reader is Add(Conv(x), z) — a residual connection, or an FPN merge of an
// upsampled map — into one hone FusedConv with z as its fourth input "Z" (onnxruntime's FusedConv sum input):
// y = act(Conv(x) + z). An activation that solely reads the Add is absorbed too (ResNet's Add → Relu). The
// runtime adds Z right after the convolution, while the output is still in cache, and broadcasts it as Add would
// when its shape is not the output's, so the rewrite never changes what the graph computes.
var fuseConvSum = Pass{
	Name:    "fuse_conv_sum",
	Ops:     []string{"Conv"},
	Creates: []OpRef{{ir.DomainHone, ir.OpFusedConv}},
	Match: func(c *Ctx, n *ir.Node) bool {
		_, _, ok := convSumMatch(c, n)
		return ok
	},
	Apply: func(c *Ctx, n *ir.Node) (bool, error) {
		add, z, _ := convSumMatch(c, n)
		last := add
		attrs := make([]*ir.Attr, 0, len(n.Attrs)+2)
		for _, a := range n.Attrs {
			aa := *a
			attrs = append(attrs, &aa)
		}
		if act := c.SoleConsumer(add.Outputs[0]); act != nil && act.Inputs[0] == add.Outputs[0] {
			if name, params, ok := activation(c, act); ok {
				attrs = append(attrs, &ir.Attr{Name: "activation", Type: ir.AttrString, S: name})
				if len(params) > 0 {
					attrs = append(attrs, &ir.Attr{Name: "activation_params", Type: ir.AttrFloats, Floats: params})
				}
				last = act
			}
		}
		fc := &ir.Node{Name: n.Name, OpType: ir.OpFusedConv, Domain: ir.DomainHone,
			Inputs: []string{n.Inputs[0], n.Inputs[1], n.Input(2), z}, Outputs: []string{last.Outputs[0]},
			Attrs: attrs, Doc: n.Doc}
		// The Add's place, not the Conv's: z may be computed after the Conv.
		c.G.InsertBefore(add, fc)
		c.G.RemoveNode(n)
		c.G.RemoveNode(add)
		if last != add {
			c.G.RemoveNode(last)
		}
		return true, nil
	},
}

// convSumMatch finds the Add that solely reads a float32 Conv with constant weights, and its other operand z,
// which must be computed (constants fold into the bias instead) and not the Conv's own output.
func convSumMatch(c *Ctx, n *ir.Node) (*ir.Node, string, bool) {
	if len(n.Inputs) < 2 || len(n.Inputs) > 3 || len(n.Outputs) != 1 || f32Const(c, n.Inputs[1]) == nil {
		return nil, "", false
	}
	add := c.SoleConsumer(n.Outputs[0])
	if add == nil || add.OpType != "Add" || !add.IsDefaultDomain() || len(add.Inputs) != 2 || len(add.Outputs) != 1 {
		return nil, "", false
	}
	z := otherInput(add, n.Outputs[0])
	if z == n.Outputs[0] || z == "" || c.Const(z) != nil || !isFloat32(c, z) {
		return nil, "", false
	}
	return add, z, true
}
