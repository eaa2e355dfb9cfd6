package quant

import (
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/hone-ml/hone/ir"
)

// compact shrinks a quantized graph's file without changing what it computes, as the issue holds an INT8 file to
// 0.26× the float one and on models with many narrow layers (PP-OCRv4 det: 728 nodes over 1.17 MB of int8
// weights) names, duplicated constants and restated attributes are a few percent of the file. It merges identical
// initializers, drops attributes that equal their defaults (and kernel_shape where the weight gives it), and
// renames every value the graph does not expose (graph inputs and outputs, values read inside subgraphs) to a
// short fresh name, the shortest going to the most-read values. Node names stay, so reports, --exclude and
// profiles still match the float model. The emitter's narrow storage (halfScales, narrowInts below) is the other
// half: with both, det's file is 0.2599× the float one (int8 weights alone 0.2456×), rec's 0.2589×.
func compact(g *ir.Graph) {
	keep := map[string]bool{}
	for _, v := range g.Inputs {
		keep[v.Name] = true
	}
	for _, v := range g.Outputs {
		keep[v.Name] = true
	}
	for _, n := range g.Nodes {
		for _, name := range nodeFreeNames(n) {
			keep[name] = true
		}
	}
	mergeInitializers(g, keep)
	shape := constShape(g)
	for _, n := range g.Nodes {
		dropDefaultAttrs(n, shape)
		n.Doc = ""
	}
	renameValues(g, keep)
}

// nodeFreeNames lists the outer values n's subgraphs read.
func nodeFreeNames(n *ir.Node) []string {
	var out []string
	for _, a := range n.Attrs {
		if a.G != nil {
			out = append(out, a.G.FreeNames()...)
		}
		for _, sg := range a.Graphs {
			out = append(out, sg.FreeNames()...)
		}
	}
	return out
}

// mergeInitializers points every reader of an initializer at the first (by name) one with the same type, shape
// and bytes and drops the copies: exporters repeat small constants (paddle2onnx writes a fresh
// p2o.helper.constant.N for every Clip bound and Resize scale; PP-OCRv4 det has 108 copies).
func mergeInitializers(g *ir.Graph, keep map[string]bool) {
	first := map[string]string{}
	alias := map[string]string{}
	for _, name := range sortedKeys(g.Initializers) {
		t := g.Initializers[name]
		if keep[name] || g.SparseInitializers[name] || t.DType == ir.String {
			continue
		}
		var k strings.Builder
		k.WriteString(t.DType.String())
		for _, d := range t.Shape {
			k.WriteByte(',')
			k.WriteString(strconv.Itoa(d))
		}
		k.WriteByte(':')
		k.Write(t.Bytes())
		if f, ok := first[k.String()]; ok {
			alias[name] = f
		} else {
			first[k.String()] = name
		}
	}
	if len(alias) == 0 {
		return
	}
	for _, n := range g.Nodes {
		for i, v := range n.Inputs {
			if a, ok := alias[v]; ok {
				n.Inputs[i] = a
			}
		}
	}
	for name := range alias {
		g.RemoveInitializer(name)
	}
}

// attrDefaults are, per default-domain op, attributes whose value when absent is the same in every opset a
// quantized model can have (13 on): an attribute restating it is dropped. Int lists (strides, pads, …) match when
// every element is the default. Conv's and ConvTranspose's kernel_shape is dropped separately, where it equals
// the weight's spatial shape (ONNX then infers it from the weight).
var attrDefaults = map[string]map[string]ir.Attr{
	"Conv": {"dilations": {I: 1}, "strides": {I: 1}, "pads": {I: 0}, "group": {I: 1}},
	"ConvTranspose": {"dilations": {I: 1}, "strides": {I: 1}, "pads": {I: 0}, "group": {I: 1},
		"output_padding": {I: 0}},
	"HardSigmoid":        {"alpha": {F: 0.2}, "beta": {F: 0.5}},
	"LeakyRelu":          {"alpha": {F: 0.01}},
	"BatchNormalization": {"epsilon": {F: 1e-5}, "momentum": {F: 0.9}},
	"Gemm":               {"alpha": {F: 1}, "beta": {F: 1}, "transA": {I: 0}, "transB": {I: 0}},
	"Resize": {"mode": {S: "nearest"}, "coordinate_transformation_mode": {S: "half_pixel"},
		"nearest_mode": {S: "round_prefer_floor"}, "cubic_coeff_a": {F: -0.75}, "exclude_outside": {I: 0},
		"extrapolation_value": {F: 0}},
}

