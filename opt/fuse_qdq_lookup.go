package opt

import (
	"math"

	"github.com/hone-ml/hone/ir"
)

// fuseQDQLookup rewrites a QuantizeLinear whose input is computed by elementwise float ops from one 8-bit tensor
// x — DQ(x) → Add/Sub/Mul/Div/Max/Min/Relu/Clip with scalar constants, including inner Q → DQ pairs — into one
// hone QLookup of x: such a region maps each of x's 256 possible values to one output integer, so the table,
// computed here with the same float32 arithmetic the runtime uses op by op (IEEE single operations, QuantizeLinear's
// float32 division and round-half-to-even), reproduces it exactly. PP-OCR's quantized HardSwish (Add 3, Clip,
// Q/DQ, Mul, Div 6, Q) becomes one byte lookup instead of seven passes over float tensors. The nodes the region
// leaves unread are swept by eliminate_dead.
var fuseQDQLookup = Pass{
	Name:    "fuse_qdq_lookup",
	Ops:     []string{"QuantizeLinear"},
	Creates: []OpRef{{ir.DomainHone, ir.OpQLookup}},
	Match: func(c *Ctx, n *ir.Node) bool {
		_, _, ok := qLookupMatch(c, n)
		return ok
	},
	Apply: func(c *Ctx, n *ir.Node) (bool, error) {
		src, table, _ := qLookupMatch(c, n)
		t := c.AddConst(n.Name+"_table", table)
		l := &ir.Node{Name: n.Name, OpType: ir.OpQLookup, Domain: ir.DomainHone, Inputs: []string{src, t}, Outputs: n.Outputs}
		c.G.InsertBefore(n, l)
		c.G.RemoveNode(n)
		removeDeadChain(c, n.Inputs)
		return true, nil
	},
}

// removeDeadChain removes the nodes behind vals that nothing reads any more (no node, subgraph or graph
// output), walking back while that holds. The rewrite must do it itself: the region can hold QLookup nodes of
// earlier rewrites, and eliminate_dead (like every pass) only visits default-domain nodes.
func removeDeadChain(c *Ctx, vals []string) {
	c.refresh()
	readers := map[string]int{} // readers left, for the values looked at
	left := func(v string) int {
		if _, ok := readers[v]; !ok {
			readers[v] = len(c.Consumers(v))
		}
		return readers[v]
	}
	for len(vals) > 0 {
		v := vals[len(vals)-1]
		vals = vals[:len(vals)-1]
		p := c.Producer(v)
		if p == nil {
			continue
		}
		dead := true
		for _, o := range p.Outputs {
			if o != "" && (left(o) > 0 || c.IsOutput(o)) {
				dead = false
			}
		}
		if !dead || !c.G.RemoveNode(p) {
			continue
		}
		seen := map[string]bool{}
		for _, in := range p.Inputs {
			if in != "" && !seen[in] {
				seen[in] = true
				readers[in] = left(in) - 1
				vals = append(vals, in)
			}
		}
	}
	c.refresh()
}

// qLookupMaxNodes bounds the region walked back from the Q.
const qLookupMaxNodes = 24

// qlut evaluates a region for every byte of its source.
type qlut struct {
	c       *Ctx
	src     string   // the 8-bit tensor the region reads; "" until the first leaf
	signed  bool     // src is int8
	nodes   int      // nodes walked
	floatOp bool     // the region has a float op (else it is a plain requantization)
	rank    int      // src's rank, -1 when unknown
	vals    [256]int // scratch
}

func qLookupMatch(c *Ctx, n *ir.Node) (string, *ir.Tensor, bool) {
	if !n.IsDefaultDomain() || len(n.Outputs) != 1 {
		return "", nil, false
	}
	e := &qlut{c: c, rank: -1}
	q, dt, ok := e.quant(n)
	if !ok || e.src == "" || !e.floatOp {
		return "", nil, false
	}
	t := ir.New(dt, 256)
	for i, v := range q {
		t.Bytes()[i] = uint8(v)
	}
	return e.src, t, true
}

// quant evaluates the QuantizeLinear q: saturate(roundHalfEven(x / scale) + zp), with x's float32 division.
func (e *qlut) quant(q *ir.Node) ([256]int, ir.DType, bool) {
	var out [256]int
	if q.OpType != "QuantizeLinear" || !q.IsDefaultDomain() || len(q.Inputs) < 2 || q.AttrInt("block_size", 0) != 0 ||
		q.AttrInt("saturate", 1) != 1 || q.AttrInt("output_dtype", 0) != 0 {
		return out, 0, false
	}
	s, zp, dt, ok := e.params(q)
	if !ok || !(s > 0) {
		return out, 0, false
	}
	x, ok := e.float(q.Inputs[0])
	if !ok {
		return out, 0, false
	}
	lo, hi := 0.0, 255.0
	if dt == ir.Int8 {
		lo, hi = -128, 127
	}
	for i, v := range x {
		f := float64(v / s)
		if f != f {
			out[i] = int(max(lo, min(hi, 0)))
			continue
		}
		out[i] = int(max(lo, min(hi, math.RoundToEven(f)+float64(zp))))
	}
	return out, dt, true
}

