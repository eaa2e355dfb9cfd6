package opt

import (
	"github.com/hone-ml/hone/ir"
)

// fuseLayerNorm rewrites layer normalization spelt out in elementary ops, as exporters before opset 17 write it
// (paddle2onnx for PP-OCRv4 rec's SVTR neck, torch.onnx for BERT at opset ≤ 16):
//
//	μ = ReduceMean(x, axes=[-1]); d = Sub(x, μ); v = ReduceMean(Pow(d, 2), axes=[-1])
//	y = Div(d, Sqrt(Add(v, ε))) [· γ] [+ β]
//
// into one LayerNormalization(x, γ, β, axis=-1, epsilon=ε), which reads the row once for its statistics and once
// to normalise it instead of nine passes with two reductions. γ and β must be constants over the last axis (a
// missing γ becomes ones when the last axis is known); Mul(d, d) is accepted for the square.
var fuseLayerNorm = Pass{
	Name:    "fuse_layernorm",
	Ops:     []string{"Div"},
	Creates: []OpRef{{"", "LayerNormalization"}},
	Match: func(c *Ctx, n *ir.Node) bool {
		_, ok := layerNormMatch(c, n)
		return ok
	},
	Apply: func(c *Ctx, n *ir.Node) (bool, error) {
		m, _ := layerNormMatch(c, n)
		scale := m.gamma
		if scale == "" {
			ones := ir.New(ir.Float32, m.width)
			for i := range ones.F32() {
				ones.F32()[i] = 1
			}
			scale = c.AddConst(n.Name+"_ln_scale", ones)
		}
		inputs := []string{m.x, scale}
		if m.beta != "" {
			inputs = append(inputs, m.beta)
		}
		last := m.nodes[len(m.nodes)-1]
		ln := &ir.Node{Name: c.G.FreshNodeName(n.Name + "_layernorm"), OpType: "LayerNormalization", Inputs: inputs,
			Outputs: []string{last.Outputs[0]}, Attrs: []*ir.Attr{
				{Name: "axis", Type: ir.AttrInt, I: -1},
				{Name: "epsilon", Type: ir.AttrFloat, F: m.eps},
			}}
		c.G.InsertBefore(last, ln)
		for _, r := range m.nodes {
			c.G.RemoveNode(r)
		}
		return true, nil
	},
}

// layerNormParts is what layerNormMatch found: the input, the constants, the last axis' size (0 when unknown)
// and every node the fusion replaces, the one whose output it takes over last.
type layerNormParts struct {
	x, gamma, beta string
	eps            float32
	width          int
	nodes          []*ir.Node
}

