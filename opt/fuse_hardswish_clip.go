package opt

import (
	"math"

	"github.com/hone-ml/hone/ir"
)

// fuseHardSwishClip rewrites hard-swish spelled out with Clip — x·Clip(x+3, 0, 6)/6, the form Paddle2ONNX
// (PP-OCR) and older PyTorch exporters emit (Howard et al. 2019, "Searching for MobileNetV3", eq. 2: h-swish(x)
// = x·ReLU6(x+3)/6) — into one HardSwish, so Conv activation fusion sees it. Both association orders are
// matched: Mul(x, Clip) then ÷6, and Clip ÷6 then Mul by x; ÷6 may also be written ·(1/6). The fused kernel
// computes x·max(0, min(1, x/6+1/2)): the same function up to float32 rounding of the intermediate steps.
var fuseHardSwishClip = Pass{
	Name:    "fuse_hardswish_clip",
	Ops:     []string{"Clip"},
	Creates: []OpRef{{"", "HardSwish"}},
	Match: func(c *Ctx, n *ir.Node) bool {
		return hardSwishClipMatch(c, n) != nil
	},
	Apply: func(c *Ctx, n *ir.Node) (bool, error) {
		m := hardSwishClipMatch(c, n)
		hs := &ir.Node{Name: c.G.FreshNodeName(m.last.Name + "_hardswish"), OpType: "HardSwish",
			Inputs: []string{m.x}, Outputs: []string{m.last.Outputs[0]}}
		c.G.InsertBefore(m.last, hs)
		for _, d := range m.remove {
			c.G.RemoveNode(d)
		}
		return true, nil
	},
}

type hardSwishClip struct {
	x      string     // the hard-swish input
	last   *ir.Node   // the node whose output becomes HardSwish's
	remove []*ir.Node // the nodes the rewrite replaces
}

// hardSwishClipMatch matches the chain around a Clip(·, 0, 6) anchor; nil when it is not hard-swish.
func hardSwishClipMatch(c *Ctx, clip *ir.Node) *hardSwishClip {
	if len(clip.Inputs) == 0 || len(clip.Outputs) != 1 {
		return nil
	}
	if _, p, ok := activation(c, clip); !ok || p[0] != 0 || p[1] != 6 {
		return nil
	}
	add := c.Producer(clip.Inputs[0])
	if add == nil || add.OpType != "Add" || !add.IsDefaultDomain() || len(add.Inputs) != 2 ||
		c.SoleConsumer(add.Outputs[0]) != clip {
		return nil
	}
	var x string
	for i, in := range add.Inputs {
		if scalarIs(c, in, 3) {
			x = add.Inputs[1-i]
		}
	}
	if x == "" || !(isFloat32(c, x) || !knownType(c, x)) || !scalarFits(c, x, add.Inputs...) {
		return nil
	}
	next := c.SoleConsumer(clip.Outputs[0])
	if next == nil || len(next.Inputs) != 2 || !next.IsDefaultDomain() {
		return nil
	}
	if next.OpType == "Mul" && otherInput(next, clip.Outputs[0]) == x {
		// x·Clip, then ÷6.
		div := c.SoleConsumer(next.Outputs[0])
		if div == nil || !isSixth(c, div, next.Outputs[0]) {
			return nil
		}
		return &hardSwishClip{x: x, last: div, remove: []*ir.Node{add, clip, next, div}}
	}
	// Clip ÷6, then ·x.
	if !isSixth(c, next, clip.Outputs[0]) {
		return nil
	}
	mul := c.SoleConsumer(next.Outputs[0])
	if mul == nil || mul.OpType != "Mul" || !mul.IsDefaultDomain() || len(mul.Inputs) != 2 ||
		otherInput(mul, next.Outputs[0]) != x {
		return nil
	}
	return &hardSwishClip{x: x, last: mul, remove: []*ir.Node{add, clip, next, mul}}
}

// isSixth reports whether n computes v/6 (Div by 6) or v·(1/6) (Mul by 1/6, either operand order) with a
// scalar constant that does not widen v's shape.
func isSixth(c *Ctx, n *ir.Node, v string) bool {
	if !n.IsDefaultDomain() || len(n.Inputs) != 2 || len(n.Outputs) != 1 {
		return false
	}
	switch n.OpType {
	case "Div":
		return n.Inputs[0] == v && scalarIs(c, n.Inputs[1], 6) && scalarFits(c, v, n.Inputs[1])
	case "Mul":
		k := otherInput(n, v)
		s, ok := scalarConst(c, k, 0)
		return ok && k != "" && math.Abs(float64(s)-1.0/6) <= 1e-7 && scalarFits(c, v, k)
	}
	return false
}

// scalarIs reports whether name is a one-element float32 constant equal to v.
func scalarIs(c *Ctx, name string, v float32) bool {
	s, ok := scalarConst(c, name, 0)
	return ok && name != "" && s == v
}

// scalarFits reports whether broadcasting the one-element constants among names against x leaves x's shape
// unchanged: a rank-0 constant always does; a [1] or [1,1,…] one only when x is known to have at least its rank.
func scalarFits(c *Ctx, x string, names ...string) bool {
	t, ok := c.G.TypeOfValue(x)
	for _, nm := range names {
		if k := c.Const(nm); k != nil && k.Rank() > 0 && (!ok || !t.HasShape || len(t.Shape) < k.Rank()) {
			return false
		}
	}
	return true
}
