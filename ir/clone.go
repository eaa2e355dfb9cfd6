package ir

// Clone copies the graph structure (nodes, attributes, value infos, initializer map) so passes can rewrite it
// without touching the original. Tensors are shared, not copied: passes replace initializers, never mutate them.
func (g *Graph) Clone() *Graph {
	c := NewGraph(g.Name)
	c.Doc = g.Doc
	for _, v := range g.Inputs {
		vv := *v
		c.Inputs = append(c.Inputs, &vv)
	}
	for _, v := range g.Outputs {
		vv := *v
		c.Outputs = append(c.Outputs, &vv)
	}
	for k, v := range g.ValueInfo {
		vv := *v
		c.ValueInfo[k] = &vv
	}
	for k, v := range g.Initializers {
		c.Initializers[k] = v
	}
	for k, v := range g.SparseInitializers {
		c.SparseInitializers[k] = v
	}
	c.InitOrder = append([]string(nil), g.InitOrder...)
	for _, n := range g.Nodes {
		c.Nodes = append(c.Nodes, n.Clone())
	}
	return c
}

// Clone copies a node and its attributes (subgraphs are cloned too; tensors are shared).
func (n *Node) Clone() *Node {
	c := *n
	c.Inputs = append([]string(nil), n.Inputs...)
	c.Outputs = append([]string(nil), n.Outputs...)
	c.Attrs = make([]*Attr, len(n.Attrs))
	for i, a := range n.Attrs {
		aa := *a
		if a.G != nil {
			aa.G = a.G.Clone()
		}
		if a.Graphs != nil {
			aa.Graphs = make([]*Graph, len(a.Graphs))
			for j, sg := range a.Graphs {
				aa.Graphs[j] = sg.Clone()
			}
		}
		c.Attrs[i] = &aa
	}
	return &c
}

// Clone copies the model with a cloned graph; Source is shared.
func (m *Model) Clone() *Model {
	c := *m
	c.Opsets = append([]OpsetImport(nil), m.Opsets...)
	c.Metadata = append([]KV(nil), m.Metadata...)
	if m.Graph != nil {
		c.Graph = m.Graph.Clone()
	}
	return &c
}
