package onnx

import (
	"fmt"

	"github.com/hone-ml/hone/ir"
	"github.com/hone-ml/hone/onnx/onnxpb"
)

type decoder struct {
	ext *extReader
	src *source
}

func (d *decoder) model(mp *onnxpb.ModelProto) (*ir.Model, error) {
	m := &ir.Model{
		IRVersion:       mp.GetIrVersion(),
		ProducerName:    mp.GetProducerName(),
		ProducerVersion: mp.GetProducerVersion(),
		Domain:          mp.GetDomain(),
		ModelVersion:    mp.GetModelVersion(),
		Doc:             mp.GetDocString(),
	}
	for _, o := range mp.OpsetImport {
		m.Opsets = append(m.Opsets, ir.OpsetImport{Domain: o.GetDomain(), Version: o.GetVersion()})
	}
	for _, kv := range mp.MetadataProps {
		m.Metadata = append(m.Metadata, ir.KV{Key: kv.GetKey(), Value: kv.GetValue()})
	}
	if mp.Graph == nil {
		return nil, formatErr("model has no graph")
	}
	g, err := d.graph(mp.Graph, nil, 0)
	if err != nil {
		return nil, err
	}
	m.Graph = g
	return m, nil
}

// graph converts gp. outer holds the names visible from enclosing graphs (nil for the main graph).
func (d *decoder) graph(gp *onnxpb.GraphProto, outer map[string]bool, depth int) (*ir.Graph, error) {
	if depth > maxGraphDepth {
		return nil, unsupportedErr("subgraphs nested deeper than %d", maxGraphDepth)
	}
	g := ir.NewGraph(gp.GetName())
	g.Doc = gp.GetDocString()
	where := fmt.Sprintf("graph %q", g.Name)
	for _, tp := range gp.Initializer {
		name := tp.GetName()
		if name == "" {
			return nil, formatErr("%s: initializer with no name", where)
		}
		if _, dup := g.Initializers[name]; dup {
			return nil, formatErr("%s: duplicate initializer %q", where, name)
		}
		t, err := decodeTensor(tp, d.ext)
		if err != nil {
			return nil, wrap(where, err)
		}
		g.SetInitializer(name, t)
		// The IR tensor owns the bytes now; drop them from the kept source so they are held once.
		d.src.forms[tp] = formOf(tp)
		stripData(tp)
	}
	for _, sp := range gp.SparseInitializer {
		name := sp.GetValues().GetName()
		if name == "" {
			return nil, formatErr("%s: sparse initializer with no name", where)
		}
		if _, dup := g.Initializers[name]; dup {
			return nil, formatErr("%s: duplicate initializer %q", where, name)
		}
		t, err := decodeSparse(sp, d.ext)
		if err != nil {
			return nil, wrap(where, err)
		}
		g.SetInitializer(name, t)
		g.SparseInitializers[name] = true
	}
	seen := map[string]bool{}
	for _, vp := range gp.Input {
		vi, err := valueInfo(vp, where)
		if err != nil {
			return nil, err
		}
		if seen[vi.Name] {
			return nil, formatErr("%s: duplicate input %q", where, vi.Name)
		}
		seen[vi.Name] = true
		g.Inputs = append(g.Inputs, vi)
	}
	for _, vp := range gp.Output {
		vi, err := valueInfo(vp, where)
		if err != nil {
			return nil, err
		}
		g.Outputs = append(g.Outputs, vi)
	}
	for _, vp := range gp.ValueInfo {
		vi, err := valueInfo(vp, where)
		if err != nil {
			return nil, err
		}
		if _, dup := g.ValueInfo[vi.Name]; !dup {
			g.ValueInfo[vi.Name] = vi
		}
	}

	// Subgraphs see every name of this graph and of the graphs around it.
	scope := map[string]bool{}
	for k := range outer {
		scope[k] = true
	}
	for name := range g.Initializers {
		scope[name] = true
	}
	for _, in := range g.Inputs {
		scope[in.Name] = true
	}
	for _, np := range gp.Node {
		for _, o := range np.Output {
			if o == "" {
				continue
			}
			if _, ok := g.Initializers[o]; ok || seen[o] {
				return nil, formatErr("%s: node %q (%s) output %q duplicates an input or initializer", where, np.GetName(), np.GetOpType(), o)
			}
			scope[o] = true
		}
	}
	for _, np := range gp.Node {
		n, err := d.node(np, scope, depth)
		if err != nil {
			return nil, wrap(where, err)
		}
		g.Nodes = append(g.Nodes, n)
	}
	for _, o := range g.Outputs {
		if !scope[o.Name] {
			return nil, formatErr("%s: output %q is not computed", where, o.Name)
		}
	}
	if err := order(g, outer); err != nil {
		return nil, &FormatError{Err: fmt.Errorf("%s: %w", where, err)}
	}
	return g, nil
}

