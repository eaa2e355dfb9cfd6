package quant

import (
	"fmt"
	"math"
	"slices"

	"github.com/hone-ml/hone/ir"
)

// HalfConfig configures Half.
type HalfConfig struct {
	// BFloat16 converts to bfloat16 instead of IEEE float16.
	BFloat16 bool
	// KeepIOTypes leaves float32 graph inputs and outputs float32, with Casts at the boundary.
	KeepIOTypes bool
	// Exclude names nodes to keep in float32 (with Casts around them), in addition to the blocked op types.
	Exclude []string
}

// halfBlocked are op types that stay float32 with Casts around them: their float inputs are scales or ranges
// whose precision matters (Resize, Range, CumSum), they select by comparing values that float16 may tie (TopK,
// NMS, Min, Max), or they make random numbers in a dtype of their own. The list follows onnxconverter-common's
// float16 converter, plus Resize as the issue asks.
var halfBlocked = []string{
	"MeanVarianceNormalization", // its function body's exponent is a float32 constant
	"Resize", "Upsample", "TopK", "NonMaxSuppression", "Range", "CumSum", "Min", "Max", "RoiAlign",
	"RandomNormal", "RandomUniform", "RandomNormalLike", "RandomUniformLike", "Multinomial", "Bernoulli", "EyeLike",
	"ArrayFeatureExtractor", "Binarizer", "CastMap", "CategoryMapper", "DictVectorizer", "FeatureVectorizer",
	"Imputer", "LabelEncoder", "LinearClassifier", "LinearRegressor", "Normalizer", "OneHotEncoder", "SVMClassifier",
	"SVMRegressor", "Scaler", "TreeEnsembleClassifier", "TreeEnsembleRegressor", "ZipMap",
}

// half16 converts float32 values to the target 16-bit type. Float16 clamps to its finite range (±65504) and
// lifts nonzero magnitudes below its smallest subnormal (2⁻²⁴) to it, so a weight never becomes ±Inf and a tiny
// one never becomes 0 (which could turn a later division into a division by zero); bfloat16 shares float32's
// exponent range and only rounds.
type half16 struct {
	dt      ir.DType
	clamped int // values changed beyond rounding
}

const (
	halfMax     = 65504
	halfMinSubn = 5.9604645e-08 // 2⁻²⁴
)

func (h *half16) convert(t *ir.Tensor) *ir.Tensor {
	out := ir.New(h.dt, t.Shape...)
	dst := out.Bits16()
	for i, v := range t.F32() {
		if h.dt == ir.BFloat16 {
			dst[i] = ir.FloatToBFloat16(v)
			continue
		}
		a := math.Abs(float64(v))
		switch {
		case a > halfMax && !math.IsInf(float64(v), 0):
			v = float32(math.Copysign(halfMax, float64(v)))
			h.clamped++
		case a != 0 && a < halfMinSubn:
			v = float32(math.Copysign(halfMinSubn, float64(v)))
			h.clamped++
		}
		dst[i] = ir.FloatToHalf(v)
	}
	return out
}

