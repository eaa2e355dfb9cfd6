package prune

import (
	"fmt"
	"strings"

	"github.com/hone-ml/hone/ir"
)

// structured runs ln-structured pruning on m in place (m is already the caller's copy). Output channels are
// ranked per space (PyTorch's ln_structured norm; a space tied by residual connections ranks a channel by the
// Ln norm of all its producers' filters together) and removed from every weight that produces or reads them.
// With MaskOnly the shapes stay and exactly the weights removal would delete are zeroed instead: the
// producers' filters and biases (PyTorch's mask, plus the bias) and the consumers' input slices, so a
// channel that BatchNormalization turns into a constant contributes nothing either way and the two models
// compute the same function.
//
// A layer named exactly in cfg.Layers must be pruned as asked, so when it cannot be (its channels reach a graph
// output, an op the analysis does not follow, ...) that is an error; layers picked by op type or pattern are
// left alone with a note instead.
func structured(m *ir.Model, layers []layer, cfg Config, named map[string]bool, rep *Report) error {
	g := m.Graph
	var graphLayers []layer
	for _, l := range layers {
		w := g.Initializers[l.w]
		dim := cfg.Dim
		if dim < 0 {
			dim += w.Rank()
		}
		if dim == l.out {
			graphLayers = append(graphLayers, l)
			continue
		}
		if !cfg.MaskOnly {
			if !named[l.node.Name] {
				rep.note("%s left alone: dim %d is not its output-channel axis (%d)", l.node, cfg.Dim, l.out)
				continue
			}
			return unsupportedf("%s: dim %d is not its output-channel axis (%d); only output channels can be removed physically, use --mask-only", l.node, cfg.Dim, l.out)
		}
		// Any other axis: PyTorch's per-layer mask on the weight alone.
		keep, err := LnStructured(w.F32(), w.Shape, dim, cfg.Norm, cfg.Amount)
		if err != nil {
			return nodeErr(l.node, err)
		}
		g.SetInitializer(l.w, masked(w, keep))
	}
	if len(graphLayers) == 0 {
		return nil
	}
	c := analyse(g, inferTypes(m))
	selected := map[*ir.Node]bool{}
	for _, l := range graphLayers {
		selected[l.node] = true
	}
	ed := newEditor(g)
	seen := map[*space]bool{}
	for _, s := range c.roots {
		r := s.root()
		if seen[r] || r.segs != nil || len(r.producers) == 0 {
			continue
		}
		seen[r] = true
		var mine []string
		explicit := false
		for _, p := range r.producers {
			if selected[p.node] {
				mine = append(mine, p.node.String())
				explicit = explicit || named[p.node.Name]
			}
		}
		if len(mine) == 0 {
			continue
		}
		for _, p := range r.producers {
			if ed.readers[p.w] > 1 && r.fixed == "" {
				r.fixed = fmt.Sprintf("weight %q of %s is shared with other nodes", p.w, p.node)
			}
		}
		if r.fixed != "" {
			if explicit {
				return unsupportedf("%s: its output channels cannot be pruned structurally: %s", r.producers[0].node, r.fixed)
			}
			rep.note("%s left alone: %s", strings.Join(mine, ", "), r.fixed)
			continue
		}
		norms := newNorms(r.size, cfg.Norm)
		live := make([]bool, r.size)
		for _, p := range r.producers {
			w := g.Initializers[p.w]
			sliceNorms(norms, w.F32(), w.Shape, p.out, cfg.Norm)
			for i, ok := range liveChannels(w.F32(), w.Shape, p.out) {
				live[i] = live[i] || ok
			}
		}
		keep, err := keepChannels(norms, live, cfg.Amount)
		if err != nil {
			return nodeErr(r.producers[0].node, err)
		}
		kept := 0
		for _, k := range keep {
			if k {
				kept++
			}
		}
		if kept == 0 && !cfg.MaskOnly {
			return unsupportedf("%s: pruning would remove all %d output channels", r.producers[0].node, r.size)
		}
		if kept == r.size {
			continue
		}
		r.keep = keep
		rep.ChannelsBefore += r.size
		rep.ChannelsAfter += kept
		if len(r.producers) > 1 {
			names := make([]string, len(r.producers))
			for i, p := range r.producers {
				names[i] = p.node.Name
			}
			rep.note("pruned jointly (%d → %d channels), tied by %s: %s", r.size, kept, strings.Join(uniq(r.ties), ", "), strings.Join(names, ", "))
		}
	}
	for _, a := range c.acts {
		keep := keepOf(a.sp)
		if keep == nil {
			continue
		}
		kept := 0
		for _, k := range keep {
			if k {
				kept++
			}
		}
		cut := func(axis, block int) func(*ir.Tensor) *ir.Tensor {
			if cfg.MaskOnly {
				return func(t *ir.Tensor) *ir.Tensor { return zeroSlices(t, axis, keep, block) }
			}
			return func(t *ir.Tensor) *ir.Tensor { return take(t, axis, keep, block) }
		}
		switch a.kind {
		case actProducer:
			ed.edit(a.node, 1, cut(a.l.out, 1))
			if b := a.node.Input(2); b != "" {
				t := g.Initializers[b]
				switch {
				case t.Len() == 1 && len(keep) != 1:
				case t.Rank() == 2:
					ed.edit(a.node, 2, cut(1, 1))
				default:
					ed.edit(a.node, 2, cut(0, 1))
				}
			}
		case actConsumer:
			ed.edit(a.node, 1, cut(a.l.in, a.block))
		case actDepthwise:
			ed.edit(a.node, 1, cut(0, 1))
			if a.node.Input(2) != "" {
				ed.edit(a.node, 2, cut(0, 1))
			}
			if !cfg.MaskOnly {
				a.node.SetAttr(&ir.Attr{Name: "group", Type: ir.AttrInt, I: int64(kept)})
			}
		case actConst:
			if !cfg.MaskOnly {
				ed.edit(a.node, a.input, cut(a.axis, 1))
			}
		}
	}
	if !cfg.MaskOnly {
		// Shapes recorded for the values whose channels went are stale now.
		for name, s := range c.of {
			if keepOf(s) != nil {
				delete(g.ValueInfo, name)
			}
		}
		for name, f := range c.flat {
			if keepOf(f.sp) != nil {
				delete(g.ValueInfo, name)
			}
		}
	}
	g.RemoveUnused()
	return nil
}

