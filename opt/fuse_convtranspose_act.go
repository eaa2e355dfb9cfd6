package opt

import "github.com/hone-ml/hone/ir"

// fuseConvTransposeAct merges a ConvTranspose with the activation that is its only reader into a hone
// FusedConvTranspose, which applies it to each output row as the row is written: PP-OCR det's head ends in
// ConvTranspose → Relu → ConvTranspose → Sigmoid over 320² and 640² maps, where each separate activation is a
// full pass over 2–10 MB.
var fuseConvTransposeAct = Pass{
	Name:    "fuse_convtranspose_act",
	Ops:     []string{"ConvTranspose"},
	Creates: []OpRef{{ir.DomainHone, ir.OpFusedConvTranspose}},
	Match: func(c *Ctx, n *ir.Node) bool {
		_, _, _, ok := baseActMatch(c, n)
		return ok
	},
	Apply: func(c *Ctx, n *ir.Node) (bool, error) {
		act, name, params, _ := baseActMatch(c, n)
		fuseActivation(c, n, act, ir.OpFusedConvTranspose, name, params)
		return true, nil
	},
}