// dropDefaultAttrs removes a default-domain node's attributes that restate their defaults (attrDefaults), and a
// Conv's or ConvTranspose's kernel_shape equal to the spatial shape of its weight, whose shape shape reports.
// ConvTranspose keeps its pads when output_shape or auto_pad is set, as the two interact.
func dropDefaultAttrs(n *ir.Node, shape func(string) []int) {
	defs := attrDefaults[n.OpType]
	if defs == nil || !n.IsDefaultDomain() {
		return
	}
	ct := n.OpType == "ConvTranspose" && (n.Attr("output_shape") != nil || n.Attr("auto_pad") != nil)
	n.Attrs = slices.DeleteFunc(n.Attrs, func(a *ir.Attr) bool {
		if a.RefAttrName != "" {
			return false
		}
		if a.Name == "kernel_shape" && (n.OpType == "Conv" || n.OpType == "ConvTranspose") && a.Type == ir.AttrInts {
			w := shape(n.Input(1))
			return len(w) == len(a.Ints)+2 && slices.Equal(a.Ints, toInt64s(w[2:]))
		}
		d, ok := defs[a.Name]
		switch {
		case !ok || (ct && a.Name == "pads"):
			return false
		case a.Type == ir.AttrInt:
			return a.I == d.I
		case a.Type == ir.AttrInts:
			return len(a.Ints) > 0 && !slices.ContainsFunc(a.Ints, func(x int64) bool { return x != d.I })
		case a.Type == ir.AttrFloat:
			return a.F == d.F
		case a.Type == ir.AttrString:
			return a.S == d.S
		}
		return false
	})
}

// constShape returns a function giving the shape of a constant value of g: an initializer, or a
// DequantizeLinear or Cast of one; nil when it is not one.
func constShape(g *ir.Graph) func(string) []int {
	prod := g.Producers()
	return func(v string) []int {
		for range 2 { // at most DequantizeLinear(Cast(initializer))
			if t, ok := g.Initializers[v]; ok {
				return t.Shape
			}
			p := prod[v]
			if p == nil || (p.OpType != "DequantizeLinear" && p.OpType != "Cast") || !p.IsDefaultDomain() {
				return nil
			}
			v = p.Input(0)
		}
		if t, ok := g.Initializers[v]; ok {
			return t.Shape
		}
		return nil
	}
}

func toInt64s(v []int) []int64 {
	out := make([]int64, len(v))
	for i, x := range v {
		out[i] = int64(x)
	}
	return out
}

// renameValues gives every value not in keep a short name ("a", "b", …, "aa", …), the most-referenced first.
func renameValues(g *ir.Graph, keep map[string]bool) {
	refs, order := map[string]int{}, []string{}
	see := func(v string) {
		if v == "" || keep[v] {
			return
		}
		if _, ok := refs[v]; !ok {
			order = append(order, v)
		}
		refs[v]++
	}
	for _, n := range g.Nodes {
		for _, v := range n.Inputs {
			see(v)
		}
		for _, v := range n.Outputs {
			see(v)
		}
	}
	for _, name := range g.InitOrder {
		see(name)
	}
	for _, name := range sortedKeys(g.Initializers) {
		see(name)
	}
	// An initializer's name is written once more, in the initializer itself.
	for name := range g.Initializers {
		if _, ok := refs[name]; ok {
			refs[name]++
		}
	}
	sort.SliceStable(order, func(i, j int) bool { return refs[order[i]] > refs[order[j]] })
	to := make(map[string]string, len(order))
	next := 0
	for _, v := range order {
		s := shortName(next)
		for next++; keep[s]; next++ {
			s = shortName(next)
		}
		to[v] = s
	}
	rename := func(vs []string) {
		for i, v := range vs {
			if s, ok := to[v]; ok {
				vs[i] = s
			}
		}
	}
	for _, n := range g.Nodes {
		rename(n.Inputs)
		rename(n.Outputs)
	}
	rename(g.InitOrder)
	inits := make(map[string]*ir.Tensor, len(g.Initializers))
	for name, t := range g.Initializers {
		if s, ok := to[name]; ok {
			name = s
		}
		inits[name] = t
	}
	g.Initializers = inits
	sparse := map[string]bool{}
	for name := range g.SparseInitializers {
		if s, ok := to[name]; ok {
			name = s
		}
		sparse[name] = true
	}
	g.SparseInitializers = sparse
	// Intermediate types are not needed to load or run the model; ONNX Runtime infers them again.
	for name := range g.ValueInfo {
		if !keep[name] {
			delete(g.ValueInfo, name)
		}
	}
}

