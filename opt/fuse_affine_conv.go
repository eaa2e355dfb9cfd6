package opt

import "github.com/hone-ml/hone/ir"

// fuseAffineConv folds a scalar Mul that feeds only a Conv into its weights, conv(a·x) = (a·W)∗x (padding
// zeros stay zero), and a scalar Add that feeds only a pointwise Conv (1×1 kernel, no padding) into its bias,
// conv(x+b) = W∗x + b·Σ_c W[o,c] per output channel: without padding every output reads real input pixels only,
// so the fold is exact up to rounding (with padding the added b would reach the zero border too). PP-LCNetV3 (PP-OCRv4) ends every block with such a learned
// scale and shift after the activation; folded, two passes over the feature map per block disappear.
var fuseAffineConv = Pass{
	Name: "fuse_affine_conv",
	Ops:  []string{"Conv"},
	Match: func(c *Ctx, n *ir.Node) bool {
		_, _, ok := affineConvMatch(c, n)
		return ok
	},
	Apply: func(c *Ctx, n *ir.Node) (bool, error) {
		pre, k, _ := affineConvMatch(c, n)
		w := f32Const(c, n.Inputs[1])
		m := w.Shape[0]
		per := w.Len() / m // W is [M, C/group, 1, …]: one contiguous row per output channel
		src := w.F32()
		var bias []float32
		if bt := f32Const(c, n.Input(2)); bt != nil {
			bias = bt.F32()
		}
		in := []string{pre.Inputs[0], n.Inputs[1], n.Input(2)}
		if c.Const(pre.Inputs[0]) == k {
			in[0] = pre.Inputs[1]
		}
		if pre.OpType == "Mul" {
			nw := ir.New(ir.Float32, w.Shape...)
			for i, v := range src {
				nw.F32()[i] = float32(float64(v) * float64(k.F32()[0]))
			}
			in[1] = c.AddConst(n.Inputs[1]+"_scaled", nw)
		} else {
			nb := ir.New(ir.Float32, m)
			for o := 0; o < m; o++ {
				var s float64
				for _, v := range src[o*per : (o+1)*per] {
					s += float64(v)
				}
				s *= float64(k.F32()[0])
				if bias != nil {
					s += float64(bias[o])
				}
				nb.F32()[o] = float32(s)
			}
			in[2] = c.AddConst(n.Name+"_shifted_bias", nb)
		}
		if in[2] == "" {
			in = in[:2]
		}
		n.Inputs = in
		c.G.RemoveNode(pre)
		return true, nil
	},
}

// affineConvMatch finds the Mul or Add by a one-element float32 constant whose only reader is n, a pointwise
// float32 Conv with constant weights (and bias, if any).
func affineConvMatch(c *Ctx, n *ir.Node) (*ir.Node, *ir.Tensor, bool) {
	if len(n.Inputs) < 2 || len(n.Inputs) > 3 || len(n.Outputs) != 1 {
		return nil, nil, false
	}
	w := f32Const(c, n.Inputs[1])
	if w == nil || w.Rank() < 3 || w.Shape[0] == 0 {
		return nil, nil, false
	}
	if n.Input(2) != "" {
		if b := f32Const(c, n.Inputs[2]); b == nil || b.Len() != w.Shape[0] {
			return nil, nil, false
		}
	}
	pre := c.Producer(n.Inputs[0])
	if pre == nil || (pre.OpType != "Mul" && pre.OpType != "Add") || !pre.IsDefaultDomain() ||
		len(pre.Inputs) != 2 || len(pre.Outputs) != 1 || c.SoleConsumer(pre.Outputs[0]) != n {
		return nil, nil, false
	}
	ki := 1
	if c.Const(pre.Inputs[0]) != nil {
		ki = 0
	}
	k := f32Const(c, pre.Inputs[ki])
	x := pre.Inputs[1-ki]
	if k == nil || k.Len() != 1 || c.Const(x) != nil || !isFloat32(c, x) || !scalarFits(c, x, pre.Inputs[ki]) {
		return nil, nil, false
	}
	// A scale commutes with any convolution (padding zeros stay zero); a shift only with an unpadded 1×1 one.
	return pre, k, pre.OpType == "Mul" || pointwise(n, w)
}

// pointwise reports whether Conv n with weights w has a 1×1 kernel and no padding, so every output reads only
// real input pixels.
func pointwise(n *ir.Node, w *ir.Tensor) bool {
	for _, d := range w.Shape[2:] {
		if d != 1 {
			return false
		}
	}
	for _, p := range n.AttrInts("pads", nil) {
		if p != 0 {
			return false
		}
	}
	// SAME_* pads a 1×1 kernel only when strided; be conservative and require explicit zero padding.
	ap := n.AttrString("auto_pad", "NOTSET")
	return ap == "NOTSET" || ap == "VALID"
}
