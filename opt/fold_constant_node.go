package opt

import (
	"github.com/hone-ml/hone/ir"
)

// foldConstantNode turns Constant nodes into initializers, so later passes and the runtime see their values
// through one mechanism.
var foldConstantNode = Pass{
	Name: "fold_constant_node",
	Ops:  []string{"Constant"},
	Match: func(c *Ctx, n *ir.Node) bool {
		_, ok := constantValue(n)
		return ok && len(n.Outputs) == 1 && n.Outputs[0] != ""
	},
	Apply: func(c *Ctx, n *ir.Node) (bool, error) {
		t, _ := constantValue(n)
		c.G.RemoveNode(n)
		c.G.SetInitializer(n.Outputs[0], t)
		return true, nil
	},
}

// constantValue decodes a Constant node's one value attribute. Sparse values are not handled here (the runtime
// densifies them).
func constantValue(n *ir.Node) (*ir.Tensor, bool) {
	if len(n.Attrs) != 1 {
		return nil, false
	}
	a := n.Attrs[0]
	switch a.Name {
	case "value":
		return a.T, a.T != nil
	case "value_float":
		return ir.Scalar(a.F), true
	case "value_floats":
		return ir.FromFloat32([]int{len(a.Floats)}, append([]float32(nil), a.Floats...)), true
	case "value_int":
		return ir.FromInt64(nil, []int64{a.I}), true
	case "value_ints":
		return ir.FromInt64([]int{len(a.Ints)}, append([]int64(nil), a.Ints...)), true
	case "value_string":
		t := ir.New(ir.String)
		t.Strings[0] = a.S
		return t, true
	case "value_strings":
		t := ir.New(ir.String, len(a.Strings))
		copy(t.Strings, a.Strings)
		return t, true
	}
	return nil, false
}