// shortName is the i-th name of the sequence a…z, A…Z, then two characters and more with digits after the first
// (a name never starts with a digit, so it cannot read as a number in tools that print it).
func shortName(i int) string {
	const first, rest = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	b := []byte{first[i%len(first)]}
	for i /= len(first); i > 0; i = (i - 1) / len(rest) {
		b = append(b, rest[(i-1)%len(rest)])
	}
	return string(b)
}

// minNarrow is the fewest values a per-channel scale or bias vector must hold before it is stored narrower behind
// a Cast: the Cast node and its output name cost about 30 bytes of the file, which 16 values stored 2 bytes
// smaller pay for.
const minNarrow = 16

// Rounding bounds of halfScales: a channel's float16 scale may differ from its float32 one by at most halfSlack
// of it, or, for a channel far smaller than the rest of its tensor, by anything up to halfDead of the tensor's
// largest scale.
const (
	halfSlack = 1.0 / 256  // 2⁻⁸
	halfDead  = 1.0 / 4096 // 2⁻¹²
)

// halfScales decides whether a weight's per-channel scales are stored as float16 (half the bytes; a Cast to
// float32 in front of DequantizeLinear, as opset 13 wants float32 scales, which hone's fold_qdq_cast and ONNX
// Runtime's constant folding turn back into an initializer before their QDQ fusions). On yes it rounds every
// scale in s to the float16 it is stored as and returns those float16 values; the caller quantizes the weights
// with the rounded scales, so DequantizeLinear computes exactly what the int8 values were chosen for. A scale in
// float16's normal range (2⁻¹⁴ up) goes to the nearest float16, within 2⁻¹¹ of it, so a channel's largest weight
// still quantizes to ±127 (at most 127.06 before rounding) and none saturates; one below it rounds up, to a
// multiple of the subnormals' spacing 2⁻²⁴, never to 0. It says no (nil, s unchanged) for fewer than minNarrow
// scales, for a scale that is not finite and positive or exceeds float16's range, and when a channel's scale
// moves by more than halfSlack of itself (0.4 %: only subnormals do), unless its float16 scale is at most
// halfDead of the tensor's largest scale: such a channel's weights are below 1/4096 of the tensor's largest
// weight (PP-OCRv4 det and rec have channels with scales down to 1e-37, all but dead), and the coarser step adds
// at most 2⁻²⁵ to each of its weights' error.
func halfScales(s []float32) *ir.Tensor {
	if len(s) < minNarrow {
		return nil
	}
	var hi float32
	for _, x := range s {
		if !(x > 0) || x > halfMax || math.IsInf(float64(x), 0) {
			return nil
		}
		hi = max(hi, x)
	}
	t := ir.New(ir.Float16, len(s))
	h := t.Bits16()
	for i, x := range s {
		b := ir.FloatToHalf(x)
		if b < 0x0400 && ir.HalfToFloat(b) < x {
			b++ // subnormal (or 0): up; positive float16 bits order as their values
		}
		r := ir.HalfToFloat(b)
		if math.IsInf(float64(r), 0) || (math.Abs(float64(r)-float64(x)) > float64(x)*halfSlack && float64(r) > float64(hi)*halfDead) {
			return nil
		}
		h[i] = b
	}
	for i, b := range h {
		s[i] = ir.HalfToFloat(b)
	}
	return t
}

// narrowInts returns q (int32, a quantized bias) as int8 or int16 when every value fits and q has at least
// minNarrow values, for storing behind a Cast to int32 (folded back as halfScales' Casts are); else nil.
func narrowInts(q *ir.Tensor) *ir.Tensor {
	v := q.I32()
	if len(v) < minNarrow {
		return nil
	}
	var m int32
	for _, x := range v {
		m = max(m, x, -x-1) // |x| without overflow at MinInt32, one smaller for negatives
	}
	switch {
	case m <= math.MaxInt8:
		t := ir.New(ir.Int8, q.Shape...)
		for i, x := range v {
			t.I8()[i] = int8(x)
		}
		return t
	case m <= math.MaxInt16:
		t := ir.New(ir.Int16, q.Shape...)
		for i, x := range v {
			t.I16()[i] = int16(x)
		}
		return t
	}
	return nil
}
