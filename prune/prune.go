// Package prune removes weights from ONNX models: per-layer and global magnitude pruning with PyTorch's
// semantics (torch.nn.utils.prune), Ln-structured channel pruning that physically shrinks the graph, N:M
// semi-structured sparsity, and per-layer sensitivity analysis. Every pass works on a copy: the input model is
// never modified.
package prune

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/hone-ml/hone/ir"
)

// Method names a pruning method, spelled as on the command line.
type Method string

// Pruning methods.
const (
	MethodL1     Method = "l1"            // per-layer unstructured, smallest |w| (l1_unstructured)
	MethodGlobal Method = "global"        // one |w| threshold across layers (global_unstructured)
	MethodLn     Method = "ln-structured" // whole output channels by Ln norm (ln_structured), removed physically
	MethodNM     Method = "nm"            // N:M semi-structured along the input dimension
)

// ErrInvalid is wrapped by errors for bad requests: amounts out of range, unknown layers, shared weights.
var ErrInvalid = errors.New("invalid")

// ErrUnsupported is wrapped when a model cannot be pruned as asked, e.g. structurally at a given place.
var ErrUnsupported = errors.New("unsupported")

func invalidf(format string, args ...any) error {
	return fmt.Errorf("prune: %w: %s", ErrInvalid, fmt.Sprintf(format, args...))
}

func unsupportedf(format string, args ...any) error {
	return fmt.Errorf("prune: %w: %s", ErrUnsupported, fmt.Sprintf(format, args...))
}

// nodeErr names the node in an error from the mask functions: `prune: node "x" (Conv): …`.
func nodeErr(n *ir.Node, err error) error {
	return &layerError{msg: fmt.Sprintf("prune: %s: %s", n, strings.TrimPrefix(err.Error(), "prune: ")), err: err}
}

type layerError struct {
	msg string
	err error
}

func (e *layerError) Error() string { return e.msg }
func (e *layerError) Unwrap() error { return e.err }

// Config says what to prune and how.
type Config struct {
	Method Method
	Amount Amount
	// Layers selects layers by node name, op type (Conv, Gemm, MatMul) or a regular expression matched against
	// the whole node name. Empty selects every Conv, Gemm and MatMul with a constant float32 weight.
	Layers []string
	// Norm is the n of ln-structured (2 for L2, math.Inf(1) for the max norm).
	Norm float64
	// Dim is the weight axis ln-structured ranks slices along (0: output channels). Only output channels can be
	// removed physically; other axes need MaskOnly.
	Dim int
	// MaskOnly keeps every shape and zeroes what structured pruning would remove.
	MaskOnly bool
	// N and M give the N:M pattern: N of every M consecutive weights along the input dimension stay.
	N, M int
	// SparseStorage marks pruned weights for ONNX sparse_initializer storage when that is smaller.
	SparseStorage bool
	// Shapes fixes input shapes (by input name, "" for a one-input model) for the report's FLOPs; symbolic
	// dims not given count as 1.
	Shapes map[string][]int
}

// layer is one prunable node: a Conv, ConvTranspose, Gemm or MatMul whose weight is a float32 constant.
type layer struct {
	node *ir.Node
	w    string // initializer name of the weight
	// out and in are the weight axes of output channels and of the reduction (input) dimension.
	out, in int
}

// layerOf describes n as a prunable layer, or returns ok false with the reason it is not one.
func layerOf(g *ir.Graph, n *ir.Node) (layer, string) {
	switch n.OpType {
	case "Conv", "ConvTranspose", "Gemm", "MatMul":
	default:
		return layer{}, "is not a Conv, ConvTranspose, Gemm or MatMul"
	}
	if !n.IsDefaultDomain() {
		return layer{}, "is not in the default ONNX domain"
	}
	w := n.Input(1)
	t, ok := g.Initializers[w]
	if !ok {
		return layer{}, "has no constant weight"
	}
	if t.DType != ir.Float32 {
		return layer{}, fmt.Sprintf("has a %s weight (only float32 is pruned)", t.DType)
	}
	l := layer{node: n, w: w, out: 0, in: 1}
	switch n.OpType {
	case "Conv":
		if t.Rank() < 3 {
			return layer{}, fmt.Sprintf("has a weight of rank %d", t.Rank())
		}
	case "ConvTranspose":
		if t.Rank() < 3 {
			return layer{}, fmt.Sprintf("has a weight of rank %d", t.Rank())
		}
		l.out, l.in = 1, 0
	case "Gemm":
		if t.Rank() != 2 {
			return layer{}, fmt.Sprintf("has a weight of rank %d", t.Rank())
		}
		if n.AttrInt("transB", 0) == 0 {
			l.out, l.in = 1, 0
		}
	case "MatMul":
		if t.Rank() != 2 {
			return layer{}, fmt.Sprintf("has a weight of rank %d (only 2-D MatMul weights are pruned)", t.Rank())
		}
		l.out, l.in = 1, 0
	}
	return l, ""
}

