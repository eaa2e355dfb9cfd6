package opt

import "github.com/hone-ml/hone/ir"

// fuseGemmAct merges a Gemm with the activation that is its only reader into a hone FusedGemm.
var fuseGemmAct = Pass{
	Name:    "fuse_gemm_act",
	Ops:     []string{"Gemm"},
	Creates: []OpRef{{ir.DomainHone, ir.OpFusedGemm}},
	Match: func(c *Ctx, n *ir.Node) bool {
		_, _, _, ok := baseActMatch(c, n)
		return ok
	},
	Apply: func(c *Ctx, n *ir.Node) (bool, error) {
		act, name, params, _ := baseActMatch(c, n)
		fuseActivation(c, n, act, ir.OpFusedGemm, name, params)
		return true, nil
	},
}
