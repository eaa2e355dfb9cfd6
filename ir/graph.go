package ir

import (
	"fmt"
	"strconv"
	"strings"
)

// Dim is one dimension of a value's static type: a known size, a named symbol, or unknown.
type Dim struct {
	Size  int64  // >= 0 when known; -1 when unknown or symbolic
	Param string // symbolic name (e.g. "batch") when Size < 0; "" if anonymous
}

// Known reports whether the dimension has a concrete size.
func (d Dim) Known() bool { return d.Size >= 0 }

func (d Dim) String() string {
	switch {
	case d.Size >= 0:
		return strconv.FormatInt(d.Size, 10)
	case d.Param != "":
		return d.Param
	}
	return "?"
}

// DimOf returns a known dimension.
func DimOf(n int64) Dim { return Dim{Size: n} }

// SymDim returns a symbolic dimension.
func SymDim(name string) Dim { return Dim{Size: -1, Param: name} }

// Type is the static type of a graph value: element type and shape. Shape == nil with HasShape false means
// the rank is unknown.
type Type struct {
	DType    DType
	Shape    []Dim
	HasShape bool
}

func (t Type) String() string {
	if !t.HasShape {
		return t.DType.String() + "[…]"
	}
	parts := make([]string, len(t.Shape))
	for i, d := range t.Shape {
		parts[i] = d.String()
	}
	return t.DType.String() + "[" + strings.Join(parts, ",") + "]"
}

// Static returns the concrete shape if every dimension is known.
func (t Type) Static() ([]int, bool) {
	if !t.HasShape {
		return nil, false
	}
	s := make([]int, len(t.Shape))
	for i, d := range t.Shape {
		if !d.Known() {
			return nil, false
		}
		s[i] = int(d.Size)
	}
	return s, true
}

// TypeOf returns the static type of a concrete tensor.
func TypeOf(t *Tensor) Type {
	dims := make([]Dim, len(t.Shape))
	for i, d := range t.Shape {
		dims[i] = DimOf(int64(d))
	}
	return Type{DType: t.DType, Shape: dims, HasShape: true}
}

// ValueInfo describes a named graph value (graph input/output or intermediate) with its static type.
type ValueInfo struct {
	Name string
	Type Type
	Doc  string
}

// AttrType enumerates attribute kinds, numbered as ONNX's AttributeProto.AttributeType.
type AttrType int32

// Attribute kinds.
const (
	AttrUndefined AttrType = 0
	AttrFloat     AttrType = 1
	AttrInt       AttrType = 2
	AttrString    AttrType = 3
	AttrTensor    AttrType = 4
	AttrGraph     AttrType = 5
	AttrFloats    AttrType = 6
	AttrInts      AttrType = 7
	AttrStrings   AttrType = 8
	AttrTensors   AttrType = 9
	AttrGraphs    AttrType = 10
)

// Attr is a node attribute. Only the field matching Type is meaningful.
type Attr struct {
	Name    string
	Type    AttrType
	F       float32
	I       int64
	S       string
	T       *Tensor
	G       *Graph
	Floats  []float32
	Ints    []int64
	Strings []string
	Tensors []*Tensor
	Graphs  []*Graph
	// RefAttrName makes this attribute a reference to the enclosing function's attribute (ONNX functions).
	RefAttrName string
	Doc         string
}

// Node is one operator application. Inputs and outputs name values; "" marks an omitted optional input/output.
type Node struct {
	Name    string
	OpType  string
	Domain  string // "" or "ai.onnx" for the default domain
	Inputs  []string
	Outputs []string
	Attrs   []*Attr
	Doc     string
	// Source carries the format-specific original node (the onnx package's NodeProto) so saving keeps fields the
	// IR does not model. Passes that build new nodes leave it nil.
	Source any
}

// Attr returns the named attribute or nil.
func (n *Node) Attr(name string) *Attr {
	for _, a := range n.Attrs {
		if a.Name == name {
			return a
		}
	}
	return nil
}