// order validates g with ir's Sort (missing inputs, duplicate producers, cycles) and adopts the sorted order only
// when the stored one is not already topological, so valid models keep their node order through a round trip.
func order(g *ir.Graph, outer map[string]bool) error {
	c := *g
	c.Nodes = append([]*ir.Node(nil), g.Nodes...)
	if err := c.Sort(outer); err != nil {
		return err
	}
	avail := map[string]bool{}
	for _, in := range g.Inputs {
		avail[in.Name] = true
	}
	for name := range g.Initializers {
		avail[name] = true
	}
	defined := map[string]bool{}
	for _, n := range g.Nodes {
		for _, o := range n.Outputs {
			defined[o] = true
		}
	}
	for _, n := range g.Nodes {
		reads := append([]string(nil), n.Inputs...)
		for _, a := range n.Attrs {
			if a.G != nil {
				reads = append(reads, a.G.FreeNames()...)
			}
			for _, sg := range a.Graphs {
				reads = append(reads, sg.FreeNames()...)
			}
		}
		for _, in := range reads {
			if in != "" && defined[in] && !avail[in] {
				g.Nodes = c.Nodes
				return nil
			}
		}
		for _, o := range n.Outputs {
			avail[o] = true
		}
	}
	return nil
}

// stripData drops a decoded initializer's data, keeping its metadata for Save.
func stripData(tp *onnxpb.TensorProto) {
	tp.RawData, tp.FloatData, tp.Int32Data, tp.StringData = nil, nil, nil, nil
	tp.Int64Data, tp.DoubleData, tp.Uint64Data = nil, nil, nil
}

func valueInfo(vp *onnxpb.ValueInfoProto, where string) (*ir.ValueInfo, error) {
	if vp.GetName() == "" {
		return nil, formatErr("%s: value info with no name", where)
	}
	t, err := valueType(vp.Type)
	if err != nil {
		return nil, formatErr("%s: value %q: %w", where, vp.GetName(), err)
	}
	return &ir.ValueInfo{Name: vp.GetName(), Type: t, Doc: vp.GetDocString()}, nil
}

// valueType reads a tensor type; sequence, map, optional and sparse types have no ir form and come back as the
// zero Type (Save then reuses the source's TypeProto).
func valueType(tp *onnxpb.TypeProto) (ir.Type, error) {
	tt := tp.GetTensorType()
	if tt == nil {
		return ir.Type{}, nil
	}
	// Element types ir lacks are kept as their number: the model can still be inspected and saved, and the
	// runtime rejects the node that touches such a value.
	t := ir.Type{DType: ir.DType(tt.GetElemType())}
	if tt.Shape == nil {
		return t, nil
	}
	t.HasShape = true
	t.Shape = make([]ir.Dim, len(tt.Shape.Dim))
	for i, dp := range tt.Shape.Dim {
		switch v := dp.Value.(type) {
		case *onnxpb.TensorShapeProto_Dimension_DimValue:
			if v.DimValue < 0 {
				return t, fmt.Errorf("negative dimension %d", v.DimValue)
			}
			t.Shape[i] = ir.DimOf(v.DimValue)
		case *onnxpb.TensorShapeProto_Dimension_DimParam:
			t.Shape[i] = ir.SymDim(v.DimParam)
		default:
			t.Shape[i] = ir.Dim{Size: -1}
		}
	}
	return t, nil
}

func (d *decoder) node(np *onnxpb.NodeProto, scope map[string]bool, depth int) (*ir.Node, error) {
	n := &ir.Node{
		Name:    np.GetName(),
		OpType:  np.GetOpType(),
		Domain:  np.GetDomain(),
		Inputs:  append([]string(nil), np.Input...),
		Outputs: append([]string(nil), np.Output...),
		Doc:     np.GetDocString(),
		Source:  np,
	}
	if n.OpType == "" {
		return nil, formatErr("%s: no op_type", n)
	}
	seen := map[string]bool{}
	for _, ap := range np.Attribute {
		a, err := d.attr(ap, scope, depth)
		if err != nil {
			return nil, wrap(n.String(), err)
		}
		if seen[a.Name] {
			return nil, formatErr("%s: duplicate attribute %q", n, a.Name)
		}
		seen[a.Name] = true
		n.Attrs = append(n.Attrs, a)
	}
	return n, nil
}

