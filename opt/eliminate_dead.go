package opt

import "github.com/hone-ml/hone/ir"

// eliminateDead removes nodes none of whose outputs is read by another node (or subgraph) or is a graph
// output. Sweeping last node first, a whole dead chain goes in one pass.
var eliminateDead = Pass{
	Name: "eliminate_dead",
	Match: func(c *Ctx, n *ir.Node) bool {
		for _, o := range n.Outputs {
			if o != "" && (len(c.Consumers(o)) > 0 || c.IsOutput(o)) {
				return false
			}
		}
		return true
	},
	Apply: func(c *Ctx, n *ir.Node) (bool, error) {
		return c.G.RemoveNode(n), nil
	},
}