// selectLayers resolves cfg.Layers. Every selector must match at least one prunable layer, and every matched
// layer's weight must be read by that node alone (pruning a shared weight would silently change other nodes).
func selectLayers(g *ir.Graph, selectors []string) ([]layer, error) {
	var all []layer
	why := map[*ir.Node]string{}
	for _, n := range g.Nodes {
		l, reason := layerOf(g, n)
		if reason != "" {
			why[n] = reason
			continue
		}
		all = append(all, l)
	}
	var picked []layer
	if len(selectors) == 0 {
		picked = all
	} else {
		chosen := map[*ir.Node]bool{}
		for _, s := range selectors {
			re, reErr := regexp.Compile("^(?:" + s + ")$")
			found := false
			for _, n := range g.Nodes {
				if n.Name != s && n.OpType != s && (reErr != nil || !re.MatchString(n.Name)) {
					continue
				}
				if reason, bad := why[n]; bad {
					if n.Name == s {
						return nil, invalidf("layer %q: %s %s", s, n, reason)
					}
					continue
				}
				found = true
				chosen[n] = true
			}
			if !found {
				return nil, invalidf("layer %q matches no Conv, ConvTranspose, Gemm or MatMul with a constant float32 weight", s)
			}
		}
		for _, l := range all {
			if chosen[l.node] {
				picked = append(picked, l)
			}
		}
	}
	readers := map[string]int{}
	for _, n := range g.Nodes {
		for _, in := range slices.Compact(slices.Sorted(slices.Values(n.Inputs))) {
			readers[in]++
		}
		for _, a := range n.Attrs {
			for _, sg := range append([]*ir.Graph{a.G}, a.Graphs...) {
				if sg != nil {
					for _, name := range sg.FreeNames() {
						readers[name]++
					}
				}
			}
		}
	}
	for _, o := range g.Outputs {
		readers[o.Name]++
	}
	for _, l := range picked {
		if readers[l.w] > 1 {
			return nil, invalidf("%s: weight %q is shared with other nodes; pruning it would change them too", l.node, l.w)
		}
	}
	return picked, nil
}

// hoistConstants turns Constant nodes holding a tensor into initializers, so weights exported as Constant nodes
// (paddle2onnx's PP-OCR models) can be pruned like any other.
func hoistConstants(g *ir.Graph) {
	kept := g.Nodes[:0]
	for _, n := range g.Nodes {
		if n.OpType == "Constant" && n.IsDefaultDomain() && len(n.Attrs) == 1 &&
			n.Attrs[0].Name == "value" && n.Attrs[0].T != nil && len(n.Outputs) == 1 && n.Outputs[0] != "" &&
			!g.IsGraphOutput(n.Outputs[0]) {
			g.SetInitializer(n.Outputs[0], n.Attrs[0].T)
			continue
		}
		kept = append(kept, n)
	}
	g.Nodes = kept
}

// Prune returns a pruned copy of m and a report of what changed. m is left as it was.
func Prune(m *ir.Model, cfg Config) (*ir.Model, *Report, error) {
	if m == nil || m.Graph == nil {
		return nil, nil, invalidf("no model")
	}
	if err := cfg.Amount.Validate(); err != nil && cfg.Method != MethodNM {
		return nil, nil, err
	}
	if err := checkShapes(m, cfg.Shapes); err != nil {
		return nil, nil, err
	}
	out := m.Clone()
	g := out.Graph
	hoistConstants(g)
	layers, err := selectLayers(g, cfg.Layers)
	if err != nil {
		return nil, nil, err
	}
	rep := newReport(m, layers, cfg.Shapes)
	switch cfg.Method {
	case MethodL1:
		for _, l := range layers {
			w := g.Initializers[l.w]
			keep, err := L1Unstructured(w.F32(), cfg.Amount)
			if err != nil {
				return nil, nil, nodeErr(l.node, err)
			}
			g.SetInitializer(l.w, masked(w, keep))
		}
	case MethodGlobal:
		ws := make([][]float32, len(layers))
		for i, l := range layers {
			ws[i] = g.Initializers[l.w].F32()
		}
		masks, err := GlobalUnstructured(ws, cfg.Amount)
		if err != nil {
			return nil, nil, err
		}
		for i, l := range layers {
			g.SetInitializer(l.w, masked(g.Initializers[l.w], masks[i]))
		}
	case MethodNM:
		for _, l := range layers {
			w := g.Initializers[l.w]
			keep, err := NMSparse(w.F32(), w.Shape, l.in, cfg.N, cfg.M)
			if err != nil {
				return nil, nil, nodeErr(l.node, err)
			}
			g.SetInitializer(l.w, masked(w, keep))
		}
	case MethodLn:
		if err := checkNorm(cfg.Norm); err != nil {
			return nil, nil, err
		}
		named := map[string]bool{}
		for _, s := range cfg.Layers {
			named[s] = true
		}
		if err := structured(out, layers, cfg, named, rep); err != nil {
			return nil, nil, err
		}
	default:
		return nil, nil, invalidf("unknown method %q (want l1, global, ln-structured or nm)", cfg.Method)
	}
	if cfg.SparseStorage {
		markSparse(g, layers)
	}
	rep.finish(out, cfg.Shapes)
	return out, rep, nil
}

// masked returns a copy of w with the pruned entries zeroed. Tensors may be shared with the input model, so
// they are never changed in place.
func masked(w *ir.Tensor, keep []bool) *ir.Tensor {
	c := w.Clone()
	f := c.F32()
	for i, k := range keep {
		if !k {
			f[i] = 0
		}
	}
	return c
}

// markSparse stores a pruned weight as a sparse_initializer when that is smaller than dense. The onnx encoder
// writes a new sparse tensor with linear int64 indices (the only index type the ONNX checker accepts), so a
// float32 nonzero costs 12 bytes against 4 per dense element: sparse storage pays above 2/3 sparsity.
func markSparse(g *ir.Graph, layers []layer) {
	for _, l := range layers {
		w := g.Initializers[l.w]
		if w == nil {
			continue
		}
		nnz := 0
		for _, v := range w.F32() {
			if v != 0 {
				nnz++
			}
		}
		if 12*nnz < 4*w.Len() {
			g.SparseInitializers[l.w] = true
		}
	}
}
