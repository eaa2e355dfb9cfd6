package onnx

import (
	"fmt"
	"slices"

	"google.golang.org/protobuf/proto"

	"github.com/hone-ml/hone/ir"
	"github.com/hone-ml/hone/onnx/onnxpb"
)

// defaultIRVersion is written for models built without a source: ONNX 1.12's IR_VERSION, matching onnxpb.
const defaultIRVersion = 8

// encoder turns ir back into protobuf, taking what ir does not model from the decoded source when there is one.
type encoder struct {
	src *source
	// inits pairs every initializer written (subgraphs included) with its tensor, for Save's external data.
	inits []encInit
}

type encInit struct {
	tp *onnxpb.TensorProto
	t  *ir.Tensor
}

// ToProto converts m to a ModelProto with all tensor data inline.
func ToProto(m *ir.Model) (*onnxpb.ModelProto, error) {
	e := &encoder{}
	e.src, _ = m.Source.(*source)
	return e.model(m)
}

func (e *encoder) model(m *ir.Model) (*onnxpb.ModelProto, error) {
	if m.Graph == nil {
		return nil, formatErr("model has no graph")
	}
	var src *onnxpb.ModelProto
	if e.src != nil {
		src = e.src.pb
	}
	mp := &onnxpb.ModelProto{
		IrVersion:       optInt64(m.IRVersion, src.GetIrVersion(), src != nil && src.IrVersion != nil),
		ProducerName:    optString(m.ProducerName, src.GetProducerName(), src != nil && src.ProducerName != nil),
		ProducerVersion: optString(m.ProducerVersion, src.GetProducerVersion(), src != nil && src.ProducerVersion != nil),
		Domain:          optString(m.Domain, src.GetDomain(), src != nil && src.Domain != nil),
		ModelVersion:    optInt64(m.ModelVersion, src.GetModelVersion(), src != nil && src.ModelVersion != nil),
		DocString:       optString(m.Doc, src.GetDocString(), src != nil && src.DocString != nil),
	}
	if src == nil && m.IRVersion == 0 {
		mp.IrVersion = proto.Int64(defaultIRVersion)
	}
	for i, o := range m.Opsets {
		var so *onnxpb.OperatorSetIdProto
		if src != nil && i < len(src.OpsetImport) {
			so = src.OpsetImport[i]
		}
		mp.OpsetImport = append(mp.OpsetImport, &onnxpb.OperatorSetIdProto{
			Domain:  optString(o.Domain, so.GetDomain(), so != nil && so.Domain != nil),
			Version: proto.Int64(o.Version),
		})
	}
	for _, kv := range m.Metadata {
		mp.MetadataProps = append(mp.MetadataProps, &onnxpb.StringStringEntryProto{Key: proto.String(kv.Key), Value: proto.String(kv.Value)})
	}
	var sg *onnxpb.GraphProto
	if src != nil {
		sg = src.Graph
		mp.Functions = src.Functions
		mp.TrainingInfo = src.TrainingInfo
		mp.ProtoReflect().SetUnknown(src.ProtoReflect().GetUnknown())
	}
	g, err := e.graph(m.Graph, sg)
	if err != nil {
		return nil, err
	}
	mp.Graph = g
	return mp, nil
}

// formFor picks the storage form for a tensor whose source was hint: the source's own, except that external data
// is written inline here (Save decides again what goes external).
func (e *encoder) formFor(hint *onnxpb.TensorProto) form {
	if hint == nil {
		return formRaw
	}
	f, ok := form(0), false
	if e.src != nil {
		f, ok = e.src.forms[hint]
	}
	if !ok {
		f = formOf(hint)
	}
	if f == formExternal {
		return formRaw
	}
	return f
}