// Half converts a float32 model to float16 (or bfloat16) weights and compute. Every float32 value read or written
// by a node becomes 16-bit, except around blocked op types and excluded nodes, which keep float32 with Casts on
// their float inputs; float32 initializers become 16-bit (a copy stays float32 where a blocked node reads it too).
// With KeepIOTypes the model's float32 inputs and outputs keep their type through Casts at the boundary. The
// input model is not modified.
func Half(m *ir.Model, cfg HalfConfig) (*ir.Model, *Report, error) {
	if err := checkInput(m, cfg.Exclude); err != nil {
		return nil, nil, err
	}
	dt, mode := ir.Float16, "fp16"
	var upgradedFrom int64
	if have := m.Opset(""); have != 0 && have < 6 {
		// Cast took its target type as a string before opset 6.
		return nil, nil, fmt.Errorf("quant: %s mode needs opset 6 or later; the model declares %d (convert it first)", mode, have)
	}
	if cfg.BFloat16 {
		dt, mode = ir.BFloat16, "bf16"
		// Cast and most arithmetic ops accept bfloat16 from opset 13: older models (PP-OCRv4 det declares 11) are
		// converted as Static converts them.
		if have := m.Opset(""); have != 0 && have < 13 {
			up, err := upgradeTo13(m, mode)
			if err != nil {
				return nil, nil, err
			}
			m, upgradedFrom = up, have
		}
	}
	out := m.Clone()
	g := out.Graph
	for _, n := range g.Nodes {
		for _, a := range n.Attrs {
			if a.G != nil || len(a.Graphs) > 0 {
				return nil, nil, fmt.Errorf("quant: %s: %s mode does not convert control flow (subgraph attribute %q)", n, mode, a.Name)
			}
		}
	}
	// Types come from shape inference on a throwaway copy, so the saved model gets no inferred value infos.
	typed := m.Graph.Clone()
	if err := ir.InferGraph(typed, opsetMap(m)); err != nil {
		return nil, nil, fmt.Errorf("quant: %s: %w", mode, err)
	}
	isF32 := func(v string) bool {
		t, ok := typed.TypeOfValue(v)
		return v != "" && ok && t.DType == ir.Float32
	}
	rep := &Report{Mode: mode, BytesFloat: initBytes(m.Graph)}
	if upgradedFrom != 0 {
		rep.Notes = append(rep.Notes, upgradeNote(upgradedFrom))
	}
	h := &half16{dt: dt}
	nm := newNamer(g)

	wide := beyondHalf(g, dt)
	low := map[*ir.Node]bool{}
	for _, n := range g.Nodes {
		blocked := slices.Contains(halfBlocked, n.OpType) || slices.Contains(cfg.Exclude, n.Name) ||
			!n.IsDefaultDomain()
		tooWide := slices.ContainsFunc(append(slices.Clone(n.Inputs), n.Outputs...), func(v string) bool { return wide[v] })
		noSchema := n.IsDefaultDomain() && !halfAccepts(n, out.Opset(""), dt, isF32)
		blocked = blocked || tooWide || noSchema
		touches := false
		for _, v := range append(slices.Clone(n.Inputs), n.Outputs...) {
			touches = touches || isF32(v)
		}
		if n.OpType == "Constant" || n.OpType == "ConstantOfShape" {
			touches = constFloat32(n)
		}
		switch {
		case !touches:
		case blocked:
			why := "blocked op type"
			if tooWide {
				why = "a constant input exceeds float16's range (±65504)"
			} else if noSchema {
				why = fmt.Sprintf("its ONNX schema at opset %d takes no %s", out.Opset(""), dt)
			} else if slices.Contains(cfg.Exclude, n.Name) {
				why = "excluded"
			} else if !n.IsDefaultDomain() {
				why = "custom domain"
			}
			rep.keep(n, "%s", why)
		default:
			low[n] = true
			rep.Quantized = append(rep.Quantized, n.String())
		}
	}
	if len(low) == 0 {
		return nil, nil, fmt.Errorf("quant: %s: no float32 computation to convert", mode)
	}

	// cur is each float32 value's type after conversion; casts caches the Cast already made per value and type.
	cur := map[string]ir.DType{}
	for _, in := range g.Inputs {
		if isF32(in.Name) && g.Initializers[in.Name] == nil { // an initializer listed as an input (IR 3) follows it
			cur[in.Name] = ir.Float32
			if !cfg.KeepIOTypes {
				cur[in.Name] = dt
				in.Type.DType = dt
			}
		}
	}
	readers := g.Consumers()
	for _, name := range slices.Clone(g.InitOrder) {
		t := g.Initializers[name]
		if t.DType != ir.Float32 {
			continue
		}
		var lowR, highR bool
		for _, r := range readers[name] {
			if low[r] {
				lowR = true
			} else {
				highR = true
			}
		}
		switch {
		case lowR && !highR:
			g.Initializers[name] = h.convert(t)
			cur[name] = dt
			for _, in := range g.Inputs {
				if in.Name == name {
					in.Type.DType = dt
				}
			}
		case lowR && highR:
			// Both kinds read it: the Cast pass below makes one 16-bit copy at run time, which keeps the file
			// small enough; a second initializer would store the weight twice.
			cur[name] = ir.Float32
		default:
			cur[name] = ir.Float32
		}
	}
	for _, n := range g.Nodes {
		if low[n] {
			lowerAttrs(n, h)
		}
		for _, o := range n.Outputs {
			if isF32(o) || (low[n] && (n.OpType == "Constant" || n.OpType == "ConstantOfShape")) {
				cur[o] = ir.Float32
				if low[n] {
					cur[o] = dt
				}
			}
		}
	}
	// Graph outputs get the type the caller expects: float32 with KeepIOTypes, else the 16-bit type.
	var tail []*ir.Node
	for _, o := range g.Outputs {
		have, ok := cur[o.Name]
		if !ok || g.IsGraphInput(o.Name) {
			continue
		}
		want := dt
		if cfg.KeepIOTypes {
			want = ir.Float32
		}
		if o.Type.DType != ir.Undefined {
			o.Type.DType = want
		}
		if have == want {
			continue
		}
		inner := nm.value(o.Name + "_" + have.String())
		for _, n := range g.Nodes {
			for i, v := range n.Outputs {
				if v == o.Name {
					n.Outputs[i] = inner
				}
			}
		}
		if _, isInit := g.Initializers[o.Name]; isInit {
			continue // a constant output: left as stored
		}
		g.ReplaceAllUses(o.Name, inner)
		cur[inner] = have
		tail = append(tail, castNode(nm, inner, o.Name, want))
	}
	// Every node reads its float inputs in the type it computes in.
	casts := map[[2]string]string{}
	for _, n := range slices.Clone(g.Nodes) {
		want := ir.Float32
		if low[n] {
			want = dt
		}
		for i, v := range n.Inputs {
			have, ok := cur[v]
			if !ok || have == want {
				continue
			}
			key := [2]string{v, want.String()}
			c, done := casts[key]
			if !done {
				c = nm.value(v + "_" + want.String())
				g.InsertBefore(n, castNode(nm, v, c, want))
				casts[key] = c
			}
			n.Inputs[i] = c
		}
	}
	g.Nodes = append(g.Nodes, tail...)
	for name, vi := range g.ValueInfo {
		if t, ok := cur[name]; ok {
			vi.Type.DType = t
		}
	}
	g.RemoveUnused()
	if err := g.Sort(nil); err != nil {
		return nil, nil, fmt.Errorf("quant: %s: %w", mode, err)
	}
	rep.BytesQuant = initBytes(g)
	if h.clamped > 0 {
		rep.Notes = append(rep.Notes, fmt.Sprintf("%d weight values clamped into float16's finite range", h.clamped))
	}
	return out, rep, nil
}