// AttrInt returns an int attribute or def when absent.
func (n *Node) AttrInt(name string, def int64) int64 {
	if a := n.Attr(name); a != nil {
		return a.I
	}
	return def
}

// AttrFloat returns a float attribute or def when absent.
func (n *Node) AttrFloat(name string, def float32) float32 {
	if a := n.Attr(name); a != nil {
		return a.F
	}
	return def
}

// AttrString returns a string attribute or def when absent.
func (n *Node) AttrString(name, def string) string {
	if a := n.Attr(name); a != nil {
		return a.S
	}
	return def
}

// AttrInts returns an ints attribute or def when absent.
func (n *Node) AttrInts(name string, def []int64) []int64 {
	if a := n.Attr(name); a != nil {
		return a.Ints
	}
	return def
}

// AttrFloats returns a floats attribute or def when absent.
func (n *Node) AttrFloats(name string, def []float32) []float32 {
	if a := n.Attr(name); a != nil {
		return a.Floats
	}
	return def
}

// SetAttr adds or replaces an attribute.
func (n *Node) SetAttr(a *Attr) {
	for i, old := range n.Attrs {
		if old.Name == a.Name {
			n.Attrs[i] = a
			return
		}
	}
	n.Attrs = append(n.Attrs, a)
}

// Input returns the i-th input name or "" if absent.
func (n *Node) Input(i int) string {
	if i < len(n.Inputs) {
		return n.Inputs[i]
	}
	return ""
}

// IsDefaultDomain reports whether n belongs to ONNX's default operator set: domain "" or its alias "ai.onnx".
func (n *Node) IsDefaultDomain() bool { return n.Domain == "" || n.Domain == "ai.onnx" }

// DisplayName is n's name or, for an unnamed node (legal ONNX, and what quantizers emit for Q/DQ pairs), "→"
// and its first output.
func (n *Node) DisplayName() string {
	if n.Name == "" && len(n.Outputs) > 0 {
		return "→" + n.Outputs[0]
	}
	return n.Name
}

// String names the node for error messages: `node "conv1" (Conv)`.
func (n *Node) String() string {
	name := n.DisplayName()
	if !n.IsDefaultDomain() {
		return fmt.Sprintf("node %q (%s:%s)", name, n.Domain, n.OpType)
	}
	return fmt.Sprintf("node %q (%s)", name, n.OpType)
}

// Graph is a dataflow graph. Nodes are kept in topological order after Sort.
type Graph struct {
	Name         string
	Doc          string
	Inputs       []*ValueInfo
	Outputs      []*ValueInfo
	ValueInfo    map[string]*ValueInfo // types of intermediate values, when known
	Initializers map[string]*Tensor    // constant tensors by name
	// InitOrder keeps the initializers' original order so a saved model lists them as it read them.
	InitOrder []string
	Nodes     []*Node
	// SparseInitializers names initializers that were stored sparse in the source model.
	SparseInitializers map[string]bool
}

// NewGraph returns an empty graph with its maps allocated.
func NewGraph(name string) *Graph {
	return &Graph{Name: name, ValueInfo: map[string]*ValueInfo{}, Initializers: map[string]*Tensor{}, SparseInitializers: map[string]bool{}}
}

// OpsetImport is one (domain, version) pair a model declares.
type OpsetImport struct {
	Domain  string
	Version int64
}

// Model is a graph with the model-level facts needed to run it and write it back.
type Model struct {
	IRVersion       int64
	Opsets          []OpsetImport
	ProducerName    string
	ProducerVersion string
	Domain          string
	ModelVersion    int64
	Doc             string
	Metadata        []KV
	Graph           *Graph
	// Source carries the format-specific original (e.g. the onnx package's protobuf) so a round trip keeps what the
	// IR does not model: unknown fields, functions, training info. Passes leave it alone.
	Source any
}

