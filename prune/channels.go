package prune

import (
	"fmt"

	"github.com/hone-ml/hone/ir"
)

// Channel analysis for structured pruning. A space is a set of channels that must be removed together: the
// output channels of a Conv (or Gemm/MatMul features), followed through every op that keeps channels apart
// (BatchNormalization, activations, pooling, depthwise convs, per-channel constants). Residual Add/Mul of two
// tracked values ties their spaces into one, pruned jointly; Concat along channels builds a derived space from
// its inputs' spaces. Anything the analysis does not understand fixes the space (with the reason), so
// structured pruning never produces a graph it has not proven consistent.

type space struct {
	parent    *space
	size      int
	producers []layer
	fixed     string
	ties      []string // nodes that tied other spaces to this one
	segs      []*space // derived by Concat: the inputs' spaces in order
	keep      []bool   // decided keep mask (roots), nil when nothing is removed
}

func (s *space) root() *space {
	for s.parent != nil {
		s = s.parent
	}
	return s
}

type actKind int

const (
	actProducer  actKind = iota // shrink the layer's weight along its output axis, and its bias
	actConsumer                 // shrink the layer's weight along its input axis (block-wise after Flatten)
	actDepthwise                // shrink a depthwise Conv's weight, bias and group
	actConst                    // shrink a per-channel constant input along axis
)

type action struct {
	kind  actKind
	node  *ir.Node
	sp    *space
	l     layer
	input int // actConst: which input
	axis  int // actConst: which axis of it
	block int // actConsumer: weights per channel along the input axis (H·W after Flatten)
}

type flatRef struct {
	sp    *space
	block int
}

type chanGraph struct {
	g     *ir.Graph
	types map[string]ir.Type
	of    map[string]*space
	flat  map[string]flatRef
	acts  []action
	roots []*space // every space created, in creation order
}

func (c *chanGraph) newSpace(size int) *space {
	s := &space{size: size}
	c.roots = append(c.roots, s)
	return s
}

func fix(s *space, format string, args ...any) {
	r := s.root()
	if r.fixed == "" {
		r.fixed = fmt.Sprintf(format, args...)
	}
}

func (c *chanGraph) union(a, b *space, n *ir.Node) *space {
	ra, rb := a.root(), b.root()
	if ra == rb {
		return ra
	}
	if ra.segs != nil || rb.segs != nil || ra.size != rb.size {
		fix(ra, "%s combines channels of a Concat or of a different count", n)
		fix(rb, "%s combines channels of a Concat or of a different count", n)
		return ra
	}
	rb.parent = ra
	ra.producers = append(ra.producers, rb.producers...)
	ra.ties = append(append(ra.ties, rb.ties...), n.String())
	if ra.fixed == "" {
		ra.fixed = rb.fixed
	}
	return ra
}

// static returns the known shape of a value, or nil.
func (c *chanGraph) static(name string) []int {
	if t, ok := c.g.Initializers[name]; ok {
		return t.Shape
	}
	if t, ok := c.types[name]; ok {
		if s, ok := t.Static(); ok {
			return s
		}
	}
	return nil
}

// rank returns the known rank of a value, or -1.
func (c *chanGraph) rank(name string) int {
	if t, ok := c.g.Initializers[name]; ok {
		return t.Rank()
	}
	if t, ok := c.types[name]; ok && t.HasShape {
		return len(t.Shape)
	}
	return -1
}

func (c *chanGraph) isConst(name string) bool {
	_, ok := c.g.Initializers[name]
	return ok
}

var passThrough = map[string]bool{
	"Relu": true, "LeakyRelu": true, "Sigmoid": true, "HardSigmoid": true, "HardSwish": true, "Tanh": true,
	"Clip": true, "Elu": true, "Selu": true, "Celu": true, "Softplus": true, "Softsign": true, "Identity": true,
	"Dropout": true, "Neg": true, "Abs": true, "Exp": true, "Sqrt": true, "Erf": true, "Gelu": true, "Mish": true,
	"Floor": true, "Ceil": true, "Round": true, "Reciprocal": true, "Log": true, "ThresholdedRelu": true,
	"MaxPool": true, "AveragePool": true, "LpPool": true, "GlobalAveragePool": true, "GlobalMaxPool": true,
	"GlobalLpPool": true, "Upsample": true, "Shrink": true, "Sign": true,
}