// attrKind is the attribute's declared type, or for models older than IR version 2 (which had no type field)
// the one implied by the field that is set.
func attrKind(ap *onnxpb.AttributeProto) onnxpb.AttributeProto_AttributeType {
	if ap.Type != nil {
		return ap.GetType()
	}
	switch {
	case ap.F != nil:
		return onnxpb.AttributeProto_FLOAT
	case ap.I != nil:
		return onnxpb.AttributeProto_INT
	case ap.S != nil:
		return onnxpb.AttributeProto_STRING
	case ap.T != nil:
		return onnxpb.AttributeProto_TENSOR
	case ap.G != nil:
		return onnxpb.AttributeProto_GRAPH
	case ap.SparseTensor != nil:
		return onnxpb.AttributeProto_SPARSE_TENSOR
	case ap.Tp != nil:
		return onnxpb.AttributeProto_TYPE_PROTO
	case len(ap.Floats) > 0:
		return onnxpb.AttributeProto_FLOATS
	case len(ap.Ints) > 0:
		return onnxpb.AttributeProto_INTS
	case len(ap.Strings) > 0:
		return onnxpb.AttributeProto_STRINGS
	case len(ap.Tensors) > 0:
		return onnxpb.AttributeProto_TENSORS
	case len(ap.Graphs) > 0:
		return onnxpb.AttributeProto_GRAPHS
	case len(ap.SparseTensors) > 0:
		return onnxpb.AttributeProto_SPARSE_TENSORS
	case len(ap.TypeProtos) > 0:
		return onnxpb.AttributeProto_TYPE_PROTOS
	}
	return onnxpb.AttributeProto_UNDEFINED
}

// attr converts one attribute. Sparse tensors are densified into T/Tensors with the type number kept
// (11/12), so kernels read them like dense ones; type protos (13/14) have no ir form and only survive via Source.
func (d *decoder) attr(ap *onnxpb.AttributeProto, scope map[string]bool, depth int) (*ir.Attr, error) {
	if ap.GetName() == "" {
		return nil, formatErr("attribute with no name")
	}
	kind := attrKind(ap)
	a := &ir.Attr{Name: ap.GetName(), Type: ir.AttrType(kind), RefAttrName: ap.GetRefAttrName(), Doc: ap.GetDocString()}
	what := fmt.Sprintf("attribute %q", a.Name)
	var err error
	switch kind {
	case onnxpb.AttributeProto_FLOAT:
		a.F = ap.GetF()
	case onnxpb.AttributeProto_INT:
		a.I = ap.GetI()
	case onnxpb.AttributeProto_STRING:
		a.S = string(ap.S)
	case onnxpb.AttributeProto_FLOATS:
		a.Floats = append([]float32{}, ap.Floats...)
	case onnxpb.AttributeProto_INTS:
		a.Ints = append([]int64{}, ap.Ints...)
	case onnxpb.AttributeProto_STRINGS:
		a.Strings = make([]string, len(ap.Strings))
		for i, s := range ap.Strings {
			a.Strings[i] = string(s)
		}
	case onnxpb.AttributeProto_TENSOR:
		if ap.T == nil && a.RefAttrName == "" {
			return nil, formatErr("%s: tensor missing", what)
		}
		if ap.T != nil {
			a.T, err = decodeTensor(ap.T, d.ext)
		}
	case onnxpb.AttributeProto_TENSORS:
		a.Tensors = make([]*ir.Tensor, len(ap.Tensors))
		for i, tp := range ap.Tensors {
			if a.Tensors[i], err = decodeTensor(tp, d.ext); err != nil {
				break
			}
		}
	case onnxpb.AttributeProto_SPARSE_TENSOR:
		if ap.SparseTensor == nil && a.RefAttrName == "" {
			return nil, formatErr("%s: sparse tensor missing", what)
		}
		if ap.SparseTensor != nil {
			a.T, err = decodeSparse(ap.SparseTensor, d.ext)
		}
	case onnxpb.AttributeProto_SPARSE_TENSORS:
		a.Tensors = make([]*ir.Tensor, len(ap.SparseTensors))
		for i, sp := range ap.SparseTensors {
			if a.Tensors[i], err = decodeSparse(sp, d.ext); err != nil {
				break
			}
		}
	case onnxpb.AttributeProto_GRAPH:
		if ap.G == nil && a.RefAttrName == "" {
			return nil, formatErr("%s: graph missing", what)
		}
		if ap.G != nil {
			a.G, err = d.graph(ap.G, scope, depth+1)
		}
	case onnxpb.AttributeProto_GRAPHS:
		a.Graphs = make([]*ir.Graph, len(ap.Graphs))
		for i, gp := range ap.Graphs {
			if a.Graphs[i], err = d.graph(gp, scope, depth+1); err != nil {
				break
			}
		}
	case onnxpb.AttributeProto_TYPE_PROTO, onnxpb.AttributeProto_TYPE_PROTOS:
	default:
		return nil, unsupportedErr("%s has type %d", what, int32(kind))
	}
	if err != nil {
		return nil, wrap(what, err)
	}
	return a, nil
}
