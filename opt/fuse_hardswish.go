package opt

import (
	"math"

	"github.com/hone-ml/hone/ir"
)

// fuseHardSwish rewrites Mul(x, HardSigmoid(x, alpha=1/6, beta=1/2)) — how PP-OCR and exporters before opset
// 14 spell hard-swish (Howard et al. 2019, "Searching for MobileNetV3", eq. 2) — into one HardSwish, so Conv
// activation fusion sees it.
var fuseHardSwish = Pass{
	Name:    "fuse_hardswish",
	Ops:     []string{"HardSigmoid"},
	Creates: []OpRef{{"", "HardSwish"}},
	Match: func(c *Ctx, n *ir.Node) bool {
		_, ok := hardSwishMatch(c, n)
		return ok
	},
	Apply: func(c *Ctx, n *ir.Node) (bool, error) {
		mul, _ := hardSwishMatch(c, n)
		hs := &ir.Node{Name: c.G.FreshNodeName(mul.Name + "_hardswish"), OpType: "HardSwish",
			Inputs: []string{n.Inputs[0]}, Outputs: []string{mul.Outputs[0]}}
		c.G.InsertBefore(mul, hs)
		c.G.RemoveNode(mul)
		c.G.RemoveNode(n)
		return true, nil
	},
}

func hardSwishMatch(c *Ctx, n *ir.Node) (*ir.Node, bool) {
	if len(n.Inputs) != 1 || len(n.Outputs) != 1 {
		return nil, false
	}
	alpha, beta := n.AttrFloat("alpha", 0.2), n.AttrFloat("beta", 0.5)
	if math.Abs(float64(alpha)-1.0/6) > 1e-6 || beta != 0.5 {
		return nil, false
	}
	mul := c.SoleConsumer(n.Outputs[0])
	if mul == nil || mul.OpType != "Mul" || !mul.IsDefaultDomain() || len(mul.Inputs) != 2 {
		return nil, false
	}
	x, y := n.Inputs[0], n.Outputs[0]
	if !(mul.Inputs[0] == x && mul.Inputs[1] == y) && !(mul.Inputs[0] == y && mul.Inputs[1] == x) {
		return nil, false
	}
	return mul, isFloat32(c, x) || !knownType(c, x)
}

// knownType reports whether a value's element type is known.
func knownType(c *Ctx, name string) bool {
	t, ok := c.G.TypeOfValue(name)
	return ok && t.DType != ir.Undefined
}
