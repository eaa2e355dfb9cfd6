package opt

import (
	"math"

	"github.com/hone-ml/hone/ir"
)

// fuseConvBN folds an inference-mode BatchNormalization into the Conv (or ConvTranspose) feeding it:
// y = γ·(conv(x,W)+b−μ)/√(σ²+ε)+β = conv(x, W·s) + (b−μ)·s + β with s = γ/√(σ²+ε), per output channel
// (Ioffe & Szegedy 2015, §3.2 folded into the linear layer). Arithmetic is done in float64 and rounded once. A
// bias Add of a channel constant between the two (PP-OCR det's ConvTranspose → Add → BatchNormalization) is
// folded with it: it runs before fuse_conv_add, which alone would leave the BatchNormalization.
var fuseConvBN = Pass{
	Name: "fuse_conv_bn",
	Ops:  []string{"Conv", "ConvTranspose"},
	Match: func(c *Ctx, n *ir.Node) bool {
		_, _, ok := convBNMatch(c, n)
		return ok
	},
	Apply: func(c *Ctx, n *ir.Node) (bool, error) {
		bn, p, _ := convBNMatch(c, n)
		w := f32Const(c, n.Inputs[1])
		bt := f32Const(c, n.Input(2))
		if p.add != nil {
			bt = ir.FromFloat32([]int{len(p.scale)}, addedBias(bt, f32Const(c, otherInput(p.add, n.Outputs[0])), len(p.scale)))
		}
		m := len(p.scale)
		s := make([]float64, m)
		for i := range s {
			s[i] = float64(p.scale[i]) / math.Sqrt(float64(p.varc[i])+float64(p.eps))
		}
		nw := ir.New(ir.Float32, w.Shape...)
		src, dst := w.F32(), nw.F32()
		if n.OpType == "Conv" {
			per := len(src) / m // W is [M, C/group, k...]: one contiguous block per output channel
			for o := 0; o < m; o++ {
				for i := o * per; i < (o+1)*per; i++ {
					dst[i] = float32(float64(src[i]) * s[o])
				}
			}
		} else {
			// ConvTranspose W is [C, M/group, k...]; input channel ci belongs to group ci/(C/group), whose
			// output channels are g·(M/group)+j.
			group := int(n.AttrInt("group", 1))
			cin, mpg := w.Shape[0], w.Shape[1]
			k := len(src) / (cin * mpg)
			for ci := 0; ci < cin; ci++ {
				g := ci / (cin / group)
				for j := 0; j < mpg; j++ {
					o := g*mpg + j
					for t := 0; t < k; t++ {
						i := (ci*mpg+j)*k + t
						dst[i] = float32(float64(src[i]) * s[o])
					}
				}
			}
		}
		nb := ir.New(ir.Float32, m)
		var b []float32
		if bt != nil {
			b = bt.F32()
		}
		for o := 0; o < m; o++ {
			bias := 0.0
			if b != nil {
				bias = float64(b[o])
			}
			nb.F32()[o] = float32((bias-float64(p.mean[o]))*s[o] + float64(p.beta[o]))
		}
		wName := c.AddConst(n.Inputs[1]+"_bn", nw)
		bName := c.AddConst(n.Name+"_bn_bias", nb)
		n.Inputs = []string{n.Inputs[0], wName, bName}
		n.Outputs = []string{bn.Outputs[0]}
		c.G.RemoveNode(bn)
		if p.add != nil {
			c.G.RemoveNode(p.add)
		}
		return true, nil
	},
}

type bnParams struct {
	scale, beta, mean, varc []float32
	eps                     float32
	add                     *ir.Node // a bias Add between the conv and the BatchNormalization, or nil
}

// convBNMatch finds the BatchNormalization that is the sole reader of a float32 Conv with constant weights and
// bias, with constant per-channel parameters of the Conv's output-channel count and no training outputs.
func convBNMatch(c *Ctx, n *ir.Node) (*ir.Node, bnParams, bool) {
	var p bnParams
	if len(n.Inputs) < 2 || len(n.Outputs) != 1 {
		return nil, p, false
	}
	w := f32Const(c, n.Inputs[1])
	if w == nil || w.Rank() < 3 {
		return nil, p, false
	}
	m := convOutChannels(n, w)
	if m <= 0 {
		return nil, p, false
	}
	v := n.Outputs[0]
	bn := c.SoleConsumer(v)
	if add, k, ok := convAddMatch(c, n); ok && k.DType == ir.Float32 && !c.IsOutput(v) {
		p.add, v = add, add.Outputs[0]
		bn = c.SoleConsumer(v)
	}
	if bn == nil || bn.OpType != "BatchNormalization" || !bn.IsDefaultDomain() || len(bn.Inputs) != 5 ||
		bn.Inputs[0] != v || !onlyFirstOutputUsed(c, bn) || bn.AttrInt("training_mode", 0) != 0 || c.IsOutput(v) {
		return nil, p, false
	}
	var ts [4]*ir.Tensor
	for i := range ts {
		ts[i] = f32Const(c, bn.Inputs[i+1])
		if ts[i] == nil || ts[i].Len() != m || ts[i].Rank() != 1 {
			return nil, p, false
		}
	}
	if n.Input(2) != "" {
		if b := f32Const(c, n.Inputs[2]); b == nil || b.Len() != m {
			return nil, p, false
		}
	}
	p = bnParams{ts[0].F32(), ts[1].F32(), ts[2].F32(), ts[3].F32(), bn.AttrFloat("epsilon", 1e-5), p.add}
	return bn, p, true
}
