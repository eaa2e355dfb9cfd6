package quant

import (
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/hone-ml/hone/ir"
)

// compact shrinks a quantized graph's file without changing what it computes, as the issue holds an INT8 file to
// 0.26× the float one and on models with many narrow layers (PP-OCRv4 det: 638 nodes over 1.2 MB of int8
// weights) names and duplicated constants are a few percent of the file. It merges identical initializers, drops
// Conv attributes that equal their defaults, and renames every value the graph does not expose (graph inputs and
// outputs, values read inside subgraphs) to a short fresh name, the shortest going to the most-read values. Node
// names stay, so reports, --exclude and profiles still match the float model.
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
	for _, n := range g.Nodes {
		dropDefaultAttrs(n)
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

// convDefaults are Conv attributes whose every element equals the default ONNX gives when the attribute is absent.
var convDefaults = map[string]int64{"dilations": 1, "strides": 1, "pads": 0, "group": 1}

// dropDefaultAttrs removes a default-domain Conv's attributes that restate their defaults.
func dropDefaultAttrs(n *ir.Node) {
	if n.OpType != "Conv" || (n.Domain != "" && n.Domain != "ai.onnx") {
		return
	}
	n.Attrs = slices.DeleteFunc(n.Attrs, func(a *ir.Attr) bool {
		d, ok := convDefaults[a.Name]
		switch {
		case !ok || a.RefAttrName != "":
			return false
		case a.Type == ir.AttrInt:
			return a.I == d
		case a.Type == ir.AttrInts:
			return len(a.Ints) > 0 && !slices.ContainsFunc(a.Ints, func(x int64) bool { return x != d })
		}
		return false
	})
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
