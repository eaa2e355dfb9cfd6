// Package opt holds hone's lossless graph rewrites: eliminations, constant folding and operator fusions. Each
// rewrite lives in its own file as a Pass; registry.go lists them in order per level. Passes never change what a
// graph computes beyond floating-point reassociation inside a fused op.
package opt

import (
	"fmt"
	"slices"

	"github.com/hone-ml/hone/ir"
)

// Evaluator runs one node on concrete inputs. The runtime supplies it (opt may not import runtime) so constant
// folding uses the same kernels as execution.
type Evaluator func(n *ir.Node, in []*ir.Tensor) ([]*ir.Tensor, error)

// Pass is one rewrite. Match is a cheap test on an anchor node whose OpType is in Ops (every node when Ops is
// empty); Apply performs the rewrite and reports whether it changed the graph. Apply returning false leaves the
// graph as it was. Errors are for broken graphs only.
type Pass struct {
	Name  string
	Ops   []string
	Match func(c *Ctx, n *ir.Node) bool
	Apply func(c *Ctx, n *ir.Node) (bool, error)
	// Creates lists ops the pass may introduce that were not in the graph, so a runtime lacking a kernel for
	// one of them can skip the pass instead of failing to compile.
	Creates []OpRef
}

// OpRef names an op in a domain ("" is ONNX).
type OpRef struct{ Domain, Op string }

// Ctx is what a pass sees: the graph being rewritten plus indexes that the driver refreshes after each change.
type Ctx struct {
	G      *ir.Graph
	Opsets map[string]int64
	Eval   Evaluator // nil disables folding that needs kernels

	producers map[string]*ir.Node
	consumers map[string][]*ir.Node
	outputs   map[string]bool
}

func newCtx(g *ir.Graph, opsets map[string]int64, eval Evaluator) *Ctx {
	c := &Ctx{G: g, Opsets: opsets, Eval: eval}
	c.refresh()
	return c
}

// refresh rebuilds the producer/consumer indexes. A node whose subgraph reads a value counts as its consumer,
// so no pass removes or rewires a value a Loop or If body still needs.
func (c *Ctx) refresh() {
	c.producers = c.G.Producers()
	c.consumers = map[string][]*ir.Node{}
	for _, n := range c.G.Nodes {
		var names []string
		names = append(names, n.Inputs...)
		for _, a := range n.Attrs {
			if a.G != nil {
				names = append(names, a.G.FreeNames()...)
			}
			for _, sg := range a.Graphs {
				names = append(names, sg.FreeNames()...)
			}
		}
		seen := map[string]bool{}
		for _, in := range names {
			if in != "" && !seen[in] {
				seen[in] = true
				c.consumers[in] = append(c.consumers[in], n)
			}
		}
	}
	c.outputs = map[string]bool{}
	for _, o := range c.G.Outputs {
		c.outputs[o.Name] = true
	}
}

// Producer returns the node that outputs name, or nil for inputs, initializers and outer values.
func (c *Ctx) Producer(name string) *ir.Node { return c.producers[name] }

// Consumers returns the nodes reading name.
func (c *Ctx) Consumers(name string) []*ir.Node { return c.consumers[name] }

// IsOutput reports whether name is a graph output.
func (c *Ctx) IsOutput(name string) bool { return c.outputs[name] }

// SoleConsumer returns the only node reading name when name is not a graph output, else nil. Fusions use it:
// folding a value into its consumer is only lossless when nobody else sees the intermediate.
func (c *Ctx) SoleConsumer(name string) *ir.Node {
	cs := c.consumers[name]
	if len(cs) != 1 || c.outputs[name] {
		return nil
	}
	return cs[0]
}

// Const returns the initializer named name, or nil.
func (c *Ctx) Const(name string) *ir.Tensor {
	if name == "" {
		return nil
	}
	return c.G.Initializers[name]
}

// Opset returns the opset version in force for a domain.
func (c *Ctx) Opset(domain string) int64 {
	if domain == "ai.onnx" {
		domain = ""
	}
	return c.Opsets[domain]
}

// AddConst stores a new initializer under a fresh name derived from base and returns that name.
func (c *Ctx) AddConst(base string, t *ir.Tensor) string {
	name := c.G.FreshValueName(base)
	c.G.SetInitializer(name, t)
	return name
}

