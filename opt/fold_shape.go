package opt

import (
	"github.com/hone-ml/hone/ir"
)

// maxFoldElems bounds the constant inputs foldShape evaluates: shape arithmetic is small, and folding large
// constant subgraphs (weight transposes, dequantisation) is the runtime's job at plan time, not the model's.
const maxFoldElems = 4096

// foldShape replaces Shape and Size of values whose static shape is known (from ir.InferShapes) with
// constants, then folds nodes whose inputs are all small constants with the runtime's evaluator. Together they
// collapse Shape→Gather→Concat→Reshape chains to a constant shape.
var foldShape = Pass{
	Name: "fold_shape",
	Match: func(c *Ctx, n *ir.Node) bool {
		if len(n.Outputs) == 0 || hasSubgraph(n) {
			return false
		}
		switch n.OpType {
		case "Shape", "Size":
			_, ok := staticShape(c, n.Input(0))
			return ok
		}
		if c.Eval == nil || !deterministic(n) || len(n.Inputs) == 0 {
			return false
		}
		for _, in := range n.Inputs {
			if in == "" {
				continue
			}
			t := c.Const(in)
			if t == nil || t.Len() > maxFoldElems {
				return false
			}
		}
		return true
	},
	Apply: func(c *Ctx, n *ir.Node) (bool, error) {
		var outs []*ir.Tensor
		switch n.OpType {
		case "Shape":
			s, _ := staticShape(c, n.Input(0))
			start, end := shapeRange(n, len(s))
			outs = []*ir.Tensor{ir.FromInt64([]int{end - start}, append([]int64{}, s[start:end]...))}
		case "Size":
			s, _ := staticShape(c, n.Input(0))
			size := int64(1)
			for _, d := range s {
				size *= d
			}
			outs = []*ir.Tensor{ir.FromInt64(nil, []int64{size})}
		default:
			in := make([]*ir.Tensor, len(n.Inputs))
			for i, name := range n.Inputs {
				in[i] = c.Const(name)
			}
			var err error
			outs, err = c.Eval(n, in)
			if err != nil || len(outs) < len(n.Outputs) {
				// Not ours to report: the same node fails at run time with the runtime's own message.
				return false, nil
			}
		}
		for i, o := range n.Outputs {
			if o != "" && outs[i] == nil {
				return false, nil
			}
		}
		c.G.RemoveNode(n)
		for i, o := range n.Outputs {
			if o != "" {
				c.G.SetInitializer(o, outs[i])
				delete(c.G.ValueInfo, o)
			}
		}
		return true, nil
	},
}

// staticShape returns a value's inferred shape when every dimension is known.
func staticShape(c *Ctx, name string) ([]int64, bool) {
	if name == "" {
		return nil, false
	}
	t, ok := c.G.TypeOfValue(name)
	if !ok {
		return nil, false
	}
	s, ok := t.Static()
	if !ok {
		return nil, false
	}
	out := make([]int64, len(s))
	for i, d := range s {
		out[i] = int64(d)
	}
	return out, true
}

// shapeRange applies Shape-15's start/end attributes (negative counts from the back, both clamped).
func shapeRange(n *ir.Node, rank int) (int, int) {
	clamp := func(v int64) int {
		if v < 0 {
			v += int64(rank)
		}
		return int(min(max(v, 0), int64(rank)))
	}
	start := clamp(n.AttrInt("start", 0))
	end := clamp(n.AttrInt("end", int64(rank)))
	if end < start {
		end = start
	}
	return start, end
}

// deterministic excludes ops whose result must not be computed ahead of time.
func deterministic(n *ir.Node) bool {
	switch n.OpType {
	case "RandomNormal", "RandomUniform", "RandomNormalLike", "RandomUniformLike", "Multinomial", "Bernoulli", "Constant":
		return false
	}
	return n.IsDefaultDomain()
}

func hasSubgraph(n *ir.Node) bool {
	for _, a := range n.Attrs {
		if a.G != nil || len(a.Graphs) > 0 {
			return true
		}
	}
	return false
}
