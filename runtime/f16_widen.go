package runtime

import (
	"slices"

	"github.com/hone-ml/hone/ir"
)

// widenHalf rewrites a float16 graph to compute in float32, keeping its float16 inputs and outputs: float16
// initializers and constant attributes become float32 once, at plan time; Casts to float16 and float16 dtype
// attributes become float32; a Cast to float32 follows each float16 graph input and a Cast to float16 precedes
// each float16 graph output. hone's NN kernels compute in float32 anyway, so running a float16 model op by op
// converted every weight and every activation on every call (8–22× slower than the float32 model); widened, the
// model runs the float32 kernels and fusions directly. What changes is rounding only: values between ops are
// no longer rounded to float16, as when ONNX Runtime's CPU provider inserts float32 Casts around its many ops
// without float16 kernels. bfloat16 graphs are widened the same way (a bfloat16 PP-OCRv4 det ran 6.6× slower
// than its float32 model op by op). Graphs with subgraphs (If, Loop, Scan) are left as they are. It reports
// whether it changed g.
func widenHalf(g *ir.Graph, opsets map[string]int64) bool {
	changed := widen16(g, opsets, ir.Float16)
	return widen16(g, opsets, ir.BFloat16) || changed
}

// widen16 is widenHalf for one 16-bit float type dt.
func widen16(g *ir.Graph, opsets map[string]int64, dt ir.DType) bool {
	if !has16(g, dt) {
		return false
	}
	for _, n := range g.Nodes {
		for _, a := range n.Attrs {
			if a.G != nil || len(a.Graphs) > 0 {
				return false
			}
		}
	}
	prod := g.Producers()
	for _, o := range g.Outputs {
		if o.Type.DType == dt && prod[o.Name] == nil {
			return false // an input or initializer passed straight through: nothing to compute
		}
	}
	// A Cast between float16 and float32 inside the graph (a float16 converter puts them around the ops it keeps
	// in float32) becomes a copy once both sides are float32: it turns into Identity, which the optimizer drops.
	// Types come from inference on a copy, as the rewrite below changes them.
	typed := g.Clone()
	if ir.InferGraph(typed, opsets) == nil {
		for _, n := range g.Nodes {
			to := n.AttrInt("to", 0)
			if n.OpType != "Cast" || n.Domain != "" || len(n.Inputs) != 1 || (to != int64(dt) && to != int64(ir.Float32)) {
				continue
			}
			if t, ok := typed.TypeOfValue(n.Inputs[0]); ok && (t.DType == dt || t.DType == ir.Float32) {
				n.OpType, n.Attrs = "Identity", nil
			}
		}
	}
	for _, name := range slices.Clone(g.InitOrder) {
		if t := g.Initializers[name]; t != nil && t.DType == dt {
			g.SetInitializer(name, to32(t))
		}
	}
	for name, t := range g.Initializers { // initializers missing from InitOrder (built by hand)
		if t.DType == dt {
			g.SetInitializer(name, to32(t))
		}
	}
	for _, n := range g.Nodes {
		for _, a := range n.Attrs {
			switch {
			case a.T != nil && a.T.DType == dt:
				a.T = to32(a.T)
			case a.Type == ir.AttrInt && a.I == int64(dt) && ((n.OpType == "Cast" && a.Name == "to") || a.Name == "dtype"):
				a.I = int64(ir.Float32)
			}
		}
	}
	var head, tail []*ir.Node
	for _, in := range g.Inputs {
		if in.Type.DType != dt || g.Initializers[in.Name] != nil {
			continue
		}
		w := g.FreshValueName(in.Name + "_f32")
		for _, n := range g.Nodes {
			for i, v := range n.Inputs {
				if v == in.Name {
					n.Inputs[i] = w
				}
			}
		}
		head = append(head, &ir.Node{OpType: "Cast", Inputs: []string{in.Name}, Outputs: []string{w},
			Attrs: []*ir.Attr{{Name: "to", Type: ir.AttrInt, I: int64(ir.Float32)}}})
	}
	for _, out := range g.Outputs {
		if out.Type.DType != dt {
			continue
		}
		w := g.FreshValueName(out.Name + "_f32")
		for _, n := range g.Nodes {
			for i, v := range n.Outputs {
				if v == out.Name {
					n.Outputs[i] = w
				}
			}
			for i, v := range n.Inputs {
				if v == out.Name {
					n.Inputs[i] = w
				}
			}
		}
		tail = append(tail, &ir.Node{OpType: "Cast", Inputs: []string{w}, Outputs: []string{out.Name},
			Attrs: []*ir.Attr{{Name: "to", Type: ir.AttrInt, I: int64(dt)}}})
	}
	g.Nodes = append(append(head, g.Nodes...), tail...)
	for _, vi := range g.ValueInfo {
		if vi.Type.DType == dt {
			vi.Type.DType = ir.Float32
		}
	}
	return true
}

// has16 reports whether g has a dt initializer, graph input or output, or Cast to dt.
func has16(g *ir.Graph, dt ir.DType) bool {
	for _, t := range g.Initializers {
		if t.DType == dt {
			return true
		}
	}
	for _, v := range append(slices.Clone(g.Inputs), g.Outputs...) {
		if v.Type.DType == dt {
			return true
		}
	}
	for _, n := range g.Nodes {
		if n.OpType == "Cast" && n.AttrInt("to", 0) == int64(dt) {
			return true
		}
	}
	return false
}

// to32 converts a float16 or bfloat16 tensor to float32.
func to32(t *ir.Tensor) *ir.Tensor {
	out := ir.New(ir.Float32, t.Shape...)
	dst := out.F32()
	conv := ir.HalfToFloat
	if t.DType == ir.BFloat16 {
		conv = ir.BFloat16ToFloat
	}
	for i, v := range t.Bits16() {
		dst[i] = conv(v)
	}
	return out
}
