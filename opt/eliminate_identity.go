package opt

import "github.com/hone-ml/hone/ir"

// eliminateIdentity removes Identity, and Dropout in inference mode, by letting readers of the output read the
// input. When the output is a graph output, the producer of the input is renamed to write it instead; an
// Identity from a graph input (or outer value) straight to a graph output has to stay.
var eliminateIdentity = Pass{
	Name: "eliminate_identity",
	Ops:  []string{"Identity", "Dropout"},
	Match: func(c *Ctx, n *ir.Node) bool {
		if len(n.Inputs) == 0 || n.Inputs[0] == "" || !onlyFirstOutputUsed(c, n) {
			return false
		}
		if n.OpType == "Dropout" && !dropoutIsIdentity(c, n) {
			return false
		}
		y := n.Outputs[0]
		if !c.IsOutput(y) {
			return true
		}
		x := n.Inputs[0]
		return c.Producer(x) != nil && !c.IsOutput(x)
	},
	Apply: func(c *Ctx, n *ir.Node) (bool, error) {
		x, y := n.Inputs[0], n.Outputs[0]
		c.G.RemoveNode(n)
		if !c.IsOutput(y) {
			c.G.ReplaceAllUses(y, x)
			return true, nil
		}
		p := c.Producer(x)
		for i, o := range p.Outputs {
			if o == x {
				p.Outputs[i] = y
			}
		}
		c.G.ReplaceAllUses(x, y)
		if vi, ok := c.G.ValueInfo[x]; ok {
			delete(c.G.ValueInfo, x)
			if _, has := c.G.ValueInfo[y]; !has {
				vi.Name = y
				c.G.ValueInfo[y] = vi
			}
		}
		return true, nil
	},
}

// dropoutIsIdentity reports whether a Dropout passes its input through: always from opset 7 to 11, before
// that unless is_test is 0, and from opset 12 unless training_mode is given and not a constant false.
func dropoutIsIdentity(c *Ctx, n *ir.Node) bool {
	v := c.Opset("")
	switch {
	case v < 7:
		return n.AttrInt("is_test", 0) != 0
	case v < 12:
		return true
	}
	tm := n.Input(2)
	if tm == "" {
		return true
	}
	t := c.Const(tm)
	if t == nil || t.DType != ir.Bool || t.Len() != 1 {
		return false
	}
	return !t.BoolData()[0]
}
