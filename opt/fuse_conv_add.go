package opt

import "github.com/hone-ml/hone/ir"

// fuseConvAdd folds Add(Conv(x), c) into the Conv's bias when c is constant and varies only along the output
// channel axis (shapes like [M,1,1], [1,M,1,1], [1] or a scalar), the form exporters emit for a separate bias.
var fuseConvAdd = Pass{
	Name: "fuse_conv_add",
	Ops:  []string{"Conv"},
	Match: func(c *Ctx, n *ir.Node) bool {
		_, _, ok := convAddMatch(c, n)
		return ok
	},
	Apply: func(c *Ctx, n *ir.Node) (bool, error) {
		add, addC, _ := convAddMatch(c, n)
		m := c.Const(n.Inputs[1]).Shape[0]
		nb := ir.New(ir.Float32, m)
		var b []float32
		if bt := f32Const(c, n.Input(2)); bt != nil {
			b = bt.F32()
		}
		cv := addC.F32()
		for o := 0; o < m; o++ {
			v := cv[0]
			if len(cv) == m {
				v = cv[o]
			}
			if b != nil {
				v += b[o]
			}
			nb.F32()[o] = v
		}
		bName := c.AddConst(n.Name+"_bias", nb)
		n.Inputs = []string{n.Inputs[0], n.Inputs[1], bName}
		n.Outputs = []string{add.Outputs[0]}
		c.G.RemoveNode(add)
		return true, nil
	},
}

func convAddMatch(c *Ctx, n *ir.Node) (*ir.Node, *ir.Tensor, bool) {
	if len(n.Inputs) < 2 || len(n.Outputs) != 1 {
		return nil, nil, false
	}
	w := f32Const(c, n.Inputs[1])
	if w == nil || w.Rank() < 3 {
		return nil, nil, false
	}
	m, r := w.Shape[0], w.Rank()
	if n.Input(2) != "" {
		if b := f32Const(c, n.Inputs[2]); b == nil || b.Len() != m {
			return nil, nil, false
		}
	}
	add := c.SoleConsumer(n.Outputs[0])
	if add == nil || add.OpType != "Add" || !isDefaultDomain(add) || len(add.Inputs) != 2 {
		return nil, nil, false
	}
	k := f32Const(c, otherInput(add, n.Outputs[0]))
	if !channelConst(k, m, r) {
		return nil, nil, false
	}
	return add, k, true
}