// Options configure Run.
type Options struct {
	Level    Level
	Disable  []string  // pass names to skip
	Eval     Evaluator // for constant folding; nil skips folds that need kernels
	Validate bool      // run ir.Validate after every pass that changed the graph (debug builds, tests)
	// Supported, if set, reports whether an op can run; passes that create an unsupported op are skipped.
	Supported func(domain, op string) bool
}

// Stats counts the rewrites each pass made.
type Stats map[string]int

// Run applies the registry's passes for opts.Level to g, in order, each to a fixed point, and then recurses into
// subgraphs. Unused initializers are dropped at the end.
func Run(g *ir.Graph, opsets map[string]int64, opts Options) (Stats, error) {
	st := Stats{}
	if err := run(g, opsets, opts, st, nil); err != nil {
		return st, err
	}
	return st, nil
}

// run optimises g; outer names the values g may read from enclosing graphs.
func run(g *ir.Graph, opsets map[string]int64, opts Options, st Stats, outer map[string]bool) error {
	for _, p := range Passes(opts.Level) {
		if slices.Contains(opts.Disable, p.Name) || !creatable(p, opts.Supported) {
			continue
		}
		// While a node broadcasts by the rule before opset 7 (explicit_broadcast could not rewrite it), only
		// passes that read no broadcast run: the fusions assume NumPy's.
		if opsets[""] < 7 && !broadcastBlind[p.Name] && legacyLeft(g, opsets[""]) {
			continue
		}
		n, err := runPass(g, opsets, opts.Eval, p)
		if err != nil {
			return fmt.Errorf("opt: %s: %w", p.Name, err)
		}
		st[p.Name] += n
		if n > 0 && opts.Validate {
			if err := g.ValidateIn(outer); err != nil {
				return fmt.Errorf("opt: graph invalid after %s: %w", p.Name, err)
			}
		}
	}
	var scope map[string]bool
	for _, n := range g.Nodes {
		for _, a := range n.Attrs {
			subs := a.Graphs
			if a.G != nil {
				subs = append([]*ir.Graph{a.G}, subs...)
			}
			for _, sg := range subs {
				if scope == nil {
					scope = scopeNames(g, outer)
				}
				if err := run(sg, opsets, opts, st, scope); err != nil {
					return err
				}
			}
		}
	}
	g.RemoveUnused()
	return nil
}

// scopeNames is every value visible inside g's subgraphs: g's own values plus its enclosing scopes'.
func scopeNames(g *ir.Graph, outer map[string]bool) map[string]bool {
	m := map[string]bool{}
	for k := range outer {
		m[k] = true
	}
	for _, in := range g.Inputs {
		m[in.Name] = true
	}
	for k := range g.Initializers {
		m[k] = true
	}
	for _, n := range g.Nodes {
		for _, o := range n.Outputs {
			m[o] = true
		}
	}
	return m
}

func creatable(p Pass, supported func(domain, op string) bool) bool {
	if supported == nil {
		return true
	}
	for _, o := range p.Creates {
		if !supported(o.Domain, o.Op) {
			return false
		}
	}
	return true
}

// runPass tries p on every anchor, last node first (so eliminations cascade up a chain in one sweep), until a
// sweep changes nothing. It returns the number of rewrites.
func runPass(g *ir.Graph, opsets map[string]int64, eval Evaluator, p Pass) (int, error) {
	c := newCtx(g, opsets, eval)
	total := 0
	for sweep := 0; sweep < 100; sweep++ {
		changed := 0
		nodes := slices.Clone(g.Nodes)
		alive := map[*ir.Node]bool{}
		for _, n := range g.Nodes {
			alive[n] = true
		}
		for i := len(nodes) - 1; i >= 0; i-- {
			n := nodes[i]
			if !alive[n] || (len(p.Ops) > 0 && !slices.Contains(p.Ops, n.OpType)) || !n.IsDefaultDomain() {
				continue
			}
			if !p.Match(c, n) {
				continue
			}
			ok, err := p.Apply(c, n)
			if err != nil {
				return total, fmt.Errorf("%s: %w", n, err)
			}
			if ok {
				changed++
				c.refresh()
				alive = map[*ir.Node]bool{}
				for _, m := range g.Nodes {
					alive[m] = true
				}
			}
		}
		total += changed
		if changed == 0 {
			break
		}
	}
	return total, nil
}

// isDefaultDomain limits passes to ONNX-domain anchors: a com.microsoft or hone op of the same name has other
// semantics.