// beyondHalf returns the float32 constants (initializers and Constant outputs) holding a finite value beyond
// float16's range, when converting to float16. Clamping such a weight changes what the model computes, not just
// its rounding: PP-OCRv4 det's head has a BatchNormalization whose running variance is 1e7–1e8 (its input's
// scale is about 1e4); clamped to 65504, that layer's output grew up to 39× and det's probability map lost a third
// of its text pixels (IoU 0.65 against float32). The nodes that read them stay float32, exactly, with Casts around.
func beyondHalf(g *ir.Graph, dt ir.DType) map[string]bool {
	wide := map[string]bool{}
	if dt != ir.Float16 {
		return wide // bfloat16 has float32's exponent range
	}
	over := func(t *ir.Tensor) bool {
		if t == nil || t.DType != ir.Float32 {
			return false
		}
		for _, v := range t.F32() {
			if a := math.Abs(float64(v)); a > halfMax && !math.IsInf(a, 0) {
				return true
			}
		}
		return false
	}
	for name, t := range g.Initializers {
		wide[name] = over(t)
	}
	for _, n := range g.Nodes {
		if a := n.Attr("value"); n.OpType == "Constant" && a != nil && len(n.Outputs) == 1 {
			wide[n.Outputs[0]] = over(a.T)
		}
	}
	return wide
}

