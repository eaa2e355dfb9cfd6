package opt

import "github.com/hone-ml/hone/ir"

// fuseGeluTanh rewrites GELU's tanh approximation as PyTorch exports gelu(approximate="tanh") and GPT-2's "new
// GELU" in nine nodes — x·x → ·x → ·c1 → x + · → ·c2 → Tanh → + 1 → x·· → ·0.5, each product's operands in either
// order — into hone's GeluTanh, which computes those operations in that order in cache-sized blocks instead of
// nine passes over the tensor: bit-identical (products and sums are commutative; Tanh is the same kernel). On
// GPT-tiny with int8 MatMuls the chain's Muls, Tanh and Adds were about 18 % of the time.
var fuseGeluTanh = Pass{
	Name:    "fuse_gelu_tanh",
	Ops:     []string{"Tanh"},
	Creates: []OpRef{{ir.DomainHone, ir.OpGeluTanh}},
	Match: func(c *Ctx, n *ir.Node) bool {
		_, ok := geluTanhMatch(c, n)
		return ok
	},
	Apply: func(c *Ctx, n *ir.Node) (bool, error) {
		m, ok := geluTanhMatch(c, n)
		if !ok {
			return false, nil
		}
		g := &ir.Node{Name: c.G.FreshNodeName(m.out.Name + "_gelu"), OpType: ir.OpGeluTanh, Domain: ir.DomainHone,
			Inputs: []string{m.x}, Outputs: []string{m.out.Outputs[0]},
			Attrs: []*ir.Attr{{Name: "coefficients", Type: ir.AttrFloats, Floats: []float32{m.c1, m.c2}}}}
		c.G.InsertBefore(m.out, g)
		for _, r := range m.nodes {
			c.G.RemoveNode(r)
		}
		return true, nil
	},
}

// geluTanhChain is a matched tanh GELU: its input, coefficients, last node and the nodes it replaces.
type geluTanhChain struct {
	x      string
	c1, c2 float32
	out    *ir.Node
	nodes  []*ir.Node
}

// geluTanhMatch matches the chain around the Tanh node n.
func geluTanhMatch(c *Ctx, n *ir.Node) (geluTanhChain, bool) {
	var m geluTanhChain
	if !n.IsDefaultDomain() || len(n.Inputs) != 1 || len(n.Outputs) != 1 {
		return m, false
	}
	// binary returns the node producing v when it is op in the default domain, two inputs, read only by next.
	binary := func(v, op string, next *ir.Node) *ir.Node {
		p := c.Producer(v)
		if p == nil || p.OpType != op || !p.IsDefaultDomain() || len(p.Inputs) != 2 || len(p.Outputs) != 1 ||
			c.SoleConsumer(v) != next || c.G.IsGraphOutput(v) {
			return nil
		}
		return p
	}
	// Before the Tanh: c2·(x + c1·(x·(x·x))).
	mulC2 := binary(n.Inputs[0], "Mul", n)
	if mulC2 == nil {
		return m, false
	}
	sum, c2 := mulScalarOperand(c, mulC2)
	add := binary(sum, "Add", mulC2)
	if add == nil {
		return m, false
	}
	var cubeC1 *ir.Node
	for i := range 2 {
		if p := binary(add.Inputs[1-i], "Mul", add); p != nil {
			if _, k := mulScalarOperand(c, p); k != 0 {
				m.x, cubeC1 = add.Inputs[i], p
				break
			}
		}
	}
	if cubeC1 == nil || !isFloat32(c, m.x) {
		return m, false
	}
	cube, c1 := mulScalarOperand(c, cubeC1)
	mulX := binary(cube, "Mul", cubeC1)
	if mulX == nil || mulX.Inputs[0] != m.x && mulX.Inputs[1] != m.x {
		return m, false
	}
	square := binary(otherInput(mulX, m.x), "Mul", mulX)
	if square == nil || square.Inputs[0] != m.x || square.Inputs[1] != m.x {
		return m, false
	}
	// After it: (x·(tanh + 1))·0.5.
	one := c.SoleConsumer(n.Outputs[0])
	if one == nil || one.OpType != "Add" || !one.IsDefaultDomain() || len(one.Inputs) != 2 || len(one.Outputs) != 1 {
		return m, false
	}
	if t, k := mulScalarOperand(c, one); t != n.Outputs[0] || k != 1 || c.G.IsGraphOutput(n.Outputs[0]) {
		return m, false
	}
	times := c.SoleConsumer(one.Outputs[0])
	if times == nil || times.OpType != "Mul" || !times.IsDefaultDomain() || len(times.Inputs) != 2 || len(times.Outputs) != 1 ||
		otherInput(times, one.Outputs[0]) != m.x || c.G.IsGraphOutput(one.Outputs[0]) {
		return m, false
	}
	half := c.SoleConsumer(times.Outputs[0])
	if half == nil || half.OpType != "Mul" || !half.IsDefaultDomain() || len(half.Inputs) != 2 || len(half.Outputs) != 1 ||
		c.G.IsGraphOutput(times.Outputs[0]) {
		return m, false
	}
	if v, k := mulScalarOperand(c, half); v != times.Outputs[0] || k != 0.5 {
		return m, false
	}
	m.c1, m.c2, m.out = c1, c2, half
	m.nodes = []*ir.Node{square, mulX, cubeC1, add, mulC2, n, one, times, half}
	return m, c2 != 0
}
