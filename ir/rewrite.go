package ir

import (
	"fmt"
	"strconv"
)

// Rewrite helpers shared by the lossless (opt) and lossy (quant, prune) passes. They keep g.Nodes in topological
// order when their callers do: a node inserted before its first reader, or after its last input's producer, stays
// sorted.

// ReplaceAllUses makes every reader of value old read value new instead: node inputs, and the subgraphs
// (If/Loop/Scan bodies) that read old from this scope without defining it themselves. Graph outputs are left
// alone, since renaming an output changes the model's interface; use RenameValue for that.
func (g *Graph) ReplaceAllUses(old, new string) {
	if old == "" || old == new {
		return
	}
	for _, n := range g.Nodes {
		for i, in := range n.Inputs {
			if in == old {
				n.Inputs[i] = new
			}
		}
		replaceInSubgraphs(n, old, new)
	}
}

// replaceInSubgraphs renames outer-scope reads of old inside n's subgraphs; a subgraph that defines old itself
// shadows the outer value, so it (and everything nested in it) is left alone.
func replaceInSubgraphs(n *Node, old, new string) {
	for _, a := range n.Attrs {
		for _, sg := range attrGraphs(a) {
			if sg.defines(old) {
				continue
			}
			sg.ReplaceAllUses(old, new)
			for _, o := range sg.Outputs {
				if o.Name == old {
					o.Name = new
				}
			}
		}
	}
}

func attrGraphs(a *Attr) []*Graph {
	var gs []*Graph
	if a.G != nil {
		gs = append(gs, a.G)
	}
	return append(gs, a.Graphs...)
}

// defines reports whether g itself (not an enclosing scope) provides the value name.
func (g *Graph) defines(name string) bool {
	if _, ok := g.Initializers[name]; ok {
		return true
	}
	for _, in := range g.Inputs {
		if in.Name == name {
			return true
		}
	}
	for _, n := range g.Nodes {
		for _, o := range n.Outputs {
			if o == name {
				return true
			}
		}
	}
	return false
}

// RemoveNode deletes n from the graph (by identity). Its outputs become undefined: callers first redirect their
// readers. It reports whether n was found.
func (g *Graph) RemoveNode(n *Node) bool {
	for i, m := range g.Nodes {
		if m == n {
			g.Nodes = append(g.Nodes[:i], g.Nodes[i+1:]...)
			return true
		}
	}
	return false
}

// InsertBefore puts n just before anchor (at the end when anchor is not in the graph).
func (g *Graph) InsertBefore(anchor, n *Node) {
	g.insertAt(g.indexOf(anchor), n)
}

// InsertAfter puts n just after anchor (at the end when anchor is not in the graph).
func (g *Graph) InsertAfter(anchor, n *Node) {
	i := g.indexOf(anchor)
	if i >= 0 {
		i++
	}
	g.insertAt(i, n)
}

func (g *Graph) indexOf(n *Node) int {
	for i, m := range g.Nodes {
		if m == n {
			return i
		}
	}
	return -1
}

func (g *Graph) insertAt(i int, n *Node) {
	if i < 0 || i >= len(g.Nodes) {
		g.Nodes = append(g.Nodes, n)
		return
	}
	g.Nodes = append(g.Nodes, nil)
	copy(g.Nodes[i+1:], g.Nodes[i:])
	g.Nodes[i] = n
}

// names collects every value and node name used in g and its subgraphs, so fresh names never collide with a
// name that a subgraph could capture from this scope.
func (g *Graph) names(values, nodes map[string]bool) {
	for _, v := range g.Inputs {
		values[v.Name] = true
	}
	for _, v := range g.Outputs {
		values[v.Name] = true
	}
	for k := range g.Initializers {
		values[k] = true
	}
	for k := range g.ValueInfo {
		values[k] = true
	}
	for _, n := range g.Nodes {
		nodes[n.Name] = true
		for _, s := range n.Inputs {
			values[s] = true
		}
		for _, s := range n.Outputs {
			values[s] = true
		}
		for _, a := range n.Attrs {
			for _, sg := range attrGraphs(a) {
				sg.names(values, nodes)
			}
		}
	}
}

// FreshValueName returns base, or base_1, base_2, … — the first that names no value in g or its subgraphs.
func (g *Graph) FreshValueName(base string) string {
	values, nodes := map[string]bool{}, map[string]bool{}
	g.names(values, nodes)
	return fresh(base, values)
}

// FreshNodeName returns base, or base_1, base_2, … — the first that names no node in g or its subgraphs.
func (g *Graph) FreshNodeName(base string) string {
	values, nodes := map[string]bool{}, map[string]bool{}
	g.names(values, nodes)
	return fresh(base, nodes)
}