func castNode(nm *namer, in, out string, to ir.DType) *ir.Node {
	return &ir.Node{Name: nm.node(out + "_cast"), OpType: "Cast", Inputs: []string{in}, Outputs: []string{out},
		Attrs: []*ir.Attr{{Name: "to", Type: ir.AttrInt, I: int64(to)}}}
}

// constFloat32 reports whether a Constant or ConstantOfShape node makes a float32 tensor.
func constFloat32(n *ir.Node) bool {
	a := n.Attr("value")
	if a == nil || a.Type != ir.AttrTensor || a.T == nil {
		// Constant's value_float(s) forms are float32 too; ConstantOfShape defaults to float32 zeros.
		return n.Attr("value_float") != nil || n.Attr("value_floats") != nil || (n.OpType == "ConstantOfShape" && a == nil)
	}
	return a.T.DType == ir.Float32
}

// lowerAttrs rewrites the attributes that fix a float32 output type in a node that now computes in 16 bits.
func lowerAttrs(n *ir.Node, h *half16) {
	switch n.OpType {
	case "Cast":
		if n.AttrInt("to", 0) == int64(ir.Float32) {
			n.SetAttr(&ir.Attr{Name: "to", Type: ir.AttrInt, I: int64(h.dt)})
		}
	case "Constant", "ConstantOfShape":
		var t *ir.Tensor
		if a := n.Attr("value"); a != nil && a.T != nil && a.T.DType == ir.Float32 {
			t = a.T
		} else if a := n.Attr("value_float"); a != nil {
			t = ir.Scalar(a.F)
		} else if a := n.Attr("value_floats"); a != nil {
			t = ir.FromFloat32([]int{len(a.Floats)}, slices.Clone(a.Floats))
		} else if n.OpType == "ConstantOfShape" {
			t = ir.FromFloat32([]int{1}, []float32{0})
		}
		if t == nil {
			return
		}
		attrs := n.Attrs[:0]
		for _, a := range n.Attrs {
			if a.Name != "value" && a.Name != "value_float" && a.Name != "value_floats" {
				attrs = append(attrs, a)
			}
		}
		n.Attrs = append(attrs, &ir.Attr{Name: "value", Type: ir.AttrTensor, T: h.convert(t)})
		n.Source = nil // the original NodeProto's attribute would otherwise be written back
	}
}

func opsetMap(m *ir.Model) map[string]int64 {
	o := map[string]int64{}
	for _, op := range m.Opsets {
		d := op.Domain
		if d == "ai.onnx" {
			d = ""
		}
		o[d] = op.Version
	}
	return o
}

// halfSchema is one version of an op's schema as halfTypes records it.
type halfSchema struct {
	since   int64
	in, out string
}

// halfAccepts reports whether n's schema at opset takes dt (float16 or bfloat16) wherever the conversion would
// put it: every input and output isF32 reports. An op the table lacks (newer than its ONNX) is taken to.
func halfAccepts(n *ir.Node, opset int64, dt ir.DType, isF32 func(string) bool) bool {
	var s *halfSchema
	for i, v := range halfTypes[n.OpType] {
		if v.since <= opset {
			s = &halfTypes[n.OpType][i]
		}
	}
	if s == nil {
		return true
	}
	bit := byte(1)
	if dt == ir.BFloat16 {
		bit = 2
	}
	takes := func(formal string, values []string) bool {
		for i, v := range values {
			if len(formal) > 0 && isF32(v) && (formal[min(i, len(formal)-1)]-'0')&bit == 0 {
				return false
			}
		}
		return true
	}
	return takes(s.in, n.Inputs) && takes(s.out, n.Outputs)
}