var elementwise = map[string]bool{"Add": true, "Sub": true, "Mul": true, "Div": true, "Max": true, "Min": true,
	"Sum": true, "Mean": true, "Pow": true}

// analyse walks g in order and builds the channel spaces and the edits each would need.
func analyse(g *ir.Graph, types map[string]ir.Type) *chanGraph {
	c := &chanGraph{g: g, types: types, of: map[string]*space{}, flat: map[string]flatRef{}}
	for _, n := range g.Nodes {
		c.visit(n)
	}
	for _, o := range g.Outputs {
		if s := c.of[o.Name]; s != nil {
			fix(s, "value %q is a graph output", o.Name)
		}
		if f, ok := c.flat[o.Name]; ok {
			fix(f.sp, "value %q is a graph output", o.Name)
		}
	}
	// A derived (Concat) space that cannot change fixes its inputs, and an input that is fixed simply keeps
	// its slice; repeat for nested Concats.
	for changed := true; changed; {
		changed = false
		for _, s := range c.roots {
			if s.segs == nil || s.root().fixed == "" {
				continue
			}
			for _, sg := range s.segs {
				if sg.root().fixed == "" {
					fix(sg, "it is concatenated into a value that cannot change (%s)", s.root().fixed)
					changed = true
				}
			}
		}
	}
	return c
}

func (c *chanGraph) visit(n *ir.Node) {
	in := func(i int) *space {
		if s := c.of[n.Input(i)]; s != nil {
			return s.root()
		}
		return nil
	}
	out := func(s *space) {
		if len(n.Outputs) > 0 && n.Outputs[0] != "" && s != nil {
			c.of[n.Outputs[0]] = s
		}
	}
	handled := false
	defer func() {
		if handled {
			return
		}
		for _, name := range n.Inputs {
			if s := c.of[name]; s != nil {
				fix(s, "%s reads it and is not understood by channel pruning", n)
			}
			if f, ok := c.flat[name]; ok {
				fix(f.sp, "%s reads a flattened value", n)
			}
		}
		for _, a := range n.Attrs {
			for _, sg := range append([]*ir.Graph{a.G}, a.Graphs...) {
				if sg == nil {
					continue
				}
				for _, name := range sg.FreeNames() {
					if s := c.of[name]; s != nil {
						fix(s, "a subgraph of %s reads it", n)
					}
				}
			}
		}
	}()
	if !n.IsDefaultDomain() {
		return
	}
	for _, a := range n.Attrs {
		if a.G != nil || len(a.Graphs) > 0 {
			return
		}
	}
	switch {
	case n.OpType == "Conv" || n.OpType == "ConvTranspose":
		handled = c.conv(n, in(0), out)
	case n.OpType == "Gemm" || n.OpType == "MatMul":
		handled = c.gemm(n, out)
	case n.OpType == "BatchNormalization" || n.OpType == "InstanceNormalization":
		s := in(0)
		if s == nil || c.flat[n.Input(0)].sp != nil {
			return
		}
		last := 4
		if n.OpType == "InstanceNormalization" {
			last = 2
		}
		for i := 1; i <= last; i++ {
			if !c.isConst(n.Input(i)) {
				return
			}
			c.acts = append(c.acts, action{kind: actConst, node: n, sp: s, input: i, axis: 0})
		}
		out(s)
		handled = true
	case passThrough[n.OpType]:
		s := in(0)
		if s == nil {
			handled = c.flat[n.Input(0)].sp == nil
			return
		}
		if n.OpType == "Upsample" && !c.isConst(n.Input(1)) && n.Input(1) != "" {
			return
		}
		out(s)
		handled = true
	case n.OpType == "PRelu":
		s := in(0)
		if s == nil || !c.isConst(n.Input(1)) {
			return
		}
		handled = c.perChannelConst(n, s, 1, c.rank(n.Input(0)))
		out(s)
	case n.OpType == "Resize":
		s := in(0)
		if s == nil || n.Input(3) != "" {
			return // sizes would name the channel count
		}
		out(s)
		handled = true
	case n.OpType == "Pad":
		handled = c.pad(n, in(0), out)
	case elementwise[n.OpType]:
		handled = c.binary(n, out)
	case n.OpType == "Flatten" || n.OpType == "Reshape":
		handled = c.flatten(n, in(0), out)
	case n.OpType == "Concat":
		handled = c.concat(n, out)
	default:
		handled = true
		for _, name := range n.Inputs {
			if c.of[name] != nil || c.flat[name].sp != nil {
				handled = false
			}
		}
	}
}

