package opt

import (
	"math"

	"github.com/hone-ml/hone/ir"
)

// fuseQDQLookupFloat rewrites a DequantizeLinear of an 8-bit NCHW tensor, followed by a chain of per-channel
// float ops whose result stays float (Add/Sub/Mul with a scalar or per-channel constant, BatchNormalization
// with constant parameters, Relu), into one hone QLookup with a float32 table per channel ([C, 256]): each
// channel's result is a function of the byte alone. PP-OCR det's head (Q → DQ → bias Add → BatchNormalization →
// Relu before the last ConvTranspose) becomes one pass over bytes instead of four over float tensors. The table
// is computed in float32 as the runtime computes the ops, so the rewrite changes results by a few ulps at most
// (BatchNormalization's multiply-add may be fused there).
var fuseQDQLookupFloat = Pass{
	Name:    "fuse_qdq_lookup_float",
	Ops:     []string{"DequantizeLinear"},
	Creates: []OpRef{{ir.DomainHone, ir.OpQLookup}},
	Match: func(c *Ctx, n *ir.Node) bool {
		_, _, ok := qFloatLookupMatch(c, n)
		return ok
	},
	Apply: func(c *Ctx, n *ir.Node) (bool, error) {
		chain, table, ok := qFloatLookupMatch(c, n)
		if !ok {
			return false, nil
		}
		last := chain[len(chain)-1]
		t := c.AddConst(last.Name+"_table", table)
		l := &ir.Node{Name: last.Name, OpType: ir.OpQLookup, Domain: ir.DomainHone, Inputs: []string{n.Inputs[0], t}, Outputs: last.Outputs}
		c.G.InsertBefore(n, l)
		for _, m := range chain {
			c.G.RemoveNode(m)
		}
		c.G.RemoveNode(n)
		c.refresh()
		return true, nil
	},
}

// qFloatLookupMatch returns the chain of float ops after the DQ n and the [C, 256] table that replaces them.
func qFloatLookupMatch(c *Ctx, n *ir.Node) ([]*ir.Node, *ir.Tensor, bool) {
	if !n.IsDefaultDomain() || len(n.Inputs) < 2 || len(n.Outputs) != 1 || n.AttrInt("block_size", 0) != 0 {
		return nil, nil, false
	}
	e := &qlut{c: c, rank: -1}
	s, zp, dt, ok := e.params(n)
	if !ok {
		return nil, nil, false
	}
	ty, ok := c.G.TypeOfValue(n.Inputs[0])
	if !ok || !ty.HasShape || len(ty.Shape) != 4 || ty.Shape[1].Size <= 0 || ty.Shape[1].Size > 1<<16 {
		return nil, nil, false
	}
	if n.Input(2) == "" {
		dt = ty.DType
	}
	if ty.DType != dt || (dt != ir.Int8 && dt != ir.Uint8) {
		return nil, nil, false
	}
	C := int(ty.Shape[1].Size)
	vals := make([][256]float32, C)
	for i := range vals[0] {
		v := i
		if dt == ir.Int8 {
			v = int(int8(uint8(i)))
		}
		vals[0][i] = (float32(v) - float32(zp)) * s
	}
	for ch := 1; ch < C; ch++ {
		vals[ch] = vals[0]
	}
	var chain []*ir.Node
	for cur := n.Outputs[0]; !c.IsOutput(cur); {
		cons := c.Consumers(cur)
		if len(cons) != 1 || !cons[0].IsDefaultDomain() || len(cons[0].Inputs) == 0 || len(cons[0].Outputs) != 1 ||
			!qFloatLookupStep(c, cons[0], cur, vals) {
			break
		}
		chain = append(chain, cons[0])
		cur = cons[0].Outputs[0]
	}
	if len(chain) == 0 {
		return nil, nil, false
	}
	table := ir.New(ir.Float32, C, 256)
	for ch := range vals {
		copy(table.F32()[ch*256:(ch+1)*256], vals[ch][:])
	}
	return chain, table, true
}

// qFloatLookupStep applies the op m, reading cur, to every channel's values; it leaves them unchanged and
// reports false when m is not a per-channel op of cur with constant parameters.
func qFloatLookupStep(c *Ctx, m *ir.Node, cur string, vals [][256]float32) bool {
	C := len(vals)
	switch m.OpType {
	case "Relu":
		if m.Inputs[0] != cur {
			return false
		}
		for ch := range vals {
			for i, v := range vals[ch] {
				vals[ch][i] = max(v, 0)
			}
		}
		return true
	case "Add", "Sub", "Mul":
		if len(m.Inputs) != 2 || m.Inputs[0] == m.Inputs[1] {
			return false
		}
		first := m.Inputs[0] == cur
		k := f32Const(c, m.Inputs[1])
		if !first {
			k = f32Const(c, m.Inputs[0])
		}
		if k == nil || !qPerChannel(k.Shape, C) {
			return false
		}
		kv := k.F32()
		for ch := range vals {
			kc := kv[min(ch, len(kv)-1)]
			for i, v := range vals[ch] {
				switch {
				case m.OpType == "Add":
					vals[ch][i] = v + kc
				case m.OpType == "Mul":
					vals[ch][i] = v * kc
				case first:
					vals[ch][i] = v - kc
				default:
					vals[ch][i] = kc - v
				}
			}
		}
		return true
	case "BatchNormalization":
		if m.Inputs[0] != cur || len(m.Inputs) != 5 || m.AttrInt("training_mode", 0) != 0 {
			return false
		}
		var p [4][]float32
		for i := range p {
			t := f32Const(c, m.Inputs[i+1])
			if t == nil || t.Len() != C {
				return false
			}
			p[i] = t.F32()
		}
		eps := float64(m.AttrFloat("epsilon", 1e-5))
		for ch := range vals {
			// The runtime's inference form: x·s + t with s = scale/√(var+ε), t = B − mean·s.
			sc := float32(float64(p[0][ch]) / math.Sqrt(float64(p[3][ch])+eps))
			sh := p[1][ch] - p[2][ch]*sc
			for i, v := range vals[ch] {
				vals[ch][i] = v*sc + sh
			}
		}
		return true
	}
	return false
}

// qPerChannel reports whether a constant of this shape broadcasts against an NCHW tensor of C channels without
// changing its shape and varies at most along the channels: one value, or C values laid out as [1, C, 1, 1] or
// [C, 1, 1].
func qPerChannel(shape []int, C int) bool {
	n := 1
	for _, d := range shape {
		n *= d
	}
	if n == 1 {
		return len(shape) <= 4
	}
	switch len(shape) {
	case 4:
		return shape[0] == 1 && shape[1] == C && shape[2] == 1 && shape[3] == 1
	case 3:
		return shape[0] == C && shape[1] == 1 && shape[2] == 1
	}
	return false
}
