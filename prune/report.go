package prune

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/hone-ml/hone/ir"
)

// LayerStats describes one prunable layer's weight.
type LayerStats struct {
	Node, Op, Weight string
	Shape            []int
	Params, Nonzero  int
	// FLOPs counts the layer's multiply-adds as 2 each at the inferred shapes (batch 1 where symbolic);
	// NonzeroFLOPs counts only those with a nonzero weight, the work a sparse kernel could do. Both are 0 when
	// the output shape is unknown.
	FLOPs, NonzeroFLOPs int64
}

// Sparsity is the fraction of the layer's weights that are zero.
func (l LayerStats) Sparsity() float64 {
	if l.Params == 0 {
		return 0
	}
	return 1 - float64(l.Nonzero)/float64(l.Params)
}

// Stats summarises a model: its Conv/ConvTranspose/Gemm/MatMul layers and all its initializers.
type Stats struct {
	Layers []LayerStats
	// Params and Bytes count every initializer element and byte; Nonzero the float initializer elements
	// that are nonzero plus every non-float element.
	Params, Nonzero, Bytes int64
	// LayerParams and LayerNonzero cover the prunable layers' weights only.
	LayerParams, LayerNonzero int64
	FLOPs, NonzeroFLOPs       int64
}

// Report is what a pruning pass changed.
type Report struct {
	Method         Method
	Before, After  Stats
	Selected       []string // the layers the request selected, by node
	ChannelsBefore int      // structured: output channels of the pruned spaces before
	ChannelsAfter  int
	Notes          []string
}

func (r *Report) note(format string, args ...any) {
	r.Notes = append(r.Notes, fmt.Sprintf(format, args...))
}

func newReport(m *ir.Model, layers []layer, shapes map[string][]int) *Report {
	r := &Report{Before: MeasureShapes(m, shapes)}
	for _, l := range layers {
		r.Selected = append(r.Selected, l.node.String())
	}
	return r
}

func (r *Report) finish(m *ir.Model, shapes map[string][]int) { r.After = MeasureShapes(m, shapes) }

// Measure counts parameters, bytes and FLOPs of m. Symbolic input dims count as 1, so the FLOPs of a model
// with a dynamic batch are per sample; a model whose spatial size is dynamic reports 0 FLOPs for the layers
// whose output shape stays unknown.
func Measure(m *ir.Model) Stats {
	return MeasureShapes(m, nil)
}

// checkShapes rejects shapes for inputs the model does not have, and an unnamed shape for a model with
// several inputs, which MeasureShapes would otherwise ignore without a word.
func checkShapes(m *ir.Model, shapes map[string][]int) error {
	ins := m.Graph.RealInputs()
	for name := range shapes {
		if name == "" {
			if len(ins) != 1 {
				return invalidf("an unnamed input shape needs a model with one input (this one has %d); use NAME=D0,D1,…", len(ins))
			}
			continue
		}
		if !slices.ContainsFunc(ins, func(vi *ir.ValueInfo) bool { return vi.Name == name }) {
			return invalidf("input shape for %q: the model has no such input", name)
		}
	}
	return nil
}

// MeasureShapes is Measure with concrete input shapes for FLOP counting, by input name; the name "" stands
// for the only input of a one-input model (bench.ParseShapes writes an unnamed shape so).
func MeasureShapes(m *ir.Model, shapes map[string][]int) Stats {
	c := m.Clone()
	g := c.Graph
	hoistConstants(g)
	only := len(g.RealInputs()) == 1
	for _, in := range g.Inputs {
		if _, ok := g.Initializers[in.Name]; ok {
			continue
		}
		s, ok := shapes[in.Name]
		if !ok && only {
			s, ok = shapes[""]
		}
		if ok {
			in.Type.Shape = make([]ir.Dim, len(s))
			for i, d := range s {
				in.Type.Shape[i] = ir.DimOf(int64(d))
			}
			in.Type.HasShape = true
			continue
		}
		if !in.Type.HasShape {
			continue
		}
		// Clone shares the Dim slices with m, which must not change.
		in.Type.Shape = append([]ir.Dim(nil), in.Type.Shape...)
		for i, d := range in.Type.Shape {
			if !d.Known() {
				in.Type.Shape[i] = ir.DimOf(1)
			}
		}
	}
	// Unknown ops only leave shapes unknown; a contradiction leaves them unknown too, which is what we report.
	_ = ir.InferShapes(c)
	var st Stats
	for _, name := range g.InitOrder {
		t := g.Initializers[name]
		if t == nil {
			continue
		}
		st.Params += int64(t.Len())
		st.Bytes += int64(t.NumBytes())
		st.Nonzero += int64(nonzero(t))
	}
	for _, n := range g.Nodes {
		l, why := layerOf(g, n)
		if why != "" {
			continue
		}
		w := g.Initializers[l.w]
		ls := LayerStats{Node: n.Name, Op: n.OpType, Weight: l.w, Shape: append([]int(nil), w.Shape...),
			Params: w.Len(), Nonzero: nonzero(w)}
		if reps := uses(g, n); reps > 0 {
			ls.FLOPs = 2 * int64(ls.Params) * reps
			ls.NonzeroFLOPs = 2 * int64(ls.Nonzero) * reps
		}
		st.Layers = append(st.Layers, ls)
		st.LayerParams += int64(ls.Params)
		st.LayerNonzero += int64(ls.Nonzero)
		st.FLOPs += ls.FLOPs
		st.NonzeroFLOPs += ls.NonzeroFLOPs
	}
	return st
}