func fresh(base string, used map[string]bool) string {
	if base != "" && !used[base] {
		return base
	}
	for i := 1; ; i++ {
		s := base + "_" + strconv.Itoa(i)
		if !used[s] {
			return s
		}
	}
}

// RenameValue renames a value everywhere in g: its producer, readers (subgraphs included), graph inputs and
// outputs, value info and initializer. It fails if new is already in use, since two values would merge.
func (g *Graph) RenameValue(old, new string) error {
	if old == new {
		return nil
	}
	values, nodes := map[string]bool{}, map[string]bool{}
	g.names(values, nodes)
	if values[new] {
		return fmt.Errorf("ir: cannot rename %q to %q: the name is taken", old, new)
	}
	for _, n := range g.Nodes {
		for i, o := range n.Outputs {
			if o == old {
				n.Outputs[i] = new
			}
		}
	}
	g.ReplaceAllUses(old, new)
	for _, vs := range [][]*ValueInfo{g.Inputs, g.Outputs} {
		for _, v := range vs {
			if v.Name == old {
				v.Name = new
			}
		}
	}
	if vi, ok := g.ValueInfo[old]; ok {
		delete(g.ValueInfo, old)
		vi.Name = new
		g.ValueInfo[new] = vi
	}
	if t, ok := g.Initializers[old]; ok {
		delete(g.Initializers, old)
		g.Initializers[new] = t
		for i, n := range g.InitOrder {
			if n == old {
				g.InitOrder[i] = new
			}
		}
		if g.SparseInitializers[old] {
			delete(g.SparseInitializers, old)
			g.SparseInitializers[new] = true
		}
	}
	return nil
}

// RemoveUnused deletes initializers that nothing reads (nodes, subgraphs, graph outputs), together with their
// entries in Inputs, and value infos of values that no longer exist. It returns how many initializers went.
func (g *Graph) RemoveUnused() int {
	used := map[string]bool{}
	for _, o := range g.Outputs {
		used[o.Name] = true
	}
	for _, n := range g.Nodes {
		for _, in := range n.Inputs {
			used[in] = true
		}
		for _, name := range subgraphFreeNames(n) {
			used[name] = true
		}
	}
	gone := map[string]bool{}
	for _, name := range append([]string(nil), g.InitOrder...) {
		if !used[name] {
			g.RemoveInitializer(name)
			gone[name] = true
		}
	}
	for name := range g.Initializers {
		if !used[name] {
			delete(g.Initializers, name)
			gone[name] = true
		}
	}
	for name := range g.SparseInitializers {
		if _, ok := g.Initializers[name]; !ok {
			delete(g.SparseInitializers, name)
		}
	}
	// Older models list initializers among the inputs too; those entries go with their initializer. Real
	// inputs are the model's interface and stay even when unread.
	inputs := g.Inputs[:0]
	for _, in := range g.Inputs {
		if !gone[in.Name] {
			inputs = append(inputs, in)
		}
	}
	g.Inputs = inputs
	live := map[string]bool{}
	for _, n := range g.Nodes {
		for _, o := range n.Outputs {
			live[o] = true
		}
	}
	for _, v := range g.Inputs {
		live[v.Name] = true
	}
	for _, v := range g.Outputs {
		live[v.Name] = true
	}
	for name := range g.ValueInfo {
		if !live[name] {
			delete(g.ValueInfo, name)
		}
	}
	return len(gone)
}

// Validate checks the graph's structure: every value read is defined (by an input, initializer, node or, for
// subgraphs, the enclosing scope), no value has two producers, the graph is acyclic, and each graph output
// exists. Subgraphs are checked with this graph's names in scope. It does not reorder g.
func (g *Graph) Validate() error { return g.ValidateIn(nil) }

// ValidateIn is Validate for a subgraph that may read the names in outer from its enclosing scopes.
func (g *Graph) ValidateIn(outer map[string]bool) error {
	c := *g
	c.Nodes = append([]*Node(nil), g.Nodes...)
	if err := c.Sort(outer); err != nil {
		return err
	}
	scope := map[string]bool{}
	for k := range outer {
		scope[k] = true
	}
	for _, in := range g.Inputs {
		scope[in.Name] = true
	}
	for k := range g.Initializers {
		scope[k] = true
	}
	for _, n := range g.Nodes {
		for _, o := range n.Outputs {
			if o != "" {
				scope[o] = true
			}
		}
	}
	for _, o := range g.Outputs {
		if !scope[o.Name] {
			return fmt.Errorf("ir: graph %q: output %q is produced by no node, input or initializer", g.Name, o.Name)
		}
	}
	for _, n := range g.Nodes {
		for _, a := range n.Attrs {
			for _, sg := range attrGraphs(a) {
				if err := sg.ValidateIn(scope); err != nil {
					return fmt.Errorf("ir: %s: attribute %q: %w", n, a.Name, err)
				}
			}
		}
	}
	return nil
}