func (e *encoder) graph(g *ir.Graph, src *onnxpb.GraphProto) (*onnxpb.GraphProto, error) {
	where := fmt.Sprintf("graph %q", g.Name)
	gp := &onnxpb.GraphProto{
		Name:      optString(g.Name, src.GetName(), src != nil && src.Name != nil),
		DocString: optString(g.Doc, src.GetDocString(), src != nil && src.DocString != nil),
	}
	srcInit := map[string]*onnxpb.TensorProto{}
	srcSparse := map[string]*onnxpb.SparseTensorProto{}
	srcVI := map[string]*onnxpb.ValueInfoProto{}
	var viOrder []string
	if src != nil {
		for _, tp := range src.Initializer {
			srcInit[tp.GetName()] = tp
		}
		for _, sp := range src.SparseInitializer {
			srcSparse[sp.GetValues().GetName()] = sp
		}
		for _, vp := range src.ValueInfo {
			if _, dup := srcVI[vp.GetName()]; !dup {
				srcVI[vp.GetName()] = vp
				viOrder = append(viOrder, vp.GetName())
			}
		}
		gp.QuantizationAnnotation = src.QuantizationAnnotation
		gp.ProtoReflect().SetUnknown(src.ProtoReflect().GetUnknown())
	}

	// InitOrder first, then anything a pass added to the map without it, sorted so output is deterministic.
	names := make([]string, 0, len(g.Initializers))
	listed := map[string]bool{}
	for _, name := range g.InitOrder {
		if _, ok := g.Initializers[name]; ok && !listed[name] {
			listed[name] = true
			names = append(names, name)
		}
	}
	var extra []string
	for name := range g.Initializers {
		if !listed[name] {
			extra = append(extra, name)
		}
	}
	slices.Sort(extra)
	names = append(names, extra...)
	for _, name := range names {
		t := g.Initializers[name]
		if g.SparseInitializers[name] {
			sp, err := encodeSparse(t, name, srcSparse[name])
			if err != nil {
				return nil, wrap(where, err)
			}
			gp.SparseInitializer = append(gp.SparseInitializer, sp)
			continue
		}
		hint := srcInit[name]
		tp, err := encodeTensor(t, name, hint, e.formFor(hint))
		if err != nil {
			return nil, wrap(where, err)
		}
		tp.Name = proto.String(name)
		gp.Initializer = append(gp.Initializer, tp)
		e.inits = append(e.inits, encInit{tp, t})
	}

	findVI := func(list []*onnxpb.ValueInfoProto, name string) *onnxpb.ValueInfoProto {
		for _, vp := range list {
			if vp.GetName() == name {
				return vp
			}
		}
		return srcVI[name]
	}
	for _, vi := range g.Inputs {
		gp.Input = append(gp.Input, valueInfoProto(vi, findVI(src.GetInput(), vi.Name)))
	}
	for _, vi := range g.Outputs {
		gp.Output = append(gp.Output, valueInfoProto(vi, findVI(src.GetOutput(), vi.Name)))
	}
	var rest []string
	for name := range g.ValueInfo {
		if _, ok := srcVI[name]; !ok {
			rest = append(rest, name)
		}
	}
	slices.Sort(rest)
	for _, name := range append(viOrder, rest...) {
		if vi, ok := g.ValueInfo[name]; ok {
			gp.ValueInfo = append(gp.ValueInfo, valueInfoProto(vi, srcVI[name]))
		}
	}
	for _, n := range g.Nodes {
		np, err := e.node(n)
		if err != nil {
			return nil, wrap(where, err)
		}
		gp.Node = append(gp.Node, np)
	}
	return gp, nil
}

func valueInfoProto(vi *ir.ValueInfo, src *onnxpb.ValueInfoProto) *onnxpb.ValueInfoProto {
	vp := &onnxpb.ValueInfoProto{
		Name:      proto.String(vi.Name),
		DocString: optString(vi.Doc, src.GetDocString(), src != nil && src.DocString != nil),
	}
	if src != nil {
		vp.ProtoReflect().SetUnknown(src.ProtoReflect().GetUnknown())
		// The source type is reused when ir's view of it is unchanged: it also carries denotations and the
		// non-tensor types ir cannot express.
		if st, err := valueType(src.Type); err == nil && sameType(st, vi.Type) {
			vp.Type = src.Type
			return vp
		}
	}
	vp.Type = typeProto(vi.Type)
	return vp
}

func sameType(a, b ir.Type) bool {
	return a.DType == b.DType && a.HasShape == b.HasShape && slices.Equal(a.Shape, b.Shape)
}

func typeProto(t ir.Type) *onnxpb.TypeProto {
	if t.DType == ir.Undefined && !t.HasShape {
		return nil
	}
	tt := &onnxpb.TypeProto_Tensor{ElemType: proto.Int32(int32(t.DType))}
	if t.HasShape {
		tt.Shape = &onnxpb.TensorShapeProto{Dim: make([]*onnxpb.TensorShapeProto_Dimension, len(t.Shape))}
		for i, d := range t.Shape {
			dp := &onnxpb.TensorShapeProto_Dimension{}
			switch {
			case d.Size >= 0:
				dp.Value = &onnxpb.TensorShapeProto_Dimension_DimValue{DimValue: d.Size}
			case d.Param != "":
				dp.Value = &onnxpb.TensorShapeProto_Dimension_DimParam{DimParam: d.Param}
			}
			tt.Shape.Dim[i] = dp
		}
	}
	return &onnxpb.TypeProto{Value: &onnxpb.TypeProto_TensorType{TensorType: tt}}
}

func (e *encoder) node(n *ir.Node) (*onnxpb.NodeProto, error) {
	// A source node is trusted only while it is still the same operator; a pass may have reused the struct.
	src, _ := n.Source.(*onnxpb.NodeProto)
	if src != nil && (src.GetOpType() != n.OpType || src.GetDomain() != n.Domain) {
		src = nil
	}
	np := &onnxpb.NodeProto{
		Input:     n.Inputs,
		Output:    n.Outputs,
		Name:      optString(n.Name, src.GetName(), src != nil && src.Name != nil),
		OpType:    proto.String(n.OpType),
		Domain:    optString(n.Domain, src.GetDomain(), src != nil && src.Domain != nil),
		DocString: optString(n.Doc, src.GetDocString(), src != nil && src.DocString != nil),
	}
	if src != nil {
		np.ProtoReflect().SetUnknown(src.ProtoReflect().GetUnknown())
	}
	for _, a := range n.Attrs {
		var sa *onnxpb.AttributeProto
		for _, c := range src.GetAttribute() {
			if c.GetName() == a.Name {
				sa = c
				break
			}
		}
		ap, err := e.attr(a, sa)
		if err != nil {
			return nil, wrap(n.String(), err)
		}
		np.Attribute = append(np.Attribute, ap)
	}
	return np, nil
}

