package opt

import (
	"fmt"
	"slices"

	"github.com/hone-ml/hone/ir"
)

// explicitBroadcast rewrites an arithmetic, logical or comparison node that broadcasts its second input by its
// op's rule before opset 7, from an explicit axis of the first (Caffe2's per-channel bias, Add(x, b[C],
// broadcast=1, axis=1)), into NumPy broadcasting, the rule every later pass assumes: B gets the trailing
// 1-dimensions that align it (AlignInput) and the node loses both
// attributes. It needs both inputs' ranks; a node whose ranks are unknown stays, and Run then keeps the fusions
// away from the graph (the runtime's kernel applies the old rule itself). The rewritten node is for execution:
// opset 6 has no spelling for NumPy's rule, so such a graph is not saved as is (quant converts to opset 13
// first, see quant/opset.go).
var explicitBroadcast = Pass{
	Name: "explicit_broadcast",
	Match: func(c *Ctx, n *ir.Node) bool {
		return len(n.Inputs) == 2 && ir.UsesLegacyBroadcast(n, c.Opset(""))
	},
	Apply: func(c *Ctx, n *ir.Node) (bool, error) {
		ta, okA := c.G.TypeOfValue(n.Inputs[0])
		tb, okB := c.G.TypeOfValue(n.Inputs[1])
		if !okA || !okB || !ta.HasShape || !tb.HasShape {
			return false, nil
		}
		k, err := ir.LegacyBroadcastOnes(n, c.Opset(""), len(ta.Shape), len(tb.Shape))
		if err != nil {
			return false, err
		}
		if err := AlignInput(c.G, n, len(tb.Shape), k, c.Opset("")); err != nil {
			return false, err
		}
		n.Attrs = slices.DeleteFunc(n.Attrs, func(a *ir.Attr) bool { return a.Name == "broadcast" || a.Name == "axis" })
		return true, nil
	},
	Creates: []OpRef{{"", "Unsqueeze"}},
}

// AlignInput gives input 1 of n, of rank rankB, k trailing 1-dimensions: a reshaped copy when it is an
// initializer, else an Unsqueeze inserted before n in opset's form (axes an attribute before 13, an input from 13).
func AlignInput(g *ir.Graph, n *ir.Node, rankB, k int, opset int64) error {
	if k == 0 {
		return nil
	}
	if b := g.Initializers[n.Inputs[1]]; b != nil {
		r, err := b.Reshape(append(slices.Clone(b.Shape), slices.Repeat([]int{1}, k)...)...)
		if err != nil {
			return fmt.Errorf("%s: %w", n, err)
		}
		name := g.FreshValueName(n.Inputs[1])
		g.SetInitializer(name, r)
		n.Inputs[1] = name
		return nil
	}
	axes := make([]int64, k)
	for i := range axes {
		axes[i] = int64(rankB + i)
	}
	u := &ir.Node{Name: g.FreshNodeName(n.Name + "_unsqueeze"), OpType: "Unsqueeze", Inputs: []string{n.Inputs[1]},
		Outputs: []string{g.FreshValueName(n.Inputs[1] + "_aligned")}}
	if opset >= 13 {
		name := g.FreshValueName("axes")
		g.SetInitializer(name, ir.FromInt64([]int{k}, axes))
		u.Inputs = append(u.Inputs, name)
	} else {
		u.Attrs = []*ir.Attr{{Name: "axes", Type: ir.AttrInts, Ints: axes}}
	}
	g.InsertBefore(n, u)
	n.Inputs[1] = u.Outputs[0]
	return nil
}

// broadcastBlind are the passes that may run while legacyLeft: they fold through the runtime's kernels or move
// no arithmetic.
var broadcastBlind = map[string]bool{explicitBroadcast.Name: true, foldConstantNode.Name: true, eliminateIdentity.Name: true, eliminateDead.Name: true}

// legacyLeft reports whether g still holds a node explicitBroadcast could not rewrite.
func legacyLeft(g *ir.Graph, opset int64) bool {
	return slices.ContainsFunc(g.Nodes, func(n *ir.Node) bool { return ir.UsesLegacyBroadcast(n, opset) })
}