// uses is how many times each weight of layer n takes part in a multiply-add: per output position for Conv,
// per input position for ConvTranspose, per row of A for Gemm and MatMul. 0 when the shape is unknown.
func uses(g *ir.Graph, n *ir.Node) int64 {
	static := func(name string) []int {
		t, ok := g.TypeOfValue(name)
		if !ok {
			return nil
		}
		s, _ := t.Static()
		return s
	}
	prod := func(s []int) int64 {
		p := int64(1)
		for _, d := range s {
			p *= int64(d)
		}
		return p
	}
	switch n.OpType {
	case "Conv":
		if s := static(n.Outputs[0]); len(s) >= 3 {
			return int64(s[0]) * prod(s[2:])
		}
	case "ConvTranspose":
		if s := static(n.Input(0)); len(s) >= 3 {
			return int64(s[0]) * prod(s[2:])
		}
	case "Gemm":
		if s := static(n.Input(0)); len(s) == 2 {
			if n.AttrInt("transA", 0) != 0 {
				return int64(s[1])
			}
			return int64(s[0])
		}
	case "MatMul":
		if s := static(n.Input(0)); len(s) >= 1 {
			return prod(s[:len(s)-1])
		}
	}
	return 0
}

func nonzero(t *ir.Tensor) int {
	switch t.DType {
	case ir.Float32:
		k := 0
		for _, v := range t.F32() {
			if v != 0 {
				k++
			}
		}
		return k
	case ir.Float64:
		k := 0
		for _, v := range t.F64() {
			if v != 0 {
				k++
			}
		}
		return k
	}
	return t.Len()
}

// Write prints the report: per-layer shape and sparsity before and after, then the totals.
func (r *Report) Write(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "layer\top\tshape before\tshape after\tparams before\tparams after\tsparsity\tMFLOPs before\tMFLOPs after\t")
	after := map[string]LayerStats{}
	for _, l := range r.After.Layers {
		after[l.Weight+"|"+l.Node] = l
	}
	for _, b := range r.Before.Layers {
		a, ok := after[b.Weight+"|"+b.Node]
		if !ok {
			continue
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%d\t%.1f%%\t%.2f\t%.2f\t\n", b.Node, b.Op, dims(b.Shape), dims(a.Shape),
			b.Params, a.Params, 100*a.Sparsity(), mega(b.FLOPs), mega(a.NonzeroFLOPs))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	sp := func(s Stats) float64 {
		if s.LayerParams == 0 {
			return 0
		}
		return 100 * (1 - float64(s.LayerNonzero)/float64(s.LayerParams))
	}
	fmt.Fprintf(w, "\nlayer weights: %d → %d (%d nonzero), sparsity %.1f%% → %.1f%%\n", r.Before.LayerParams,
		r.After.LayerParams, r.After.LayerNonzero, sp(r.Before), sp(r.After))
	fmt.Fprintf(w, "parameters:    %d → %d (%d nonzero)\n", r.Before.Params, r.After.Params, r.After.Nonzero)
	fmt.Fprintf(w, "bytes:         %d → %d (%s)\n", r.Before.Bytes, r.After.Bytes, ratio(r.Before.Bytes, r.After.Bytes))
	fmt.Fprintf(w, "FLOPs (dense): %.2f M → %.2f M (%s)\n", mega(r.Before.FLOPs), mega(r.After.FLOPs), ratio(r.Before.FLOPs, r.After.FLOPs))
	fmt.Fprintf(w, "FLOPs (nonzero weights): %.2f M → %.2f M (%s)\n", mega(r.Before.NonzeroFLOPs), mega(r.After.NonzeroFLOPs),
		ratio(r.Before.NonzeroFLOPs, r.After.NonzeroFLOPs))
	if r.ChannelsBefore > 0 {
		fmt.Fprintf(w, "channels:      %d → %d in the pruned layers\n", r.ChannelsBefore, r.ChannelsAfter)
	}
	for _, n := range r.Notes {
		fmt.Fprintln(w, "note:", n)
	}
	return nil
}

func dims(s []int) string {
	p := make([]string, len(s))
	for i, d := range s {
		p[i] = fmt.Sprint(d)
	}
	return strings.Join(p, "×")
}

func mega(v int64) float64 { return float64(v) / 1e6 }

func ratio(before, after int64) string {
	if before == 0 {
		return "n/a"
	}
	return fmt.Sprintf("%+.1f%%", 100*(float64(after)/float64(before)-1))
}