// params reads a Q or DQ node's constant per-tensor scale and zero point (absent: uint8 0).
func (e *qlut) params(n *ir.Node) (float32, int, ir.DType, bool) {
	st := f32Const(e.c, n.Input(1))
	if st == nil || st.Len() != 1 {
		return 0, 0, 0, false
	}
	if n.Input(2) == "" {
		return st.F32()[0], 0, ir.Uint8, true
	}
	zt := e.c.Const(n.Input(2))
	if zt == nil || zt.Len() != 1 || (zt.DType != ir.Int8 && zt.DType != ir.Uint8) {
		return 0, 0, 0, false
	}
	v, _ := zt.Int64s()
	return st.F32()[0], int(v[0]), zt.DType, true
}

// float evaluates the float32 value v for every source byte.
func (e *qlut) float(v string) ([256]float32, bool) {
	var out [256]float32
	if t := f32Const(e.c, v); t != nil {
		if t.Len() != 1 || (t.Rank() > 0 && (e.rank < 0 || t.Rank() > e.rank)) {
			return out, false // a constant that would broadcast the shape up
		}
		for i := range out {
			out[i] = t.F32()[0]
		}
		return out, true
	}
	n := e.c.Producer(v)
	if e.nodes++; n == nil || e.nodes > qLookupMaxNodes || !n.IsDefaultDomain() || len(n.Outputs) != 1 {
		return out, false
	}
	switch n.OpType {
	case "DequantizeLinear":
		return e.dequant(n)
	case "Identity":
		return e.float(n.Inputs[0])
	case "Relu":
		x, ok := e.float(n.Inputs[0])
		for i := range x {
			out[i] = max(x[i], 0)
		}
		e.floatOp = true
		return out, ok
	case "Clip":
		lo, hi, ok := actBounds(e.c, n)
		if !ok {
			return out, false
		}
		x, ok := e.float(n.Inputs[0])
		for i := range x {
			out[i] = min(max(x[i], float32(lo)), float32(hi))
		}
		e.floatOp = true
		return out, ok
	case "Add", "Sub", "Mul", "Div", "Max", "Min":
		if len(n.Inputs) != 2 {
			return out, false
		}
		// The tensor operand first: it fixes the source's rank, against which a constant operand is checked
		// (PP-OCR's learnable scales are Mul(scale, x)).
		var a, b [256]float32
		var ok1, ok2 bool
		if f32Const(e.c, n.Inputs[0]) != nil {
			b, ok2 = e.float(n.Inputs[1])
			a, ok1 = e.float(n.Inputs[0])
		} else {
			a, ok1 = e.float(n.Inputs[0])
			b, ok2 = e.float(n.Inputs[1])
		}
		if !ok1 || !ok2 {
			return out, false
		}
		for i := range out {
			switch n.OpType {
			case "Add":
				out[i] = a[i] + b[i]
			case "Sub":
				out[i] = a[i] - b[i]
			case "Mul":
				out[i] = a[i] * b[i]
			case "Div":
				out[i] = a[i] / b[i]
			case "Max":
				out[i] = max(a[i], b[i])
			case "Min":
				out[i] = min(a[i], b[i])
			}
		}
		e.floatOp = true
		return out, true
	}
	if qLookupEvalOps[n.OpType] && e.c.Eval != nil {
		return e.eval(n)
	}
	return out, false
}

// qLookupEvalOps are elementwise ops whose value the table takes from the runtime's own kernel (opt.Evaluator)
// run on the 256 values: GELU's tanh and erf forms, Sigmoid, Pow(x, 3) and the like between a quantized MatMul and
// the next one's Q (GPT-2's MLP) then cost one byte lookup instead of eight float passes. The kernels compute each
// element alone, with one code path for every position (a vector's tail is padded to a whole vector), so the
// table holds exactly what the ops compute in the plan.
var qLookupEvalOps = map[string]bool{"Tanh": true, "Erf": true, "Sigmoid": true, "Exp": true, "Log": true, "Sqrt": true,
	"Reciprocal": true, "Neg": true, "Abs": true, "Softplus": true, "Softsign": true, "HardSigmoid": true,
	"HardSwish": true, "LeakyRelu": true, "Elu": true, "Selu": true, "Celu": true, "ThresholdedRelu": true, "Pow": true,
	"Gelu": true, "Floor": true, "Ceil": true, "Round": true, "Sign": true, "Sin": true, "Cos": true}