func (e *encoder) attr(a *ir.Attr, src *onnxpb.AttributeProto) (*onnxpb.AttributeProto, error) {
	what := fmt.Sprintf("attribute %q", a.Name)
	kind := onnxpb.AttributeProto_AttributeType(a.Type)
	ap := &onnxpb.AttributeProto{
		Name:        proto.String(a.Name),
		RefAttrName: optString(a.RefAttrName, src.GetRefAttrName(), src != nil && src.RefAttrName != nil),
		DocString:   optString(a.Doc, src.GetDocString(), src != nil && src.DocString != nil),
		Type:        kind.Enum(),
	}
	if src != nil {
		ap.ProtoReflect().SetUnknown(src.ProtoReflect().GetUnknown())
		// Models before IR version 2 had no type field; keep it absent when it is still implied.
		if src.Type == nil && attrKind(src) == kind {
			ap.Type = nil
		}
	}
	if a.RefAttrName != "" {
		// A reference to a function attribute has no value of its own.
		return ap, nil
	}
	tensorHint := func(list []*onnxpb.TensorProto, i int) *onnxpb.TensorProto {
		if i < len(list) {
			return list[i]
		}
		return nil
	}
	switch kind {
	case onnxpb.AttributeProto_FLOAT:
		ap.F = proto.Float32(a.F)
	case onnxpb.AttributeProto_INT:
		ap.I = proto.Int64(a.I)
	case onnxpb.AttributeProto_STRING:
		ap.S = []byte(a.S)
	case onnxpb.AttributeProto_FLOATS:
		ap.Floats = a.Floats
	case onnxpb.AttributeProto_INTS:
		ap.Ints = a.Ints
	case onnxpb.AttributeProto_STRINGS:
		for _, s := range a.Strings {
			ap.Strings = append(ap.Strings, []byte(s))
		}
	case onnxpb.AttributeProto_TENSOR:
		hint := src.GetT()
		tp, err := encodeTensor(a.T, hint.GetName(), hint, e.formFor(hint))
		if err != nil {
			return nil, wrap(what, err)
		}
		ap.T = tp
	case onnxpb.AttributeProto_TENSORS:
		for i, t := range a.Tensors {
			hint := tensorHint(src.GetTensors(), i)
			tp, err := encodeTensor(t, hint.GetName(), hint, e.formFor(hint))
			if err != nil {
				return nil, wrap(what, err)
			}
			ap.Tensors = append(ap.Tensors, tp)
		}
	case onnxpb.AttributeProto_SPARSE_TENSOR:
		hint := src.GetSparseTensor()
		sp, err := encodeSparse(a.T, hint.GetValues().GetName(), hint)
		if err != nil {
			return nil, wrap(what, err)
		}
		ap.SparseTensor = sp
	case onnxpb.AttributeProto_SPARSE_TENSORS:
		for i, t := range a.Tensors {
			var hint *onnxpb.SparseTensorProto
			if i < len(src.GetSparseTensors()) {
				hint = src.SparseTensors[i]
			}
			sp, err := encodeSparse(t, hint.GetValues().GetName(), hint)
			if err != nil {
				return nil, wrap(what, err)
			}
			ap.SparseTensors = append(ap.SparseTensors, sp)
		}
	case onnxpb.AttributeProto_GRAPH:
		if a.G == nil {
			return nil, formatErr("%s: graph missing", what)
		}
		gp, err := e.graph(a.G, src.GetG())
		if err != nil {
			return nil, wrap(what, err)
		}
		ap.G = gp
	case onnxpb.AttributeProto_GRAPHS:
		for i, sg := range a.Graphs {
			var hint *onnxpb.GraphProto
			if i < len(src.GetGraphs()) {
				hint = src.Graphs[i]
			}
			gp, err := e.graph(sg, hint)
			if err != nil {
				return nil, wrap(what, err)
			}
			ap.Graphs = append(ap.Graphs, gp)
		}
	case onnxpb.AttributeProto_TYPE_PROTO, onnxpb.AttributeProto_TYPE_PROTOS:
		// ir has no type values: they exist only in the source.
		if src == nil || attrKind(src) != kind {
			return nil, unsupportedErr("%s: type-valued attribute without a source", what)
		}
		ap.Tp, ap.TypeProtos = src.Tp, src.TypeProtos
	default:
		return nil, unsupportedErr("%s has type %d", what, a.Type)
	}
	return ap, nil
}