func (c *chanGraph) conv(n *ir.Node, s *space, out func(*space)) bool {
	l, why := layerOf(c.g, n)
	if why != "" || c.flat[n.Input(0)].sp != nil {
		return false
	}
	w := c.g.Initializers[l.w]
	group := int(n.AttrInt("group", 1))
	biasOK := n.Input(2) == "" || c.isConst(n.Input(2))
	if n.OpType == "Conv" && group > 1 && w.Shape[1] == 1 && w.Shape[0] == group {
		// Depthwise with multiplier 1: channel i in is channel i out, so the space flows through.
		if s == nil || s.size != group || !biasOK {
			ns := c.newSpace(w.Shape[0])
			fix(ns, "%s is depthwise over channels that cannot change", n)
			out(ns)
			return s == nil
		}
		c.acts = append(c.acts, action{kind: actDepthwise, node: n, sp: s, l: l})
		out(s)
		return true
	}
	size := w.Shape[l.out]
	if n.OpType == "ConvTranspose" {
		size *= group // its weight holds output channels per group
	}
	ns := c.newSpace(size)
	ns.producers = []layer{l}
	c.acts = append(c.acts, action{kind: actProducer, node: n, sp: ns, l: l})
	if group != 1 {
		fix(ns, "%s is a grouped convolution (group %d)", n, group)
	}
	if !biasOK {
		fix(ns, "%s has a bias that is not constant", n)
	}
	out(ns)
	if s != nil {
		if group != 1 {
			return false
		}
		c.acts = append(c.acts, action{kind: actConsumer, node: n, sp: s, l: l, block: 1})
	}
	return true
}

func (c *chanGraph) gemm(n *ir.Node, out func(*space)) bool {
	l, why := layerOf(c.g, n)
	a := n.Input(0)
	s, f := c.of[a], c.flat[a]
	if why != "" || c.rank(a) != 2 || n.AttrInt("transA", 0) != 0 {
		return s == nil && f.sp == nil
	}
	w := c.g.Initializers[l.w]
	ns := c.newSpace(w.Shape[l.out])
	ns.producers = []layer{l}
	c.acts = append(c.acts, action{kind: actProducer, node: n, sp: ns, l: l})
	if b := n.Input(2); b != "" {
		t, ok := c.g.Initializers[b]
		switch {
		case !ok:
			fix(ns, "%s has a bias that is not constant", n)
		case t.Len() == 1, t.Rank() == 1 && t.Shape[0] == ns.size, t.Rank() == 2 && t.Shape[0] == 1 && t.Shape[1] == ns.size:
		default:
			fix(ns, "%s has a bias of shape %v", n, t.Shape)
		}
	}
	out(ns)
	switch {
	case s != nil:
		c.acts = append(c.acts, action{kind: actConsumer, node: n, sp: s.root(), l: l, block: 1})
	case f.sp != nil:
		c.acts = append(c.acts, action{kind: actConsumer, node: n, sp: f.sp.root(), l: l, block: f.block})
	}
	return true
}

// perChannelConst records the edit of constant input i of n broadcast against a tracked value of rank r: a
// size-1 channel axis (or none) broadcasts and needs nothing; a full channel axis is shrunk.
func (c *chanGraph) perChannelConst(n *ir.Node, s *space, i, r int) bool {
	t := c.g.Initializers[n.Input(i)]
	if t == nil || r < 2 {
		return false
	}
	axis := 1 - (r - t.Rank())
	if axis < 0 || t.Shape[axis] == 1 {
		return true
	}
	if t.Shape[axis] != s.size || t.Rank() > r {
		return false
	}
	c.acts = append(c.acts, action{kind: actConst, node: n, sp: s, input: i, axis: axis})
	return true
}