func layerNormMatch(c *Ctx, div *ir.Node) (layerNormParts, bool) {
	var m layerNormParts
	if !div.IsDefaultDomain() || len(div.Inputs) != 2 || len(div.Outputs) != 1 {
		return m, false
	}
	d := div.Inputs[0]
	sqrt := c.Producer(div.Inputs[1])
	if sqrt == nil || sqrt.OpType != "Sqrt" || !sqrt.IsDefaultDomain() || c.SoleConsumer(sqrt.Outputs[0]) != div {
		return m, false
	}
	add := c.Producer(sqrt.Inputs[0])
	if add == nil || add.OpType != "Add" || !add.IsDefaultDomain() || len(add.Inputs) != 2 || c.SoleConsumer(add.Outputs[0]) != sqrt {
		return m, false
	}
	var varMean *ir.Node
	for i, in := range add.Inputs {
		if eps, ok := scalarConst(c, in, 0); ok && c.Const(in) != nil {
			m.eps = eps
			varMean = c.Producer(add.Inputs[1-i])
			break
		}
	}
	if varMean == nil || !lastAxisMean(c, varMean) || c.SoleConsumer(varMean.Outputs[0]) != add {
		return m, false
	}
	sq := c.Producer(varMean.Inputs[0])
	if sq == nil || !sq.IsDefaultDomain() || len(sq.Inputs) != 2 || c.SoleConsumer(sq.Outputs[0]) != varMean {
		return m, false
	}
	switch sq.OpType {
	case "Pow":
		if e, ok := scalarConst(c, sq.Inputs[1], 0); !ok || e != 2 || c.Const(sq.Inputs[1]) == nil || sq.Inputs[0] != d {
			return m, false
		}
	case "Mul":
		if sq.Inputs[0] != d || sq.Inputs[1] != d {
			return m, false
		}
	default:
		return m, false
	}
	sub := c.Producer(d)
	if sub == nil || sub.OpType != "Sub" || !sub.IsDefaultDomain() || len(sub.Inputs) != 2 || c.IsOutput(d) {
		return m, false
	}
	for _, r := range c.Consumers(d) {
		if r != sq && r != div {
			return m, false
		}
	}
	mean := c.Producer(sub.Inputs[1])
	m.x = sub.Inputs[0]
	if mean == nil || !lastAxisMean(c, mean) || mean.Inputs[0] != m.x || c.SoleConsumer(mean.Outputs[0]) != sub {
		return m, false
	}
	if !isFloat32(c, m.x) {
		return m, false
	}
	m.nodes = []*ir.Node{mean, sub, sq, varMean, add, sqrt, div}
	if t, ok := c.G.TypeOfValue(m.x); ok && len(t.Shape) > 0 {
		if last := t.Shape[len(t.Shape)-1]; last.Known() {
			m.width = int(last.Size)
		}
	}
	// An affine tail: Mul by a constant γ, then Add of a constant β, each over the last axis.
	out := div.Outputs[0]
	if mul := c.SoleConsumer(out); mul != nil && mul.OpType == "Mul" && mul.IsDefaultDomain() && len(mul.Inputs) == 2 {
		if g := otherInput(mul, out); lastAxisConst(c, g, &m.width) {
			m.gamma, out = g, mul.Outputs[0]
			m.nodes = append(m.nodes, mul)
			if add := c.SoleConsumer(out); add != nil && add.OpType == "Add" && add.IsDefaultDomain() && len(add.Inputs) == 2 {
				if b := otherInput(add, out); lastAxisConst(c, b, &m.width) {
					m.beta = b
					m.nodes = append(m.nodes, add)
				}
			}
		}
	}
	return m, m.gamma != "" || m.width > 0
}

// lastAxisMean reports whether n is a ReduceMean over the last axis alone, keeping dimensions.
func lastAxisMean(c *Ctx, n *ir.Node) bool {
	if n.OpType != "ReduceMean" || !n.IsDefaultDomain() || len(n.Outputs) != 1 || n.AttrInt("keepdims", 1) != 1 {
		return false
	}
	axes := n.AttrInts("axes", nil)
	if len(n.Inputs) > 1 && n.Inputs[1] != "" { // opset 18: axes as an input
		t := c.Const(n.Inputs[1])
		if t == nil || axes != nil {
			return false
		}
		axes, _ = t.Int64s()
	}
	if len(axes) != 1 {
		return false
	}
	if axes[0] == -1 {
		return true
	}
	t, ok := c.G.TypeOfValue(n.Inputs[0])
	return ok && len(t.Shape) > 0 && axes[0] == int64(len(t.Shape)-1)
}

// lastAxisConst reports whether name is a float32 constant of one value per element of the last axis (shape [w]
// or [1, …, 1, w]), recording w in width when it was unknown and checking it otherwise.
func lastAxisConst(c *Ctx, name string, width *int) bool {
	t := f32Const(c, name)
	if t == nil || t.Rank() == 0 {
		return false
	}
	for _, d := range t.Shape[:t.Rank()-1] {
		if d != 1 {
			return false
		}
	}
	w := t.Shape[t.Rank()-1]
	if *width != 0 && *width != w {
		return false
	}
	*width = w
	return true
}
