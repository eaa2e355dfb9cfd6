package ir

import (
	"fmt"
)

// InferShapes fills m.Graph.ValueInfo with the element type and shape of every value it can derive, and the
// types of graph outputs that were not declared. Known sizes and dim_param names propagate through the ops in
// inferRules; anything it cannot derive stays unknown, never guessed. An error means the graph contradicts
// itself (e.g. broadcasting 3 against 4) and names the node.
func InferShapes(m *Model) error {
	if m == nil || m.Graph == nil {
		return fmt.Errorf("ir: model has no graph")
	}
	opsets := m.OpsetMap()
	return InferGraph(m.Graph, opsets)
}

// InferGraph is InferShapes for one graph with the opsets in force.
func InferGraph(g *Graph, opsets map[string]int64) error {
	return inferGraph(g, opsets, nil)
}

// inferCtx carries what is known while walking a graph in order.
type inferCtx struct {
	g      *Graph
	opsets map[string]int64
	outer  *inferCtx
	types  map[string]Type
	// vals holds the contents of small integer tensors as dims, known or symbolic: Shape outputs and what
	// Gather/Concat/Slice/arithmetic make of them. They turn Reshape's shape input into output dims.
	vals map[string]shapeVal
	// consts holds the values of Constant nodes, which count as constants just like initializers.
	consts map[string]*Tensor
}

// shapeVal is the content of a rank-0 or rank-1 integer tensor, element by element.
type shapeVal struct {
	dims   []Dim
	scalar bool
}

func inferGraph(g *Graph, opsets map[string]int64, outer *inferCtx) error {
	c := &inferCtx{g: g, opsets: opsets, outer: outer, types: map[string]Type{}, vals: map[string]shapeVal{},
		consts: map[string]*Tensor{}}
	for _, in := range g.Inputs {
		c.types[in.Name] = in.Type
	}
	for name, vi := range g.ValueInfo {
		c.types[name] = vi.Type
	}
	for name, t := range g.Initializers {
		c.types[name] = TypeOf(t)
		if v, ok := tensorShapeVal(t); ok {
			c.vals[name] = v
		}
	}
	nodes := g.Nodes
	if !g.sorted(outer != nil) {
		sg := *g
		sg.Nodes = append([]*Node(nil), g.Nodes...)
		if err := sg.Sort(c.outerNames()); err != nil {
			return err
		}
		nodes = sg.Nodes
	}
	declared := map[string]int{}
	for i, o := range g.Outputs {
		declared[o.Name] = i
	}
	inputs := map[string]bool{}
	for _, in := range g.Inputs {
		inputs[in.Name] = true
	}
	for _, n := range nodes {
		outs, err := c.inferNode(n)
		if err != nil {
			return fmt.Errorf("ir: %s: %w", n, err)
		}
		for i, o := range n.Outputs {
			if o == "" || i >= len(outs) {
				continue
			}
			t := mergeType(c.types[o], outs[i])
			if t.DType == Undefined && !t.HasShape {
				continue
			}
			c.types[o] = t
			if j, ok := declared[o]; ok {
				g.Outputs[j].Type = mergeType(g.Outputs[j].Type, t)
				continue
			}
			if inputs[o] {
				continue
			}
			if vi, ok := g.ValueInfo[o]; ok {
				vi.Type = t
			} else {
				if g.ValueInfo == nil {
					g.ValueInfo = map[string]*ValueInfo{}
				}
				g.ValueInfo[o] = &ValueInfo{Name: o, Type: t}
			}
		}
	}
	return nil
}

// sorted reports whether every node input is defined before it is read; subgraphs may read outer values, so
// for them undefined names are not a reason to re-sort.
func (g *Graph) sorted(sub bool) bool {
	defined := map[string]bool{}
	for _, in := range g.Inputs {
		defined[in.Name] = true
	}
	for k := range g.Initializers {
		defined[k] = true
	}
	produced := map[string]bool{}
	for _, n := range g.Nodes {
		for _, o := range n.Outputs {
			produced[o] = true
		}
	}
	for _, n := range g.Nodes {
		for _, in := range n.Inputs {
			if in != "" && !defined[in] && (produced[in] || !sub) {
				return false
			}
		}
		for _, o := range n.Outputs {
			defined[o] = true
		}
	}
	return true
}

func (c *inferCtx) outerNames() map[string]bool {
	m := map[string]bool{}
	for o := c.outer; o != nil; o = o.outer {
		for k := range o.types {
			m[k] = true
		}
		for _, n := range o.g.Nodes {
			for _, out := range n.Outputs {
				m[out] = true
			}
		}
	}
	return m
}

// typeOf returns what is known of a value, looking through enclosing scopes.
func (c *inferCtx) typeOf(name string) Type {
	for s := c; s != nil; s = s.outer {
		if t, ok := s.types[name]; ok {
			return t
		}
	}
	return Type{}
}

// constOf returns an initializer visible from this scope.
func (c *inferCtx) constOf(name string) *Tensor {
	if name == "" {
		return nil
	}
	for s := c; s != nil; s = s.outer {
		if t, ok := s.g.Initializers[name]; ok {
			return t
		}
		if t, ok := s.consts[name]; ok {
			return t
		}
		if _, ok := s.types[name]; ok {
			return nil // shadowed by a non-constant value of this scope
		}
	}
	return nil
}

