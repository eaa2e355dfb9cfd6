package ir

import (
	"errors"
	"fmt"
)

// ErrCycle is returned (wrapped) when a graph's nodes cannot be ordered.
var ErrCycle = errors.New("graph has a cycle")

// Sort orders g.Nodes topologically (stable: ties keep their original order). Values produced by no node must be
// graph inputs or initializers, or be outer-scope names listed in outer (for subgraphs); anything else is an error.
func (g *Graph) Sort(outer map[string]bool) error {
	producer := make(map[string]int, len(g.Nodes))
	for i, n := range g.Nodes {
		for _, o := range n.Outputs {
			if o == "" {
				continue
			}
			if j, dup := producer[o]; dup {
				return fmt.Errorf("ir: %s and %s both produce %q", g.Nodes[j], n, o)
			}
			producer[o] = i
		}
	}
	avail := map[string]bool{}
	for _, in := range g.Inputs {
		avail[in.Name] = true
	}
	for name := range g.Initializers {
		avail[name] = true
	}
	indeg := make([]int, len(g.Nodes))
	users := make([][]int, len(g.Nodes))
	for i, n := range g.Nodes {
		deps := map[int]bool{}
		for _, in := range n.Inputs {
			if in == "" {
				continue
			}
			if j, ok := producer[in]; ok {
				if !deps[j] {
					deps[j] = true
					users[j] = append(users[j], i)
				}
				continue
			}
			if !avail[in] && !outer[in] {
				return fmt.Errorf("ir: %s reads %q, which no node, input or initializer provides", n, in)
			}
		}
		// Subgraphs (If/Loop/Scan bodies) may read outer values: those are dependencies too.
		for _, name := range subgraphFreeNames(n) {
			if j, ok := producer[name]; ok && j != i && !deps[j] {
				deps[j] = true
				users[j] = append(users[j], i)
			}
		}
		indeg[i] = len(deps)
	}
	order := make([]*Node, 0, len(g.Nodes))
	// Kahn's algorithm with a FIFO seeded in original order keeps the result stable for already-sorted graphs.
	queue := []int{}
	for i := range g.Nodes {
		if indeg[i] == 0 {
			queue = append(queue, i)
		}
	}
	for len(queue) > 0 {
		i := queue[0]
		queue = queue[1:]
		order = append(order, g.Nodes[i])
		for _, u := range users[i] {
			indeg[u]--
			if indeg[u] == 0 {
				queue = append(queue, u)
			}
		}
	}
	if len(order) != len(g.Nodes) {
		for i, d := range indeg {
			if d > 0 {
				return fmt.Errorf("ir: %s: %w", g.Nodes[i], ErrCycle)
			}
		}
	}
	g.Nodes = order
	return nil
}

// subgraphFreeNames lists the names a node's subgraph attributes read from the enclosing scope.
func subgraphFreeNames(n *Node) []string {
	var out []string
	for _, a := range n.Attrs {
		gs := a.Graphs
		if a.G != nil {
			gs = append([]*Graph{a.G}, gs...)
		}
		for _, sg := range gs {
			out = append(out, sg.FreeNames()...)
		}
	}
	return out
}

// FreeNames lists values read inside g (and its nested subgraphs) that g itself does not define.
func (g *Graph) FreeNames() []string {
	defined := map[string]bool{}
	for _, in := range g.Inputs {
		defined[in.Name] = true
	}
	for name := range g.Initializers {
		defined[name] = true
	}
	for _, n := range g.Nodes {
		for _, o := range n.Outputs {
			defined[o] = true
		}
	}
	seen := map[string]bool{}
	var out []string
	add := func(name string) {
		if name != "" && !defined[name] && !seen[name] {
			seen[name] = true
			out = append(out, name)
		}
	}
	for _, n := range g.Nodes {
		for _, in := range n.Inputs {
			add(in)
		}
		for _, name := range subgraphFreeNames(n) {
			add(name)
		}
	}
	for _, o := range g.Outputs {
		add(o.Name)
	}
	return out
}
