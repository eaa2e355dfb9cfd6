// Package irtest builds tiny ir graphs for tests of passes, shape inference and kernels.
package irtest

import (
	"fmt"
	"math/rand"

	"github.com/hone-ml/hone/ir"
)

// Builder accumulates a graph. Its methods return value names so tests read like the dataflow they build.
type Builder struct {
	G *ir.Graph
	n int
}

// New returns a builder for an empty graph.
func New(name string) *Builder { return &Builder{G: ir.NewGraph(name)} }

// Input declares a graph input. Dims are sizes; a negative size is an anonymous unknown dimension. Use InputT for
// symbolic dimensions.
func (b *Builder) Input(name string, dt ir.DType, shape ...int64) string {
	return b.InputT(name, Type(dt, shape...))
}

// InputT declares a graph input with a full static type.
func (b *Builder) InputT(name string, t ir.Type) string {
	b.G.Inputs = append(b.G.Inputs, &ir.ValueInfo{Name: name, Type: t})
	return name
}

// Type builds a ranked static type; negative sizes are unknown.
func Type(dt ir.DType, shape ...int64) ir.Type {
	dims := make([]ir.Dim, len(shape))
	for i, d := range shape {
		dims[i] = ir.Dim{Size: d}
		if d < 0 {
			dims[i] = ir.Dim{Size: -1}
		}
	}
	return ir.Type{DType: dt, Shape: dims, HasShape: true}
}

// Init adds an initializer and returns its name.
func (b *Builder) Init(name string, t *ir.Tensor) string {
	b.G.SetInitializer(name, t)
	return name
}

// Op adds a one-output node and returns its output name (derived from the node name).
func (b *Builder) Op(op string, inputs []string, attrs ...*ir.Attr) string {
	return b.OpN(op, inputs, 1, attrs...)[0]
}

// OpN adds a node with nout outputs and returns their names.
func (b *Builder) OpN(op string, inputs []string, nout int, attrs ...*ir.Attr) []string {
	b.n++
	name := fmt.Sprintf("%s%d", op, b.n)
	outs := make([]string, nout)
	for i := range outs {
		outs[i] = fmt.Sprintf("%s_out%d", name, i)
	}
	b.G.Nodes = append(b.G.Nodes, &ir.Node{Name: name, OpType: op, Inputs: inputs, Outputs: outs, Attrs: attrs})
	return outs
}

// Node adds a fully specified node and returns it, for tests that need domains or named outputs.
func (b *Builder) Node(n *ir.Node) *ir.Node {
	b.G.Nodes = append(b.G.Nodes, n)
	return n
}

// Output declares graph outputs (type unknown; shape inference or the runtime fills it in).
func (b *Builder) Output(names ...string) {
	for _, n := range names {
		b.G.Outputs = append(b.G.Outputs, &ir.ValueInfo{Name: n})
	}
}

// Model wraps the graph in a model importing the default domain at opset (and the hone domain at 1).
func (b *Builder) Model(opset int64) *ir.Model {
	return &ir.Model{IRVersion: 8, Opsets: []ir.OpsetImport{{Domain: "", Version: opset}, {Domain: ir.DomainHone, Version: 1}}, Graph: b.G}
}

// Int is an int attribute.
func Int(name string, v int64) *ir.Attr { return &ir.Attr{Name: name, Type: ir.AttrInt, I: v} }

// Ints is an ints attribute.
func Ints(name string, v ...int64) *ir.Attr { return &ir.Attr{Name: name, Type: ir.AttrInts, Ints: v} }

// Float is a float attribute.
func Float(name string, v float32) *ir.Attr { return &ir.Attr{Name: name, Type: ir.AttrFloat, F: v} }

// Floats is a floats attribute.
func Floats(name string, v ...float32) *ir.Attr {
	return &ir.Attr{Name: name, Type: ir.AttrFloats, Floats: v}
}

// String is a string attribute.
func String(name, v string) *ir.Attr { return &ir.Attr{Name: name, Type: ir.AttrString, S: v} }

// TensorAttr is a tensor attribute.
func TensorAttr(name string, t *ir.Tensor) *ir.Attr {
	return &ir.Attr{Name: name, Type: ir.AttrTensor, T: t}
}

// GraphAttr is a subgraph attribute.
func GraphAttr(name string, g *ir.Graph) *ir.Attr {
	return &ir.Attr{Name: name, Type: ir.AttrGraph, G: g}
}

// Rand returns a float32 tensor of the shape with values uniform in [-1, 1), reproducible from seed.
func Rand(seed int64, shape ...int) *ir.Tensor {
	r := rand.New(rand.NewSource(seed))
	t := ir.New(ir.Float32, shape...)
	for i := range t.F32() {
		t.F32()[i] = r.Float32()*2 - 1
	}
	return t
}

// RandPos returns a float32 tensor with values uniform in [lo, hi), e.g. for variances.
func RandPos(seed int64, lo, hi float32, shape ...int) *ir.Tensor {
	r := rand.New(rand.NewSource(seed))
	t := ir.New(ir.Float32, shape...)
	for i := range t.F32() {
		t.F32()[i] = lo + r.Float32()*(hi-lo)
	}
	return t
}

// I64 is an int64 tensor of shape [len(v)].
func I64(v ...int64) *ir.Tensor { return ir.FromInt64([]int{len(v)}, v) }

// F32 is a float32 tensor of the given shape.
func F32(shape []int, v ...float32) *ir.Tensor { return ir.FromFloat32(shape, v) }

// OpCount counts nodes by op type.
func OpCount(g *ir.Graph) map[string]int {
	m := map[string]int{}
	for _, n := range g.Nodes {
		m[n.OpType]++
	}
	return m
}