// valOf returns a shape value visible from this scope.
func (c *inferCtx) valOf(name string) (shapeVal, bool) {
	if name == "" {
		return shapeVal{}, false
	}
	for s := c; s != nil; s = s.outer {
		if v, ok := s.vals[name]; ok {
			return v, true
		}
		if _, ok := s.types[name]; ok {
			return shapeVal{}, false
		}
	}
	return shapeVal{}, false
}

// intsOf returns a constant integer input's values when all are known.
func (c *inferCtx) intsOf(name string) ([]int64, bool) {
	v, ok := c.valOf(name)
	if !ok {
		return nil, false
	}
	out := make([]int64, len(v.dims))
	for i, d := range v.dims {
		x, ok := literal(d)
		if !ok {
			return nil, false
		}
		out[i] = x
	}
	return out, true
}

// tensorShapeVal captures a small integer constant as a shape value. Negative entries (Reshape's -1, Slice's
// negative starts) are kept as raw numbers in Size with Param "#" so they are not mistaken for unknown dims.
func tensorShapeVal(t *Tensor) (shapeVal, bool) {
	if (t.DType != Int64 && t.DType != Int32) || t.Rank() > 1 || t.Len() > 64 {
		return shapeVal{}, false
	}
	vs, err := t.Int64s()
	if err != nil {
		return shapeVal{}, false
	}
	return shapeVal{dims: rawDims(vs), scalar: t.Rank() == 0}, true
}

// rawDims wraps integer values as Dims; negative values are marked with Param "#" (a literal, not unknown).
func rawDims(vs []int64) []Dim {
	d := make([]Dim, len(vs))
	for i, v := range vs {
		d[i] = Dim{Size: v}
		if v < 0 {
			d[i].Param = "#"
		}
	}
	return d
}

// literal reports whether a shape-value element is a known integer (possibly negative).
func literal(d Dim) (int64, bool) {
	if d.Size >= 0 || d.Param == "#" {
		return d.Size, true
	}
	return 0, false
}

// mergeType combines a declared type with an inferred one: inferred facts win, declared ones fill the gaps.
// Differing ranks keep the inferred shape, which comes from the graph's actual computation.
func mergeType(old, inf Type) Type {
	t := inf
	if t.DType == Undefined {
		t.DType = old.DType
	}
	if !inf.HasShape {
		t.Shape, t.HasShape = old.Shape, old.HasShape
		return t
	}
	if !old.HasShape || len(old.Shape) != len(inf.Shape) {
		return t
	}
	t.Shape = append([]Dim(nil), inf.Shape...)
	for i, d := range t.Shape {
		// A declared symbol wins over an inferred one, as in ONNX: an output may name its batch dimension
		// differently from the input it derives from.
		if !d.Known() && (old.Shape[i].Known() || old.Shape[i].Param != "") {
			t.Shape[i] = old.Shape[i]
		}
	}
	return t
}

// ranked builds a shaped type.
func ranked(dt DType, dims []Dim) Type { return Type{DType: dt, Shape: dims, HasShape: true} }

func unknownDims(n int) []Dim {
	d := make([]Dim, n)
	for i := range d {
		d[i] = Dim{Size: -1}
	}
	return d
}

// broadcast applies NumPy multidirectional broadcasting to static shapes.
func broadcast(a, b []Dim) ([]Dim, error) {
	n := max(len(a), len(b))
	out := make([]Dim, n)
	for i := 0; i < n; i++ {
		x, y := Dim{Size: 1}, Dim{Size: 1}
		if j := i - (n - len(a)); j >= 0 {
			x = a[j]
		}
		if j := i - (n - len(b)); j >= 0 {
			y = b[j]
		}
		switch {
		case x.Known() && y.Known():
			if x.Size != y.Size && x.Size != 1 && y.Size != 1 {
				return nil, fmt.Errorf("cannot broadcast %v with %v", a, b)
			}
			out[i] = Dim{Size: max(x.Size, y.Size)}
			if x.Size == 0 || y.Size == 0 {
				out[i] = Dim{Size: 0}
			}
		case x.Known() && x.Size == 1:
			out[i] = y
		case y.Known() && y.Size == 1:
			out[i] = x
		case x.Known():
			out[i] = x // y is 1 or equal to x
		case y.Known():
			out[i] = y
		case x.Param != "" && x.Param == y.Param:
			out[i] = x
		default:
			out[i] = Dim{Size: -1}
		}
	}
	return out, nil
}

// normAxis maps a possibly negative axis into [0, rank); ok is false when out of range.
func normAxis(axis int64, rank int) (int, bool) {
	if axis < 0 {
		axis += int64(rank)
	}
	if axis < 0 || axis >= int64(rank) {
		return 0, false
	}
	return int(axis), true
}

func dimMul(a, b Dim) Dim {
	if a.Known() && b.Known() {
		return Dim{Size: a.Size * b.Size}
	}
	if a.Known() && a.Size == 1 {
		return b
	}
	if b.Known() && b.Size == 1 {
		return a
	}
	if (a.Known() && a.Size == 0) || (b.Known() && b.Size == 0) {
		return Dim{Size: 0}
	}
	return Dim{Size: -1}
}

// sameDim merges two dims that must be equal; conflicting known sizes are an error.
func sameDim(a, b Dim) (Dim, error) {
	switch {
	case a.Known() && b.Known():
		if a.Size != b.Size {
			return Dim{}, fmt.Errorf("dimension %d does not match %d", a.Size, b.Size)
		}
		return a, nil
	case a.Known():
		return a, nil
	case b.Known():
		return b, nil
	case a.Param != "":
		return a, nil
	}
	return b, nil
}
