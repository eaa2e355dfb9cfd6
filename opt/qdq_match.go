package opt

import (
	"math"

	"github.com/hone-ml/hone/ir"
)

// Predicates shared by the QDQ fusions (fuse_qdq_*.go). A QDQ model (ONNX Runtime's quantize_static output, or
// hone's) marks integer regions with DequantizeLinear before an op and QuantizeLinear after it; the fusions
// replace DQ → op → Q with one op on the integers, as ONNX Runtime's QDQ selectors do.

// qdqParam is one side of a quantized value: the integer tensor's name, its scale and zero point (constants).
type qdqParam struct {
	Q      string     // the integer value (DQ's input, Q's output)
	Scale  *ir.Tensor // float32, scalar or per-axis
	ZP     *ir.Tensor // nil when absent (0 of the data type)
	ZPName string     // "" when absent
	Axis   int64      // DequantizeLinear's axis (meaningful only for a per-axis scale)
}

// dqInput returns the DequantizeLinear that produces v with constant scale and zero point, or false. Blocked
// quantization (opset 21's block_size) is not fused.
func dqInput(c *Ctx, v string) (qdqParam, bool) {
	d := c.Producer(v)
	if d == nil || d.OpType != "DequantizeLinear" || !d.IsDefaultDomain() || len(d.Inputs) < 2 || len(d.Outputs) != 1 ||
		d.AttrInt("block_size", 0) != 0 {
		return qdqParam{}, false
	}
	p := qdqParam{Q: d.Inputs[0], Scale: f32Const(c, d.Inputs[1]), ZPName: d.Input(2), Axis: d.AttrInt("axis", 1)}
	if p.Scale == nil {
		return qdqParam{}, false
	}
	if p.ZPName != "" {
		if p.ZP = c.Const(p.ZPName); p.ZP == nil || p.ZP.Len() != p.Scale.Len() {
			return qdqParam{}, false
		}
	}
	return p, true
}

// qOutput follows v's sole reader through an optional Relu or Clip to a QuantizeLinear with a constant scalar
// scale and a constant int8/uint8 zero point. It returns the Q and the nodes to remove with it. The activation is
// only accepted when the quantization makes it redundant: Q is monotone, so Q(Relu(y)) = max(Q(y), Q(0)) and
// Q(Clip(y, a, b)) = clamp(Q(y), Q(a), Q(b)), which equal Q(y) when those bounds lie outside the integer range
// Q already saturates to.
func qOutput(c *Ctx, v string) (q *ir.Node, p qdqParam, removed []*ir.Node, ok bool) {
	r := c.SoleConsumer(v)
	if r != nil && r.IsDefaultDomain() && (r.OpType == "Relu" || r.OpType == "Clip") && len(r.Outputs) == 1 {
		removed = append(removed, r)
		v = r.Outputs[0]
		q = c.SoleConsumer(v)
	} else {
		q, r = r, nil
	}
	if q == nil || q.OpType != "QuantizeLinear" || !q.IsDefaultDomain() || len(q.Inputs) < 2 || len(q.Outputs) != 1 ||
		q.AttrInt("block_size", 0) != 0 || q.AttrInt("saturate", 1) != 1 {
		return nil, qdqParam{}, nil, false
	}
	p = qdqParam{Q: q.Outputs[0], Scale: f32Const(c, q.Inputs[1]), ZPName: q.Input(2)}
	if p.Scale == nil || p.Scale.Len() != 1 || !(p.Scale.F32()[0] > 0) {
		return nil, qdqParam{}, nil, false
	}
	lo, hi := int64(0), int64(255)
	if p.ZPName != "" {
		p.ZP = c.Const(p.ZPName)
		if p.ZP == nil || p.ZP.Len() != 1 {
			return nil, qdqParam{}, nil, false
		}
		switch p.ZP.DType {
		case ir.Uint8:
		case ir.Int8:
			lo, hi = -128, 127
		default:
			return nil, qdqParam{}, nil, false
		}
	}
	if r != nil {
		a, b, ok := actBounds(c, r)
		if !ok {
			return nil, qdqParam{}, nil, false
		}
		zp := p.zeroPoint()
		s := float64(p.Scale.F32()[0])
		// Q(a) ≤ lo and Q(b) ≥ hi: the clamp adds nothing. round-half-even(a/s) ≤ lo − zp is implied by a/s ≤ lo − zp.
		if a/s+float64(zp) > float64(lo) || b/s+float64(zp) < float64(hi) {
			return nil, qdqParam{}, nil, false
		}
	}
	removed = append(removed, q)
	return q, p, removed, true
}

// actBounds returns the clamp a Relu or Clip applies.
func actBounds(c *Ctx, r *ir.Node) (float64, float64, bool) {
	if r.OpType == "Relu" {
		return 0, math.Inf(1), true
	}
	if c.Opset("") < 11 {
		return float64(r.AttrFloat("min", -math.MaxFloat32)), float64(r.AttrFloat("max", math.MaxFloat32)), true
	}
	a, ok1 := scalarConst(c, r.Input(1), float32(math.Inf(-1)))
	b, ok2 := scalarConst(c, r.Input(2), float32(math.Inf(1)))
	return float64(a), float64(b), ok1 && ok2
}

// zeroPoint returns a scalar zero point's value (0 when absent).
func (p qdqParam) zeroPoint() int64 {
	if p.ZP == nil {
		return 0
	}
	v, _ := p.ZP.Int64s()
	return v[0]
}

// perTensorActivation reports whether p is an activation quantized per tensor to 8 bits with a known type.
func perTensorActivation(c *Ctx, p qdqParam) bool {
	if p.Scale.Len() != 1 {
		return false
	}
	dt := p.dtype(c)
	return dt == ir.Int8 || dt == ir.Uint8
}

// dtype returns the integer type of p's data: its zero point's, else its inferred or constant type.
func (p qdqParam) dtype(c *Ctx) ir.DType {
	if p.ZP != nil {
		return p.ZP.DType
	}
	if t := c.Const(p.Q); t != nil {
		return t.DType
	}
	if t, ok := c.G.TypeOfValue(p.Q); ok {
		return t.DType
	}
	return ir.Undefined
}

// zeroPointName returns p's zero-point input, creating a zero constant of the data type (shaped like the scale)
// where the DequantizeLinear left it out: QLinearConv and its kin require one.
func (c *Ctx) qdqZeroPoint(p qdqParam, dt ir.DType, base string) string {
	if p.ZPName != "" {
		return p.ZPName
	}
	return c.AddConst(base, ir.New(dt, p.Scale.Shape...))
}

// allZero reports whether an integer tensor is absent or all zeros.
func allZero(t *ir.Tensor) bool {
	if t == nil {
		return true
	}
	v, err := t.Int64s()
	if err != nil {
		return false
	}
	for _, x := range v {
		if x != 0 {
			return false
		}
	}
	return true
}

// biasScaleMatches reports whether an int32 bias's per-channel scales equal x_scale·w_scale, the scale the
// integer ops assume (within float32 rounding of the product).
func biasScaleMatches(bs, xs, ws *ir.Tensor, m int) bool {
	if bs.Len() != 1 && bs.Len() != m {
		return false
	}
	x := float64(xs.F32()[0])
	for i := 0; i < m; i++ {
		want := x * float64(ws.F32()[min(i, ws.Len()-1)])
		got := float64(bs.F32()[min(i, bs.Len()-1)])
		if math.Abs(got-want) > 1e-6*math.Abs(want) {
			return false
		}
	}
	return true
}
