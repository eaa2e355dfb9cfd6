package opt

import "github.com/hone-ml/hone/ir"

// fuseConvAct merges a Conv with the activation that is its only reader into a hone FusedConv, so the
// activation is applied while the output tile is still in registers instead of in a second pass over memory.
var fuseConvAct = Pass{
	Name:    "fuse_conv_act",
	Ops:     []string{"Conv"},
	Creates: []OpRef{{ir.DomainHone, ir.OpFusedConv}},
	Match: func(c *Ctx, n *ir.Node) bool {
		_, _, _, ok := baseActMatch(c, n)
		return ok
	},
	Apply: func(c *Ctx, n *ir.Node) (bool, error) {
		act, name, params, _ := baseActMatch(c, n)
		fuseActivation(c, n, act, ir.OpFusedConv, name, params)
		return true, nil
	},
}

// baseActMatch finds the activation that solely reads a float32 Conv or Gemm with a single output.
func baseActMatch(c *Ctx, n *ir.Node) (*ir.Node, string, []float32, bool) {
	if len(n.Outputs) != 1 || len(n.Inputs) < 2 || !(isFloat32(c, n.Inputs[1]) || isFloat32(c, n.Inputs[0])) {
		return nil, "", nil, false
	}
	act := c.SoleConsumer(n.Outputs[0])
	if act == nil || act.Inputs[0] != n.Outputs[0] {
		return nil, "", nil, false
	}
	name, params, ok := activation(c, act)
	return act, name, params, ok
}