func uniq(s []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, v := range s {
		if !seen[v] {
			seen[v] = true
			out = append(out, v)
		}
	}
	return out
}

// inferTypes returns the static types shape inference finds on a copy of m, by value name.
func inferTypes(m *ir.Model) map[string]ir.Type {
	c := m.Clone()
	// The batch size never matters to channel analysis but an unknown one would hide every static shape.
	for _, in := range c.Graph.Inputs {
		if in.Type.HasShape && len(in.Type.Shape) > 0 && !in.Type.Shape[0].Known() {
			in.Type.Shape = append([]ir.Dim{ir.DimOf(1)}, in.Type.Shape[1:]...)
		}
	}
	_ = ir.InferShapes(c) // what cannot be inferred stays unknown and fixes the spaces that need it
	types := map[string]ir.Type{}
	for name, vi := range c.Graph.ValueInfo {
		types[name] = vi.Type
	}
	for _, vs := range [][]*ir.ValueInfo{c.Graph.Inputs, c.Graph.Outputs} {
		for _, v := range vs {
			types[v.Name] = v.Type
		}
	}
	return types
}

// editor replaces node inputs' constants, giving a node its own copy when the constant is shared.
type editor struct {
	g       *ir.Graph
	readers map[string]int
}

func newEditor(g *ir.Graph) *editor {
	e := &editor{g: g, readers: map[string]int{}}
	for _, n := range g.Nodes {
		seen := map[string]bool{}
		for _, in := range n.Inputs {
			if !seen[in] {
				seen[in] = true
				e.readers[in]++
			}
		}
	}
	for _, o := range g.Outputs {
		e.readers[o.Name]++
	}
	return e
}

func (e *editor) edit(n *ir.Node, i int, fn func(*ir.Tensor) *ir.Tensor) {
	name := n.Inputs[i]
	nt := fn(e.g.Initializers[name])
	if e.readers[name] > 1 {
		fresh := e.g.FreshValueName(name + "_pruned")
		e.readers[name]--
		e.readers[fresh] = 1
		e.g.SetInitializer(fresh, nt)
		for j, in := range n.Inputs {
			if in == name {
				n.Inputs[j] = fresh
			}
		}
		return
	}
	e.g.SetInitializer(name, nt)
}

// take keeps the slices along axis whose channel (index / block) is kept. It copies bytes, so any dtype works.
func take(t *ir.Tensor, axis int, keep []bool, block int) *ir.Tensor {
	kept := 0
	for _, k := range keep {
		if k {
			kept++
		}
	}
	shape := append([]int(nil), t.Shape...)
	shape[axis] = kept * block
	out := ir.New(t.DType, shape...)
	inner := t.DType.Size()
	for _, d := range t.Shape[axis+1:] {
		inner *= d
	}
	outer := 1
	for _, d := range t.Shape[:axis] {
		outer *= d
	}
	src, dst := t.Bytes(), out.Bytes()
	n := t.Shape[axis]
	di := 0
	for o := range outer {
		for j := range n {
			if keep[j/block] {
				copy(dst[di:di+inner], src[(o*n+j)*inner:(o*n+j+1)*inner])
				di += inner
			}
		}
	}
	return out
}

// zeroSlices is take's mask-only twin: the dropped slices become zero bytes and the shape stays.
func zeroSlices(t *ir.Tensor, axis int, keep []bool, block int) *ir.Tensor {
	out := t.Clone()
	inner := t.DType.Size()
	for _, d := range t.Shape[axis+1:] {
		inner *= d
	}
	outer := 1
	for _, d := range t.Shape[:axis] {
		outer *= d
	}
	b := out.Bytes()
	n := t.Shape[axis]
	for o := range outer {
		for j := range n {
			if !keep[j/block] {
				clear(b[(o*n+j)*inner : (o*n+j+1)*inner])
			}
		}
	}
	return out
}
