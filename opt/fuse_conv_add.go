package opt

import "github.com/hone-ml/hone/ir"

// fuseConvAdd folds Add(Conv(x), c) (or ConvTranspose) into the conv's bias when c is constant and varies only
// along the output channel axis (shapes like [M,1,1], [1,M,1,1], [1] or a scalar), the form exporters emit for a
// separate bias (paddle2onnx writes PP-OCR det's two head ConvTransposes so).
var fuseConvAdd = Pass{
	Name: "fuse_conv_add",
	Ops:  []string{"Conv", "ConvTranspose"},
	Match: func(c *Ctx, n *ir.Node) bool {
		_, _, ok := convAddMatch(c, n)
		return ok
	},
	Apply: func(c *Ctx, n *ir.Node) (bool, error) {
		add, addC, _ := convAddMatch(c, n)
		m := convOutChannels(n, c.Const(n.Inputs[1]))
		bName := c.AddConst(n.Name+"_bias", ir.FromFloat32([]int{m}, addedBias(f32Const(c, n.Input(2)), addC, m)))
		n.Inputs = []string{n.Inputs[0], n.Inputs[1], bName}
		n.Outputs = []string{add.Outputs[0]}
		c.G.RemoveNode(add)
		return true, nil
	},
}

func convAddMatch(c *Ctx, n *ir.Node) (*ir.Node, *ir.Tensor, bool) {
	if len(n.Inputs) < 2 || len(n.Outputs) != 1 {
		return nil, nil, false
	}
	w := f32Const(c, n.Inputs[1])
	if w == nil || w.Rank() < 3 {
		return nil, nil, false
	}
	m, r := convOutChannels(n, w), w.Rank()
	if m <= 0 {
		return nil, nil, false
	}
	if n.Input(2) != "" {
		if b := f32Const(c, n.Inputs[2]); b == nil || b.Len() != m {
			return nil, nil, false
		}
	}
	add := c.SoleConsumer(n.Outputs[0])
	if add == nil || add.OpType != "Add" || !add.IsDefaultDomain() || len(add.Inputs) != 2 {
		return nil, nil, false
	}
	k := f32Const(c, otherInput(add, n.Outputs[0]))
	if !channelConst(k, m, r) {
		return nil, nil, false
	}
	return add, k, true
}

// convOutChannels returns a Conv's or ConvTranspose's output channel count from its weights (ConvTranspose W is
// [C, M/group, k...]), or 0 when group does not divide them.
func convOutChannels(n *ir.Node, w *ir.Tensor) int {
	if n.OpType != "ConvTranspose" {
		return w.Shape[0]
	}
	group := int(n.AttrInt("group", 1))
	if group <= 0 || w.Shape[0]%group != 0 {
		return 0
	}
	return w.Shape[1] * group
}

// addedBias returns bias b (nil: zeros) plus the channel constant k (one value, or one per channel) for m
// output channels.
func addedBias(b, k *ir.Tensor, m int) []float32 {
	out := make([]float32, m)
	kv := k.F32()
	for o := range out {
		v := kv[0]
		if len(kv) == m {
			v = kv[o]
		}
		if b != nil {
			v += b.F32()[o]
		}
		out[o] = v
	}
	return out
}
