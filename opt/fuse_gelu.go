package opt

import (
	"math"

	"github.com/hone-ml/hone/ir"
)

// fuseGelu rewrites the exact GELU (Hendrycks & Gimpel 2016) as exporters before opset 20 spell it,
// x·0.5·(1 + erf(x/√2)) in five nodes (Div or Mul by 1/√2 → Erf → Add 1 → Mul x → Mul 0.5, the 0.5 applied last or
// to x first), into ONNX Runtime's contrib Gelu, as ORT's GeluFusion does. The runtime then computes the chain in
// cache-sized blocks instead of five passes over the tensor (BERT's feed-forward activations), with PyTorch's
// form's operations in its order: for that form the result is bit-identical, for the others it differs by the
// rounding of 1/√2 or of the order of the two products.
var fuseGelu = Pass{
	Name:    "fuse_gelu",
	Ops:     []string{"Erf"},
	Creates: []OpRef{{ir.DomainMicrosoft, "Gelu"}},
	Match: func(c *Ctx, n *ir.Node) bool {
		_, ok := geluMatch(c, n)
		return ok
	},
	Apply: func(c *Ctx, n *ir.Node) (bool, error) {
		m, ok := geluMatch(c, n)
		if !ok {
			return false, nil
		}
		g := &ir.Node{Name: c.G.FreshNodeName(m.out.Name + "_gelu"), OpType: "Gelu", Domain: ir.DomainMicrosoft,
			Inputs: []string{m.x}, Outputs: []string{m.out.Outputs[0]}}
		c.G.InsertBefore(m.out, g)
		for _, r := range m.nodes {
			c.G.RemoveNode(r)
		}
		return true, nil
	},
}

// geluChain is a matched GELU: its input, its last node and every node it replaces.
type geluChain struct {
	x     string
	out   *ir.Node
	nodes []*ir.Node
}

// geluMatch matches the chain around the Erf node n.
func geluMatch(c *Ctx, n *ir.Node) (geluChain, bool) {
	var m geluChain
	if !n.IsDefaultDomain() || len(n.Inputs) != 1 || len(n.Outputs) != 1 {
		return m, false
	}
	// x/√2 or x·(1/√2), read by the Erf alone.
	scale := c.Producer(n.Inputs[0])
	if scale == nil || !scale.IsDefaultDomain() || len(scale.Inputs) != 2 || c.SoleConsumer(scale.Outputs[0]) != n {
		return m, false
	}
	switch scale.OpType {
	case "Div":
		if t := f32Const(c, scale.Inputs[1]); t == nil || t.Len() != 1 || t.Rank() > 1 || !near(t.F32()[0], math.Sqrt2) {
			return m, false
		}
		m.x = scale.Inputs[0]
	case "Mul":
		x, k := mulScalarOperand(c, scale)
		if x == "" || !near(k, 1/math.Sqrt2) {
			return m, false
		}
		m.x = x
	default:
		return m, false
	}
	if !isFloat32(c, m.x) {
		return m, false
	}
	// erf(·) + 1
	add := c.SoleConsumer(n.Outputs[0])
	if add == nil || add.OpType != "Add" || !add.IsDefaultDomain() || len(add.Inputs) != 2 {
		return m, false
	}
	if e, k := mulScalarOperand(c, add); e != n.Outputs[0] || k != 1 {
		return m, false
	}
	// (x·(erf + 1))·0.5, or (x·0.5)·(erf + 1).
	prod := c.SoleConsumer(add.Outputs[0])
	if prod == nil || prod.OpType != "Mul" || !prod.IsDefaultDomain() || len(prod.Inputs) != 2 || len(prod.Outputs) != 1 {
		return m, false
	}
	other := prod.Inputs[0]
	if other == add.Outputs[0] {
		other = prod.Inputs[1]
	}
	m.nodes = []*ir.Node{scale, n, add, prod}
	switch {
	case other == m.x:
		half := c.SoleConsumer(prod.Outputs[0])
		if half == nil || half.OpType != "Mul" || !half.IsDefaultDomain() || len(half.Inputs) != 2 || len(half.Outputs) != 1 {
			return m, false
		}
		if v, k := mulScalarOperand(c, half); v != prod.Outputs[0] || k != 0.5 {
			return m, false
		}
		m.out, m.nodes = half, append(m.nodes, half)
	default:
		half := c.Producer(other)
		if half == nil || half.OpType != "Mul" || !half.IsDefaultDomain() || len(half.Inputs) != 2 || c.SoleConsumer(other) != prod {
			return m, false
		}
		if v, k := mulScalarOperand(c, half); v != m.x || k != 0.5 {
			return m, false
		}
		m.out, m.nodes = prod, append(m.nodes, half)
	}
	return m, true
}

// mulScalarOperand returns the operand of a binary node n other than its float32 scalar constant (of rank 0 or 1),
// and that constant's value; "" when n has none.
func mulScalarOperand(c *Ctx, n *ir.Node) (string, float32) {
	for i, j := range []int{1, 0} {
		// A constant of rank 2 or more could broadcast the result to a higher rank than the other operand's.
		if t := f32Const(c, n.Inputs[j]); t != nil && t.Len() == 1 && t.Rank() <= 1 {
			return n.Inputs[i], t.F32()[0]
		}
	}
	return "", 0
}

// near reports whether v is within float32 rounding of want.
func near(v float32, want float64) bool { return math.Abs(float64(v)-want) <= 1e-6*math.Abs(want) }
