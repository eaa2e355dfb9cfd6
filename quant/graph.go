package quant

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/hone-ml/hone/ir"
)

// ErrAlreadyQuantized is returned (wrapped) when a model already holds quantization ops: quantizing twice would
// compound the error and ORT's tools refuse it too.
var ErrAlreadyQuantized = errors.New("model is already quantized")

// quantOps are the ops whose presence marks a model as already quantized.
var quantOps = []string{"QuantizeLinear", "DequantizeLinear", "DynamicQuantizeLinear", "MatMulInteger",
	"ConvInteger", "QLinearConv", "QLinearMatMul", "QLinearAdd", "QLinearMul", "QGemm", "DynamicQuantizeMatMul", "MatMulIntegerToFloat"}

// checkInput rejects models that a quantizer must not touch: no graph, already quantized, or an --exclude name
// that matches no node (a typo would otherwise silently quantize the layer the user meant to keep).
func checkInput(m *ir.Model, exclude []string) error {
	if m == nil || m.Graph == nil {
		return errors.New("quant: model has no graph")
	}
	names := map[string]bool{}
	count := map[string]int{}
	var first *ir.Node
	for _, n := range m.Graph.Nodes {
		names[n.Name] = true
		if slices.Contains(quantOps, n.OpType) {
			count[n.OpType]++
			if first == nil {
				first = n
			}
		}
	}
	if first != nil {
		var held []string
		for _, op := range quantOps {
			if count[op] > 0 {
				held = append(held, fmt.Sprintf("%d %s", count[op], op))
			}
		}
		return fmt.Errorf("quant: %w: it holds %s (the first: %s); quantize its float original instead",
			ErrAlreadyQuantized, strings.Join(held, ", "), first)
	}
	for _, e := range exclude {
		if !names[e] {
			return fmt.Errorf("quant: --exclude %q names no node in the model", e)
		}
	}
	return nil
}

// constTensor returns the constant value of name: an initializer, or the value attribute of a Constant node.
func constTensor(g *ir.Graph, prod map[string]*ir.Node, name string) *ir.Tensor {
	if t, ok := g.Initializers[name]; ok {
		return t
	}
	if n := prod[name]; n != nil && n.OpType == "Constant" && n.IsDefaultDomain() {
		if a := n.Attr("value"); a != nil && a.Type == ir.AttrTensor {
			return a.T
		}
	}
	return nil
}

// initBytes sums the storage of every initializer and Constant node value, the part of a model file that
// quantization shrinks (exporters such as paddle2onnx store every weight as a Constant node).
func initBytes(g *ir.Graph) int64 {
	var n int64
	for _, t := range g.Initializers {
		n += int64(t.NumBytes())
	}
	for _, nd := range g.Nodes {
		if nd.OpType != "Constant" || !nd.IsDefaultDomain() {
			continue
		}
		if a := nd.Attr("value"); a != nil && a.T != nil {
			n += int64(a.T.NumBytes())
		}
	}
	return n
}

// namer hands out value and node names unused in a graph. It scans the graph once; ir's Fresh* helpers rescan
// on every call, which is quadratic over a model's worth of inserted nodes.
type namer struct{ values, nodes map[string]bool }

func newNamer(g *ir.Graph) *namer {
	nm := &namer{values: map[string]bool{}, nodes: map[string]bool{}}
	var walk func(g *ir.Graph)
	walk = func(g *ir.Graph) {
		for _, v := range g.Inputs {
			nm.values[v.Name] = true
		}
		for _, v := range g.Outputs {
			nm.values[v.Name] = true
		}
		for k := range g.Initializers {
			nm.values[k] = true
		}
		for k := range g.ValueInfo {
			nm.values[k] = true
		}
		for _, n := range g.Nodes {
			nm.nodes[n.Name] = true
			for _, s := range n.Inputs {
				nm.values[s] = true
			}
			for _, s := range n.Outputs {
				nm.values[s] = true
			}
			for _, a := range n.Attrs {
				if a.G != nil {
					walk(a.G)
				}
				for _, sg := range a.Graphs {
					walk(sg)
				}
			}
		}
	}
	walk(g)
	return nm
}

func freshIn(used map[string]bool, base string) string {
	s := base
	for i := 1; used[s]; i++ {
		s = base + "_" + strconv.Itoa(i)
	}
	used[s] = true
	return s
}

func (nm *namer) value(base string) string { return freshIn(nm.values, base) }
func (nm *namer) node(base string) string  { return freshIn(nm.nodes, base) }

// Report says what a quantization pass changed.
type Report struct {
	Mode       string
	Quantized  []string    // nodes rewritten, in graph order
	KeptFloat  []Kept      // candidate nodes left in floating point, with the reason
	BytesFloat int64       // initializer bytes before
	BytesQuant int64       // initializer bytes after
	Notes      []string    // anything else worth telling the user (values clamped, …)
	Eval       *EvalResult // static mode with evaluation data: the result measured against the float model
	// HeldOut is the result on the evaluation samples the accuracy guard held out (StaticConfig.HoldOut): unlike
	// Eval, which the guard chose its float layers by, an unbiased estimate of the drop on new data.
	HeldOut    *EvalResult
	GuardFloat []string // nodes the accuracy guard kept in float (also in KeptFloat, with their SQNR)
}

// Kept is a node the pass chose not to quantize.
type Kept struct{ Node, Reason string }

// Ratio is the quantized model's initializer bytes over the original's.
func (r *Report) Ratio() float64 {
	if r.BytesFloat == 0 {
		return 1
	}
	return float64(r.BytesQuant) / float64(r.BytesFloat)
}

func (r *Report) keep(n *ir.Node, format string, args ...any) {
	r.KeptFloat = append(r.KeptFloat, Kept{Node: n.String(), Reason: fmt.Sprintf(format, args...)})
}

// sortedKeys lists a map's keys in order, for deterministic output.
func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
