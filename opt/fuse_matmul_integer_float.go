package opt

import "github.com/hone-ml/hone/ir"

// fuseMatMulIntegerFloat rewrites MatMulInteger → Cast(float) → Mul(scale) [→ Add(bias)] into ONNX Runtime's
// contrib MatMulIntegerToFloat, as ORT's MatMulIntegerToFloatFusion does for the graphs its dynamic quantizer
// writes (DynamicQuantizeLinear → MatMulInteger → Cast → Mul by Mul(a_scale, b_scale), then the layer's bias
// Add). The GEMM epilogue then dequantizes and adds the bias as it stores each tile, instead of an int32 product
// travelling through three more element-wise passes. The fused op computes the same float32 operations in the
// same order, float32(S)·(a_scale·b_scale[j]) + bias[j], so the result is bit-identical.
//
// The scale may be Mul(a_scale, b_scale) with a_scale a scalar and b_scale a constant scalar or one value per
// column (either operand order), a scalar alone, or a constant with one value per column; B must be a constant
// 8-bit matrix.
var fuseMatMulIntegerFloat = Pass{
	Name:    "fuse_matmul_integer_float",
	Ops:     []string{"MatMulInteger"},
	Creates: []OpRef{{ir.DomainMicrosoft, "MatMulIntegerToFloat"}},
	Match: func(c *Ctx, n *ir.Node) bool {
		_, ok := matMulIntegerFloat(c, n)
		return ok
	},
	Apply: func(c *Ctx, n *ir.Node) (bool, error) {
		m, ok := matMulIntegerFloat(c, n)
		if !ok {
			return false, nil
		}
		aScale, bScale := m.aScale, m.bScale
		if aScale == "" {
			aScale = c.AddConst(n.Name+"_a_scale", ir.Scalar(1))
		}
		switch t := f32Const(c, bScale); {
		case bScale == "":
			bScale = c.AddConst(n.Name+"_b_scale", ir.Scalar(1))
		case t.Len() > 1 && t.Rank() > 1: // [1, …, 1, N]
			bScale = c.AddConst(n.Name+"_b_scale", ir.FromFloat32([]int{m.cols}, t.F32()))
		}
		in := []string{n.Input(0), n.Input(1), aScale, bScale, n.Input(2), n.Input(3)}
		out := m.mul.Outputs[0]
		add, bias := matMulBias(c, m.mul, m.cols)
		if add != nil {
			in, out = append(in, bias), add.Outputs[0]
		}
		for len(in) > 0 && in[len(in)-1] == "" {
			in = in[:len(in)-1]
		}
		f := &ir.Node{Name: n.Name, OpType: "MatMulIntegerToFloat", Domain: ir.DomainMicrosoft, Inputs: in, Outputs: []string{out}}
		c.G.InsertBefore(n, f)
		for _, r := range []*ir.Node{n, m.cast, m.mul, add} {
			if r != nil {
				c.G.RemoveNode(r)
			}
		}
		return true, nil
	},
}

// intFloatMatch is a MatMulInteger's Cast and scaling Mul, and the scales the fused op takes: aScale a scalar,
// bScale a constant scalar or one value per column ("" for either: 1).
type intFloatMatch struct {
	cast, mul      *ir.Node
	aScale, bScale string
	cols           int
}

// matMulIntegerFloat matches the chain after MatMulInteger n.
func matMulIntegerFloat(c *Ctx, n *ir.Node) (intFloatMatch, bool) {
	var m intFloatMatch
	if !n.IsDefaultDomain() || len(n.Inputs) < 2 || len(n.Outputs) != 1 {
		return m, false
	}
	b := c.Const(n.Input(1))
	if b == nil || b.Rank() != 2 || (b.DType != ir.Int8 && b.DType != ir.Uint8) {
		return m, false
	}
	m.cols = b.Shape[1]
	var s string
	if m.cast, m.mul, s = intFloatChain(c, n); m.mul == nil {
		return m, false
	}
	// The scale must not broadcast the product to a higher rank than its own.
	st, ok := c.G.TypeOfValue(s)
	pt, pok := c.G.TypeOfValue(m.cast.Outputs[0])
	if !ok || !pok || !st.HasShape || !pt.HasShape || len(st.Shape) > len(pt.Shape) {
		return m, false
	}
	scalar := func(v string) bool {
		t, ok := c.G.TypeOfValue(v)
		return ok && t.DType == ir.Float32 && t.HasShape && shapeProduct(t.Shape) == 1
	}
	perColumn := func(v string) bool { // a float32 constant of one value, or one per column along the last axis
		t := f32Const(c, v)
		if t == nil {
			return false
		}
		if t.Len() == 1 {
			return true
		}
		for _, d := range t.Shape[:max(0, t.Rank()-1)] {
			if d != 1 {
				return false
			}
		}
		return t.Rank() >= 1 && t.Shape[t.Rank()-1] == m.cols && t.Len() == shapeProduct(st.Shape)
	}
	m.aScale, m.bScale, ok = splitScale(c, s, scalar, perColumn)
	return m, ok
}

// intFloatChain matches the Cast to float32 and the Mul by a float32 scale that read integer product n's output
// alone, and returns them and the scale ("" and nil where the chain is not there).
func intFloatChain(c *Ctx, n *ir.Node) (cast, mul *ir.Node, scale string) {
	cast = c.SoleConsumer(n.Outputs[0])
	if cast == nil || cast.OpType != "Cast" || !cast.IsDefaultDomain() || cast.AttrInt("to", 0) != int64(ir.Float32) {
		return nil, nil, ""
	}
	mul = c.SoleConsumer(cast.Outputs[0])
	if mul == nil || mul.OpType != "Mul" || !mul.IsDefaultDomain() || len(mul.Inputs) != 2 || len(mul.Outputs) != 1 {
		return nil, nil, ""
	}
	s := mul.Inputs[1]
	if s == cast.Outputs[0] {
		s = mul.Inputs[0]
	}
	if s == cast.Outputs[0] || !isFloat32(c, s) {
		return nil, nil, ""
	}
	return cast, mul, s
}

// splitScale factors scale s as (a, b): a the scalar factor, b the one along the output's channels or columns
// ("" for a factor that is absent, meaning 1). s may be Mul(a, b) in either order, or a or b alone.
func splitScale(c *Ctx, s string, scalar, perOutput func(string) bool) (a, b string, ok bool) {
	if p := c.Producer(s); p != nil && p.OpType == "Mul" && p.IsDefaultDomain() && len(p.Inputs) == 2 && len(p.Outputs) == 1 {
		x, y := p.Inputs[0], p.Inputs[1]
		switch {
		case scalar(x) && perOutput(y):
			return x, y, true
		case scalar(y) && perOutput(x):
			return y, x, true
		}
	}
	switch {
	case scalar(s):
		return s, "", true
	case perOutput(s):
		return "", s, true
	}
	return "", "", false
}

// shapeProduct is the element count of a shape, or -1 when a dimension is not known.
func shapeProduct(shape []ir.Dim) int {
	p := 1
	for _, d := range shape {
		if !d.Known() {
			return -1
		}
		p *= int(d.Size)
	}
	return p
}
