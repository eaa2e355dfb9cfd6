package bench

import "github.com/hone-ml/hone/ir"

// Parameters counts a model's stored elements: its initializers and the values of its Constant nodes (the
// same count `hone inspect` reports). Subgraph constants are included, since they ship in the file too.
func Parameters(m *ir.Model) int64 {
	if m == nil || m.Graph == nil {
		return 0
	}
	return graphParams(m.Graph)
}

func graphParams(g *ir.Graph) int64 {
	var n int64
	for _, t := range g.Initializers {
		n += int64(t.Len())
	}
	for _, node := range g.Nodes {
		for _, a := range node.Attrs {
			if node.OpType == "Constant" && a.T != nil {
				n += int64(a.T.Len())
			}
			if a.G != nil {
				n += graphParams(a.G)
			}
			for _, sg := range a.Graphs {
				n += graphParams(sg)
			}
		}
	}
	return n
}