func (c *chanGraph) binary(n *ir.Node, out func(*space)) bool {
	var tracked *space
	rmax := 0
	for _, name := range n.Inputs {
		if c.flat[name].sp != nil {
			return false
		}
		r := c.rank(name)
		if r < 0 {
			return c.of[name] == nil && tracked == nil
		}
		rmax = max(rmax, r)
	}
	for _, name := range n.Inputs {
		s := c.of[name]
		if s == nil {
			continue
		}
		if c.rank(name) != rmax {
			return false
		}
		if tracked == nil {
			tracked = s.root()
		} else {
			tracked = c.union(tracked, s, n)
		}
	}
	if tracked == nil {
		return true
	}
	for i, name := range n.Inputs {
		if c.of[name] != nil {
			continue
		}
		if c.isConst(name) {
			if !c.perChannelConst(n, tracked, i, rmax) {
				return false
			}
			continue
		}
		// A computed value that broadcasts over channels (size 1 there, or no channel axis) is fine.
		r := c.rank(name)
		axis := 1 - (rmax - r)
		if axis >= 0 {
			s := c.static(name)
			if s == nil || s[axis] != 1 {
				return false
			}
		}
	}
	out(tracked)
	return true
}

func (c *chanGraph) pad(n *ir.Node, s *space, out func(*space)) bool {
	if s == nil {
		return c.flat[n.Input(0)].sp == nil
	}
	r := c.rank(n.Input(0))
	var pads []int64
	if a := n.Attr("pads"); a != nil {
		pads = a.Ints
	} else if t := c.g.Initializers[n.Input(1)]; t != nil && n.Input(3) == "" {
		pads, _ = t.Int64s()
	}
	if r < 2 || len(pads) != 2*r || pads[1] != 0 || pads[r+1] != 0 {
		return false
	}
	out(s)
	return true
}

func (c *chanGraph) flatten(n *ir.Node, s *space, out func(*space)) bool {
	if s == nil {
		return c.flat[n.Input(0)].sp == nil
	}
	shape := c.static(n.Input(0))
	if len(shape) < 2 {
		return false
	}
	block := 1
	for _, d := range shape[2:] {
		block *= d
	}
	if n.OpType == "Flatten" {
		axis := n.AttrInt("axis", 1)
		if axis < 0 {
			axis += int64(len(shape))
		}
		if axis != 1 {
			return false
		}
	} else {
		os := c.static(n.Outputs[0])
		if len(os) != 2 || os[0] != shape[0] || os[1] != shape[1]*block {
			return false
		}
	}
	if len(shape) == 2 {
		out(s)
	} else {
		c.flat[n.Outputs[0]] = flatRef{sp: s, block: block}
	}
	return true
}

func (c *chanGraph) concat(n *ir.Node, out func(*space)) bool {
	r := -1
	for _, name := range n.Inputs {
		if c.flat[name].sp != nil {
			return false
		}
		if rr := c.rank(name); rr >= 0 {
			r = rr
		}
	}
	axis := n.AttrInt("axis", 0)
	if axis < 0 && r > 0 {
		axis += int64(r)
	}
	if axis != 1 {
		return false
	}
	var segs []*space
	total := 0
	any := false
	for _, name := range n.Inputs {
		s := c.of[name]
		if s == nil {
			shape := c.static(name)
			if len(shape) < 2 {
				return false
			}
			s = c.newSpace(shape[1])
			fix(s, "it comes from outside any pruned layer")
		} else {
			any = true
		}
		segs = append(segs, s)
		total += s.size
	}
	if !any {
		return true
	}
	ds := c.newSpace(total)
	ds.segs = segs
	out(ds)
	return true
}

// keepOf returns the keep mask of a space (derived spaces concatenate their inputs'), nil if nothing goes.
func keepOf(s *space) []bool {
	if s.segs == nil {
		return s.root().keep
	}
	var k []bool
	changed := false
	for _, sg := range s.segs {
		sk := keepOf(sg)
		if sk == nil {
			sk = make([]bool, sg.size)
			for i := range sk {
				sk[i] = true
			}
		} else {
			changed = true
		}
		k = append(k, sk...)
	}
	if !changed {
		return nil
	}
	return k
}