// KV is a metadata entry.
type KV struct{ Key, Value string }

// OpsetMap maps each declared domain ("" for the default ONNX domain, which "ai.onnx" also names) to its
// version; a model that declares no default opset is taken as opset 21, the newest hone handles.
func (m *Model) OpsetMap() map[string]int64 {
	opsets := map[string]int64{}
	for _, o := range m.Opsets {
		d := o.Domain
		if d == "ai.onnx" {
			d = ""
		}
		opsets[d] = o.Version
	}
	if _, ok := opsets[""]; !ok {
		opsets[""] = 21
	}
	return opsets
}

// Opset returns the declared version for a domain ("" and "ai.onnx" are the same), or 0.
func (m *Model) Opset(domain string) int64 {
	if domain == "ai.onnx" {
		domain = ""
	}
	for _, o := range m.Opsets {
		d := o.Domain
		if d == "ai.onnx" {
			d = ""
		}
		if d == domain {
			return o.Version
		}
	}
	return 0
}

// SetInitializer adds or replaces a constant, keeping InitOrder in step.
func (g *Graph) SetInitializer(name string, t *Tensor) {
	if _, ok := g.Initializers[name]; !ok {
		g.InitOrder = append(g.InitOrder, name)
	}
	g.Initializers[name] = t
}

// RemoveInitializer deletes a constant.
func (g *Graph) RemoveInitializer(name string) {
	if _, ok := g.Initializers[name]; !ok {
		return
	}
	delete(g.Initializers, name)
	for i, n := range g.InitOrder {
		if n == name {
			g.InitOrder = append(g.InitOrder[:i], g.InitOrder[i+1:]...)
			break
		}
	}
}

// Producers maps each value name to the node that outputs it.
func (g *Graph) Producers() map[string]*Node {
	m := make(map[string]*Node, len(g.Nodes))
	for _, n := range g.Nodes {
		for _, o := range n.Outputs {
			if o != "" {
				m[o] = n
			}
		}
	}
	return m
}

// Consumers maps each value name to the nodes that read it (a node reading a value twice appears once).
func (g *Graph) Consumers() map[string][]*Node {
	m := make(map[string][]*Node)
	for _, n := range g.Nodes {
		seen := map[string]bool{}
		for _, in := range n.Inputs {
			if in != "" && !seen[in] {
				seen[in] = true
				m[in] = append(m[in], n)
			}
		}
	}
	return m
}

// IsGraphOutput reports whether name is one of the graph's outputs.
func (g *Graph) IsGraphOutput(name string) bool {
	for _, o := range g.Outputs {
		if o.Name == name {
			return true
		}
	}
	return false
}

// IsGraphInput reports whether name is a graph input that is not also an initializer.
func (g *Graph) IsGraphInput(name string) bool {
	if _, ok := g.Initializers[name]; ok {
		return false
	}
	for _, in := range g.Inputs {
		if in.Name == name {
			return true
		}
	}
	return false
}

// RealInputs lists the graph inputs a caller must feed (inputs that are not initializers).
func (g *Graph) RealInputs() []*ValueInfo {
	var out []*ValueInfo
	for _, in := range g.Inputs {
		if _, ok := g.Initializers[in.Name]; !ok {
			out = append(out, in)
		}
	}
	return out
}

// TypeOfValue returns the static type known for a value name, from inputs, outputs, value info or initializers.
func (g *Graph) TypeOfValue(name string) (Type, bool) {
	if t, ok := g.Initializers[name]; ok {
		return TypeOf(t), true
	}
	if vi, ok := g.ValueInfo[name]; ok {
		return vi.Type, true
	}
	for _, v := range g.Inputs {
		if v.Name == name {
			return v.Type, true
		}
	}
	for _, v := range g.Outputs {
		if v.Name == name {
			return v.Type, true
		}
	}
	return Type{}, false
}