// eval evaluates the elementwise node n on the region's 256 values with the runtime's kernel. Its constant
// operands must be single values that do not raise the source's rank.
func (e *qlut) eval(n *ir.Node) ([256]float32, bool) {
	var out [256]float32
	if len(n.Outputs) != 1 {
		return out, false
	}
	ins := make([]*ir.Tensor, len(n.Inputs))
	region := false
	for i, v := range n.Inputs {
		if v == "" {
			continue
		}
		if t := e.c.Const(v); t != nil {
			if t.Len() != 1 || (t.Rank() > 0 && (e.rank < 0 || t.Rank() > e.rank)) {
				return out, false
			}
			ins[i] = t
			continue
		}
		x, ok := e.float(v)
		if !ok {
			return out, false
		}
		ins[i] = ir.FromFloat32([]int{256}, x[:])
		region = true
	}
	if !region {
		return out, false
	}
	res, err := e.c.Eval(n, ins)
	if err != nil || len(res) != 1 || res[0] == nil || res[0].DType != ir.Float32 || res[0].Len() != 256 {
		return out, false
	}
	copy(out[:], res[0].F32())
	e.floatOp = true
	return out, true
}

// dequant evaluates DQ(t): (float32(t) − zp)·scale, where t is the source or the output of a Q inside the region.
func (e *qlut) dequant(n *ir.Node) ([256]float32, bool) {
	var out [256]float32
	if len(n.Inputs) < 2 || n.AttrInt("block_size", 0) != 0 {
		return out, false
	}
	s, zp, dt, ok := e.params(n)
	if !ok {
		return out, false
	}
	t := n.Inputs[0]
	if n.Input(2) == "" { // zero point 0 of x's own type
		ty, ok := e.c.G.TypeOfValue(t)
		if !ok || (ty.DType != ir.Int8 && ty.DType != ir.Uint8) {
			return out, false
		}
		dt = ty.DType
	}
	var ints [256]int
	if t != e.src {
		saved := *e
		if q, ok := e.interior(t); ok {
			ints = q
		} else {
			*e = saved
			t = ""
		}
	} else {
		t = ""
	}
	if t == "" { // a leaf: the source itself
		t = n.Inputs[0]
		if e.src != "" && e.src != t {
			return out, false
		}
		if e.src == "" {
			e.src, e.signed, e.rank = t, dt == ir.Int8, -1
			if ty, ok := e.c.G.TypeOfValue(t); ok && ty.HasShape {
				e.rank = len(ty.Shape)
			}
			if ty, ok := e.c.G.TypeOfValue(t); ok && ty.DType != ir.Undefined && ty.DType != dt {
				return out, false
			}
		}
		if e.signed != (dt == ir.Int8) {
			return out, false
		}
		for i := range ints {
			ints[i] = i
			if e.signed {
				ints[i] = int(int8(uint8(i)))
			}
		}
	}
	for i, v := range ints {
		out[i] = (float32(v) - float32(zp)) * s
	}
	return out, true
}

// interior evaluates an 8-bit value inside the region: a QuantizeLinear's output, or a QLookup (an earlier
// rewrite of this pass) applied to a value inside the region or to the source.
func (e *qlut) interior(t string) ([256]int, bool) {
	var out [256]int
	p := e.c.Producer(t)
	if p == nil {
		return out, false
	}
	if p.OpType == "QuantizeLinear" && p.IsDefaultDomain() {
		q, _, ok := e.quant(p)
		return q, ok
	}
	if p.OpType != ir.OpQLookup || p.Domain != ir.DomainHone || len(p.Inputs) != 2 {
		return out, false
	}
	table := e.c.Const(p.Inputs[1])
	if table == nil || table.Len() != 256 || (table.DType != ir.Int8 && table.DType != ir.Uint8) {
		return out, false
	}
	x := p.Inputs[0]
	var idx [256]int // the lookup's input byte for each source byte
	if e.nodes++; e.nodes > qLookupMaxNodes {
		return out, false
	}
	if in, ok := e.interior(x); ok {
		for i, v := range in {
			idx[i] = int(uint8(v))
		}
	} else {
		ty, ok := e.c.G.TypeOfValue(x)
		if !ok || (ty.DType != ir.Int8 && ty.DType != ir.Uint8) || (e.src != "" && e.src != x) {
			return out, false
		}
		if e.src == "" {
			e.src, e.signed, e.rank = x, ty.DType == ir.Int8, -1
			if ty.HasShape {
				e.rank = len(ty.Shape)
			}
		}
		for i := range idx {
			idx[i] = i
		}
	}
	b := table.Bytes()
	for i, j := range idx {
		out[i] = int(b[j])
		if table.DType == ir.Int8 {
			out[i] = int(int8(b[j]))
		}
	}
	return out, true
}
