package ir

import (
	"fmt"
	"math"
	"slices"
)

// inferNode returns the output types of n (zero Type where unknown) and records shape values it can compute.
func (c *inferCtx) inferNode(n *Node) ([]Type, error) {
	in := make([]Type, len(n.Inputs))
	for i, name := range n.Inputs {
		if name != "" {
			in[i] = c.typeOf(name)
		}
	}
	x := Type{}
	if len(in) > 0 {
		x = in[0]
	}
	if n.Domain == DomainHone {
		switch n.OpType {
		case OpFusedConv:
			return c.inferConv(n, in, false)
		case OpFusedGemm:
			return inferGemm(n, in)
		case OpFusedConvTranspose:
			return c.inferConv(n, in, true)
		case OpQConvTranspose:
			t, err := c.inferConv(n, in, true)
			if len(t) == 1 {
				t[0].DType = Float32
				if len(in) > 8 && in[8].DType != Undefined {
					t[0].DType = in[8].DType
				}
			}
			return t, err
		case OpQConvFloat:
			t, err := c.inferConv(n, in, false)
			if len(t) == 1 {
				t[0].DType = Float32
			}
			return t, err
		case OpMatMulPerm:
			return inferMatMulPerm(n, in)
		case OpGeluTanh:
			return []Type{x}, nil
		case OpActDynamicQuantize:
			return []Type{{DType: Uint8, Shape: x.Shape, HasShape: x.HasShape}, ranked(Float32, nil), ranked(Uint8, nil)}, nil
		case OpQLookup:
			if len(in) < 2 {
				return nil, nil
			}
			return []Type{{DType: in[1].DType, Shape: x.Shape, HasShape: x.HasShape}}, nil
		}
		return nil, nil
	}
	if !n.IsDefaultDomain() {
		return nil, nil
	}
	opset := c.opsets[""]
	switch n.OpType {
	case "Identity":
		c.copyVal(n.Outputs[0], n.Inputs[0])
		return []Type{x}, nil
	case "Relu", "Sigmoid", "Tanh", "Abs", "Neg", "Exp", "Log", "Sqrt", "Reciprocal", "Floor", "Ceil", "Round",
		"Erf", "Clip", "LeakyRelu", "HardSigmoid", "HardSwish", "Elu", "Selu", "Celu", "Softplus", "Softsign",
		"Gelu", "Mish", "Softmax", "LogSoftmax", "Hardmax", "Sin", "Cos", "Tan", "Asin", "Acos", "Atan", "Sinh",
		"Cosh", "Asinh", "Acosh", "Atanh", "Sign", "ThresholdedRelu", "Shrink", "LRN", "InstanceNormalization",
		"CumSum", "MeanVarianceNormalization", "BatchNormalization", "LayerNormalization", "PRelu", "Trilu",
		"ReverseSequence", "Dropout":
		return c.sameAsInput(n, x)
	case "Not", "IsNaN", "IsInf":
		return []Type{{DType: Bool, Shape: x.Shape, HasShape: x.HasShape}}, nil
	case "Add", "Sub", "Mul", "Div", "Pow", "Mod", "And", "Or", "Xor", "BitShift", "Max", "Min", "Sum", "Mean",
		"Equal", "Less", "Greater", "LessOrEqual", "GreaterOrEqual", "BitwiseAnd", "BitwiseOr", "BitwiseXor":
		return c.inferElementwise(n, in)
	case "Where":
		t, err := broadcastAll(in)
		if err != nil || len(in) < 3 {
			return nil, err
		}
		t.DType = in[1].DType
		return []Type{t}, nil
	case "Cast":
		c.copyVal(n.Outputs[0], n.Inputs[0])
		return []Type{{DType: DType(n.AttrInt("to", 0)), Shape: x.Shape, HasShape: x.HasShape}}, nil
	case "CastLike":
		return []Type{{DType: in[1].DType, Shape: x.Shape, HasShape: x.HasShape}}, nil
	case "QuantizeLinear":
		dt := Uint8
		if len(in) > 2 && in[2].DType != Undefined {
			dt = in[2].DType
		}
		return []Type{{DType: dt, Shape: x.Shape, HasShape: x.HasShape}}, nil
	case "DynamicQuantizeLinear": // y (uint8, x's shape), y_scale (float32 scalar), y_zero_point (uint8 scalar)
		return []Type{{DType: Uint8, Shape: x.Shape, HasShape: x.HasShape}, ranked(Float32, nil), ranked(Uint8, nil)}, nil
	case "DequantizeLinear":
		dt := Float32
		if len(in) > 1 && in[1].DType != Undefined {
			dt = in[1].DType
		}
		return []Type{{DType: dt, Shape: x.Shape, HasShape: x.HasShape}}, nil
	case "Conv", "ConvInteger":
		return c.inferConv(n, in, false)
	case "ConvTranspose":
		return c.inferConv(n, in, true)
	case "MaxPool", "AveragePool", "LpPool":
		return c.inferPool(n, x)
	case "GlobalAveragePool", "GlobalMaxPool", "GlobalLpPool":
		if !x.HasShape || len(x.Shape) < 2 {
			return []Type{{DType: x.DType}}, nil
		}
		d := append([]Dim(nil), x.Shape[:2]...)
		for range x.Shape[2:] {
			d = append(d, DimOf(1))
		}
		return []Type{ranked(x.DType, d)}, nil
	case "MatMul", "MatMulInteger":
		return inferMatMul(n, in)
	case "Gemm":
		return inferGemm(n, in)
	case "Flatten":
		if !x.HasShape {
			return []Type{{DType: x.DType}}, nil
		}
		// Flatten's axis lies in [-r, r]; a negative one counts from r, not from r+1.
		axis64 := n.AttrInt("axis", 1)
		if axis64 < 0 {
			axis64 += int64(len(x.Shape))
		}
		axis, ok := normAxis(axis64, len(x.Shape)+1)
		if !ok {
			return nil, fmt.Errorf("axis %d out of range for rank %d", n.AttrInt("axis", 1), len(x.Shape))
		}
		return []Type{ranked(x.DType, []Dim{prod(x.Shape[:axis]), prod(x.Shape[axis:])})}, nil
	case "Transpose":
		if !x.HasShape {
			return []Type{{DType: x.DType}}, nil
		}
		r := len(x.Shape)
		perm := n.AttrInts("perm", nil)
		if perm == nil {
			for i := r - 1; i >= 0; i-- {
				perm = append(perm, int64(i))
			}
		}
		if len(perm) != r {
			return nil, fmt.Errorf("perm %v does not match rank %d", perm, r)
		}
		d := make([]Dim, r)
		for i, p := range perm {
			a, ok := normAxis(p, r)
			if !ok {
				return nil, fmt.Errorf("perm %v out of range", perm)
			}
			d[i] = x.Shape[a]
		}
		return []Type{ranked(x.DType, d)}, nil
	case "Concat":
		return c.inferConcat(n, in)
	case "Reshape":
		return c.inferReshape(n, x, opset)
	case "Squeeze":
		return c.inferSqueeze(n, x, opset)
	case "Unsqueeze":
		return c.inferUnsqueeze(n, x, opset)
	case "Shape":
		return c.inferShapeOp(n, x)
	case "Size":
		if s, ok := x.Static(); ok && x.HasShape {
			c.vals[n.Outputs[0]] = shapeVal{dims: []Dim{DimOf(int64(NumElements(s)))}, scalar: true}
		}
		return []Type{ranked(Int64, nil)}, nil
	case "Gather":
		return c.inferGather(n, in)
	case "Slice":
		return c.inferSlice(n, x, opset)
	case "Split":
		return c.inferSplit(n, x, opset)
	case "ReduceMean", "ReduceSum", "ReduceMax", "ReduceMin", "ReduceProd", "ReduceL1", "ReduceL2",
		"ReduceLogSum", "ReduceLogSumExp", "ReduceSumSquare":
		return c.inferReduce(n, x, opset)
	case "ArgMax", "ArgMin":
		t, err := reduceType(x, []int64{n.AttrInt("axis", 0)}, n.AttrInt("keepdims", 1) != 0, false)
		t.DType = Int64
		return []Type{t}, err
	case "Resize", "Upsample":
		return c.inferResize(n, x, opset)
	case "ConstantOfShape":
		dt := Float32
		if a := n.Attr("value"); a != nil && a.T != nil {
			dt = a.T.DType
		}
		v, ok := c.valOf(n.Input(0))
		if !ok {
			return []Type{{DType: dt}}, nil
		}
		return []Type{ranked(dt, dimsOfVal(v))}, nil
	case "Constant":
		return c.inferConstant(n)
	case "Expand":
		v, ok := c.valOf(n.Input(1))
		if !ok || !x.HasShape {
			return []Type{{DType: x.DType}}, nil
		}
		d, err := broadcast(x.Shape, dimsOfVal(v))
		return []Type{ranked(x.DType, d)}, err
	case "Tile":
		reps, ok := c.intsOf(n.Input(1))
		if !ok || !x.HasShape || len(reps) != len(x.Shape) {
			return []Type{{DType: x.DType}}, nil
		}
		d := make([]Dim, len(reps))
		for i, r := range reps {
			d[i] = dimMul(x.Shape[i], DimOf(r))
		}
		return []Type{ranked(x.DType, d)}, nil
	case "Pad":
		return c.inferPad(n, x, opset)
	case "Range":
		return c.inferRange(n, in)
	case "NonZero":
		if !x.HasShape {
			return []Type{{DType: Int64}}, nil
		}
		return []Type{ranked(Int64, []Dim{DimOf(int64(len(x.Shape))), {Size: -1}})}, nil
	case "TopK":
		if !x.HasShape {
			return []Type{{DType: x.DType}, {DType: Int64}}, nil
		}
		axis, ok := normAxis(n.AttrInt("axis", -1), len(x.Shape))
		if !ok {
			return nil, fmt.Errorf("axis out of range")
		}
		d := append([]Dim(nil), x.Shape...)
		d[axis] = Dim{Size: -1}
		if k, ok := c.intsOf(n.Input(1)); ok && len(k) == 1 {
			d[axis] = DimOf(k[0])
		}
		return []Type{ranked(x.DType, d), ranked(Int64, d)}, nil
	case "DepthToSpace", "SpaceToDepth":
		if !x.HasShape || len(x.Shape) != 4 {
			return []Type{{DType: x.DType}}, nil
		}
		b := n.AttrInt("blocksize", 1)
		d := append([]Dim(nil), x.Shape...)
		if n.OpType == "DepthToSpace" {
			d[1], d[2], d[3] = dimDiv(d[1], b*b), dimMul(d[2], DimOf(b)), dimMul(d[3], DimOf(b))
		} else {
			d[1], d[2], d[3] = dimMul(d[1], DimOf(b*b)), dimDiv(d[2], b), dimDiv(d[3], b)
		}
		return []Type{ranked(x.DType, d)}, nil
	case "If":
		return c.inferIf(n)
	}
	// Ops whose shapes are not inferred here still give their first output the dtype of one input: passes that
	// retype values (fp16 conversion) must know a float tensor flows through them.
	if k, ok := dtypeFrom[n.OpType]; ok && k < len(in) && in[k].DType != Undefined {
		return []Type{{DType: in[k].DType}}, nil
	}
	return nil, nil
}

// dtypeFrom maps ops inferNode has no shape rule for to the input whose dtype their first output has.
var dtypeFrom = map[string]int{
	"GatherElements": 0, "GatherND": 0, "ScatterElements": 0, "ScatterND": 0, "Scatter": 0, "Compress": 0,
	"Einsum": 0, "OneHot": 2, "MaxUnpool": 0, "LpNormalization": 0, "RoiAlign": 0, "MaxRoiPool": 0, "GridSample": 0,
	"Col2Im": 0, "CenterCropPad": 0, "Det": 0, "GroupNormalization": 0, "NegativeLogLikelihoodLoss": 0,
	"SoftmaxCrossEntropyLoss": 0, "DFT": 0, "STFT": 0, "Unique": 0,
}

func (c *inferCtx) sameAsInput(n *Node, x Type) ([]Type, error) {
	out := []Type{x}
	if n.OpType == "Dropout" && len(n.Outputs) > 1 {
		out = append(out, Type{DType: Bool, Shape: x.Shape, HasShape: x.HasShape})
	}
	return out, nil
}

// copyVal forwards a shape value through a value-preserving op.
func (c *inferCtx) copyVal(dst, src string) {
	if v, ok := c.valOf(src); ok {
		c.vals[dst] = v
	}
}

func prod(ds []Dim) Dim {
	p := DimOf(1)
	for _, d := range ds {
		if !d.Known() {
			return Dim{Size: -1}
		}
		p = dimMul(p, d)
	}
	return p
}

func dimDiv(d Dim, k int64) Dim {
	if d.Known() && k > 0 {
		return DimOf(d.Size / k)
	}
	return Dim{Size: -1}
}

// dimsOfVal turns a shape value used as a shape (Expand, ConstantOfShape) into dims.
func dimsOfVal(v shapeVal) []Dim {
	d := make([]Dim, len(v.dims))
	for i, x := range v.dims {
		d[i] = x
		if x.Param == "#" {
			d[i] = Dim{Size: -1}
		}
	}
	return d
}

func broadcastAll(in []Type) (Type, error) {
	t := Type{HasShape: true}
	for i, x := range in {
		if i == 0 {
			t.DType = x.DType
		}
		if !x.HasShape {
			return Type{DType: t.DType}, nil
		}
		d, err := broadcast(t.Shape, x.Shape)
		if err != nil {
			return Type{}, err
		}
		t.Shape = d
	}
	return t, nil
}

func (c *inferCtx) inferElementwise(n *Node, in []Type) ([]Type, error) {
	var ins []Type
	for i, t := range in {
		if n.Inputs[i] != "" {
			ins = append(ins, t)
		}
	}
	if len(ins) == 2 && ins[0].HasShape && ins[1].HasShape {
		k, err := LegacyBroadcastOnes(n, c.opsets[""], len(ins[0].Shape), len(ins[1].Shape))
		if err != nil {
			return nil, err
		}
		ins[1].Shape = append(slices.Clone(ins[1].Shape), slices.Repeat([]Dim{DimOf(1)}, k)...)
	}
	t, err := broadcastAll(ins)
	if err != nil {
		return nil, err
	}
	switch n.OpType {
	case "Equal", "Less", "Greater", "LessOrEqual", "GreaterOrEqual", "And", "Or", "Xor":
		t.DType = Bool
	}
	c.arithVal(n)
	return []Type{t}, nil
}

// arithVal computes integer arithmetic on shape values where every element involved is a known number;
// other elements become unknown (x·1 and x+0 keep a symbol).
func (c *inferCtx) arithVal(n *Node) {
	if len(n.Inputs) != 2 {
		return
	}
	a, ok1 := c.valOf(n.Inputs[0])
	b, ok2 := c.valOf(n.Inputs[1])
	if !ok1 || !ok2 {
		return
	}
	la, lb := len(a.dims), len(b.dims)
	if la != lb && la != 1 && lb != 1 {
		return
	}
	out := shapeVal{dims: make([]Dim, max(la, lb)), scalar: a.scalar && b.scalar}
	for i := range out.dims {
		x, y := a.dims[min(i, la-1)], b.dims[min(i, lb-1)]
		xv, xk := literal(x)
		yv, yk := literal(y)
		var r Dim
		switch {
		case xk && yk:
			v, ok := intArith(n.OpType, xv, yv)
			if !ok {
				return
			}
			r = rawDims([]int64{v})[0]
		case yk && ((n.OpType == "Mul" || n.OpType == "Div") && yv == 1 || (n.OpType == "Add" || n.OpType == "Sub") && yv == 0):
			r = x
		case xk && (n.OpType == "Mul" && xv == 1 || n.OpType == "Add" && xv == 0):
			r = y
		default:
			r = Dim{Size: -1}
		}
		out.dims[i] = r
	}
	c.vals[n.Outputs[0]] = out
}

func intArith(op string, a, b int64) (int64, bool) {
	switch op {
	case "Add":
		return a + b, true
	case "Sub":
		return a - b, true
	case "Mul":
		return a * b, true
	case "Div":
		if b == 0 {
			return 0, false
		}
		return a / b, true // ONNX integer Div truncates toward zero, as Go's does
	case "Max":
		return max(a, b), true
	case "Min":
		return min(a, b), true
	}
	return 0, false
}

// convGeometry reads kernel size, strides, dilations and pads for spatial rank r.
type convGeom struct {
	k, s, d, pb, pe []int64
	auto            string
}

func geometry(n *Node, r int, kernel []int64) (convGeom, bool) {
	g := convGeom{k: kernel, auto: n.AttrString("auto_pad", "NOTSET")}
	if a := n.AttrInts("kernel_shape", nil); a != nil {
		g.k = a
	}
	ones := func() []int64 {
		o := make([]int64, r)
		for i := range o {
			o[i] = 1
		}
		return o
	}
	g.s, g.d = n.AttrInts("strides", ones()), n.AttrInts("dilations", ones())
	pads := n.AttrInts("pads", make([]int64, 2*r))
	if len(g.k) != r || len(g.s) != r || len(g.d) != r || len(pads) != 2*r {
		return g, false
	}
	g.pb, g.pe = pads[:r], pads[r:]
	return g, true
}

func (c *inferCtx) inferConv(n *Node, in []Type, transpose bool) ([]Type, error) {
	x := in[0]
	dt := x.DType
	if n.OpType == "ConvInteger" {
		dt = Int32
	}
	var w Type
	if len(in) > 1 {
		w = in[1]
	}
	if !x.HasShape || !w.HasShape || len(x.Shape) < 3 || len(w.Shape) != len(x.Shape) {
		return []Type{{DType: dt}}, nil
	}
	r := len(x.Shape) - 2
	group := n.AttrInt("group", 1)
	var kernel []int64
	for _, d := range w.Shape[2:] {
		kernel = append(kernel, d.Size)
	}
	g, ok := geometry(n, r, kernel)
	if !ok {
		return nil, fmt.Errorf("kernel/strides/dilations/pads do not match spatial rank %d", r)
	}
	out := []Dim{x.Shape[0], w.Shape[0]}
	if transpose {
		out[1] = dimMul(w.Shape[1], DimOf(group))
	} else if x.Shape[1].Known() && w.Shape[1].Known() && x.Shape[1].Size != w.Shape[1].Size*group {
		return nil, fmt.Errorf("input has %d channels, weights expect %d×%d groups", x.Shape[1].Size, w.Shape[1].Size, group)
	}
	outShape := n.AttrInts("output_shape", nil)
	outPad := n.AttrInts("output_padding", make([]int64, r))
	for i := 0; i < r; i++ {
		in, k := x.Shape[2+i], g.k[i]
		if transpose && len(outShape) == r {
			out = append(out, DimOf(outShape[i]))
			continue
		}
		if !in.Known() || k < 0 {
			out = append(out, Dim{Size: -1})
			continue
		}
		ek := (k-1)*g.d[i] + 1
		var o int64
		switch {
		case transpose && (g.auto == "SAME_UPPER" || g.auto == "SAME_LOWER"):
			o = in.Size * g.s[i]
		case transpose:
			pb, pe := g.pb[i], g.pe[i]
			if g.auto == "VALID" {
				pb, pe = 0, 0
			}
			o = g.s[i]*(in.Size-1) + outPad[min(i, len(outPad)-1)] + ek - pb - pe
		case g.auto == "SAME_UPPER" || g.auto == "SAME_LOWER":
			o = (in.Size + g.s[i] - 1) / g.s[i]
		default:
			pb, pe := g.pb[i], g.pe[i]
			if g.auto == "VALID" {
				pb, pe = 0, 0
			}
			o = (in.Size+pb+pe-ek)/g.s[i] + 1
		}
		if o < 0 {
			return nil, fmt.Errorf("spatial dimension %d would be %d", i, o)
		}
		out = append(out, DimOf(o))
	}
	return []Type{ranked(dt, out)}, nil
}

func (c *inferCtx) inferPool(n *Node, x Type) ([]Type, error) {
	if !x.HasShape || len(x.Shape) < 3 {
		return []Type{{DType: x.DType}, {DType: Int64}}, nil
	}
	r := len(x.Shape) - 2
	g, ok := geometry(n, r, nil)
	if !ok {
		return nil, fmt.Errorf("kernel_shape/strides/dilations/pads do not match spatial rank %d", r)
	}
	ceil := n.AttrInt("ceil_mode", 0) != 0
	out := append([]Dim(nil), x.Shape[:2]...)
	for i := 0; i < r; i++ {
		in := x.Shape[2+i]
		if !in.Known() {
			out = append(out, Dim{Size: -1})
			continue
		}
		ek := (g.k[i]-1)*g.d[i] + 1
		var o int64
		switch g.auto {
		case "SAME_UPPER", "SAME_LOWER":
			o = (in.Size + g.s[i] - 1) / g.s[i]
		case "VALID":
			o = (in.Size-ek)/g.s[i] + 1
			if ceil {
				o = (in.Size-ek+g.s[i]-1)/g.s[i] + 1
			}
		default:
			span := in.Size + g.pb[i] + g.pe[i] - ek
			o = span/g.s[i] + 1
			if ceil {
				o = (span+g.s[i]-1)/g.s[i] + 1
				// A last window starting inside the end padding is dropped by some implementations and
				// not others; leave that case unknown rather than pick one.
				if (o-1)*g.s[i] >= in.Size+g.pb[i] {
					out = append(out, Dim{Size: -1})
					continue
				}
			}
		}
		out = append(out, DimOf(o))
	}
	return []Type{ranked(x.DType, out), ranked(Int64, out)}, nil
}

func inferMatMul(n *Node, in []Type) ([]Type, error) {
	a, b := in[0], in[1]
	dt := a.DType
	if n.OpType == "MatMulInteger" {
		dt = Int32
	}
	if !a.HasShape || !b.HasShape || len(a.Shape) == 0 || len(b.Shape) == 0 {
		return []Type{{DType: dt}}, nil
	}
	as, bs := a.Shape, b.Shape
	if len(as) == 1 {
		as = []Dim{DimOf(1), as[0]}
	}
	if len(bs) == 1 {
		bs = []Dim{bs[0], DimOf(1)}
	}
	if _, err := sameDim(as[len(as)-1], bs[len(bs)-2]); err != nil {
		return nil, fmt.Errorf("inner dimensions: %w", err)
	}
	batch, err := broadcast(as[:len(as)-2], bs[:len(bs)-2])
	if err != nil {
		return nil, err
	}
	out := batch
	if len(a.Shape) > 1 {
		out = append(out, as[len(as)-2])
	}
	if len(b.Shape) > 1 {
		out = append(out, bs[len(bs)-1])
	}
	return []Type{ranked(dt, out)}, nil
}

// inferMatMulPerm permutes A's and B's shapes, infers MatMul's result and permutes it (see OpMatMulPerm).
func inferMatMulPerm(n *Node, in []Type) ([]Type, error) {
	if len(in) < 2 {
		return nil, fmt.Errorf("needs A and B")
	}
	permuted := func(t Type, attr string) (Type, error) {
		perm := n.AttrInts(attr, nil)
		if perm == nil || !t.HasShape {
			return t, nil
		}
		if len(perm) != len(t.Shape) {
			return t, fmt.Errorf("%s %v does not match rank %d", attr, perm, len(t.Shape))
		}
		out := make([]Dim, len(perm))
		for i, p := range perm {
			if p < 0 || int(p) >= len(t.Shape) {
				return t, fmt.Errorf("%s %v out of range", attr, perm)
			}
			out[i] = t.Shape[p]
		}
		return ranked(t.DType, out), nil
	}
	a, err := permuted(in[0], "perm_a")
	if err != nil {
		return nil, err
	}
	b, err := permuted(in[1], "perm_b")
	if err != nil {
		return nil, err
	}
	y, err := inferMatMul(n, []Type{a, b})
	if err != nil || len(y) != 1 {
		return y, err
	}
	y[0], err = permuted(y[0], "perm_y")
	return y, err
}

func inferGemm(n *Node, in []Type) ([]Type, error) {
	a, b := in[0], in[1]
	if !a.HasShape || !b.HasShape || len(a.Shape) != 2 || len(b.Shape) != 2 {
		return []Type{{DType: a.DType}}, nil
	}
	m, ka := a.Shape[0], a.Shape[1]
	if n.AttrInt("transA", 0) != 0 {
		m, ka = ka, m
	}
	kb, nn := b.Shape[0], b.Shape[1]
	if n.AttrInt("transB", 0) != 0 {
		kb, nn = nn, kb
	}
	if _, err := sameDim(ka, kb); err != nil {
		return nil, fmt.Errorf("inner dimensions: %w", err)
	}
	return []Type{ranked(a.DType, []Dim{m, nn})}, nil
}

func (c *inferCtx) inferConcat(n *Node, in []Type) ([]Type, error) {
	var dt DType
	var shape []Dim
	rank := -1
	for _, t := range in {
		if dt == Undefined {
			dt = t.DType
		}
		if t.HasShape {
			rank = len(t.Shape)
		}
	}
	// Concatenated shape values (Shape→Concat→Reshape) are tracked element by element.
	var vals []Dim
	allVals := true
	for _, name := range n.Inputs {
		v, ok := c.valOf(name)
		if !ok || v.scalar {
			allVals = false
			break
		}
		vals = append(vals, v.dims...)
	}
	if allVals && len(n.Inputs) > 0 {
		c.vals[n.Outputs[0]] = shapeVal{dims: vals}
	}
	if rank < 0 {
		return []Type{{DType: dt}}, nil
	}
	axis, ok := normAxis(n.AttrInt("axis", 0), rank)
	if !ok {
		return nil, fmt.Errorf("axis %d out of range for rank %d", n.AttrInt("axis", 0), rank)
	}
	shape = unknownDims(rank)
	sum := DimOf(0)
	for i, t := range in {
		if !t.HasShape {
			sum = Dim{Size: -1}
			continue
		}
		if len(t.Shape) != rank {
			return nil, fmt.Errorf("input %d has rank %d, others %d", i, len(t.Shape), rank)
		}
		for j, d := range t.Shape {
			if j == axis {
				if sum.Known() && d.Known() {
					sum = DimOf(sum.Size + d.Size)
				} else {
					sum = Dim{Size: -1}
				}
				continue
			}
			m, err := sameDim(shape[j], d)
			if err != nil {
				return nil, fmt.Errorf("input %d: axis %d: %w", i, j, err)
			}
			shape[j] = m
		}
	}
	shape[axis] = sum
	return []Type{ranked(dt, shape)}, nil
}

func (c *inferCtx) inferReshape(n *Node, x Type, opset int64) ([]Type, error) {
	var v shapeVal
	var ok bool
	if opset < 5 {
		if s := n.AttrInts("shape", nil); s != nil {
			v, ok = shapeVal{dims: rawDims(s)}, true
		}
	} else {
		v, ok = c.valOf(n.Input(1))
	}
	c.copyVal(n.Outputs[0], n.Inputs[0])
	if !ok {
		// The shape input's length still fixes the rank.
		if st := c.typeOf(n.Input(1)); st.HasShape && len(st.Shape) == 1 && st.Shape[0].Known() {
			return []Type{ranked(x.DType, unknownDims(int(st.Shape[0].Size)))}, nil
		}
		return []Type{{DType: x.DType}}, nil
	}
	allowZero := n.AttrInt("allowzero", 0) != 0
	out := make([]Dim, len(v.dims))
	infer := -1
	for i, d := range v.dims {
		lit, isLit := literal(d)
		switch {
		case isLit && lit == 0 && !allowZero:
			if !x.HasShape || i >= len(x.Shape) {
				out[i] = Dim{Size: -1}
				if x.HasShape {
					return nil, fmt.Errorf("shape entry %d is 0 but the input has rank %d", i, len(x.Shape))
				}
			} else {
				out[i] = x.Shape[i]
			}
		case isLit && lit == -1:
			if infer >= 0 {
				return nil, fmt.Errorf("shape has two -1 entries")
			}
			infer = i
			out[i] = Dim{Size: -1}
		case isLit && lit < -1:
			return nil, fmt.Errorf("shape entry %d is %d", i, lit)
		default:
			out[i] = d
		}
	}
	if infer >= 0 && x.HasShape {
		// The -1 entry is the input's element count over the others', when all are known; or a symbol when
		// the only unknowns on both sides are the same symbols.
		num, den := symbolicProduct(x.Shape), symbolicProduct(removeAt(out, infer))
		out[infer] = num.div(den)
	}
	return []Type{ranked(x.DType, out)}, nil
}

func removeAt(d []Dim, i int) []Dim {
	return append(append([]Dim(nil), d[:i]...), d[i+1:]...)
}

// symProd is a product of a known factor and named symbols; ok is false if an anonymous unknown is involved.
type symProd struct {
	k    int64
	syms map[string]int
	ok   bool
}

func symbolicProduct(ds []Dim) symProd {
	p := symProd{k: 1, syms: map[string]int{}, ok: true}
	for _, d := range ds {
		switch {
		case d.Known():
			p.k *= d.Size
		case d.Param != "":
			p.syms[d.Param]++
		default:
			p.ok = false
		}
	}
	return p
}

// div returns num/den as a dim: known if the symbols cancel and the division is exact, the remaining symbol if
// exactly one is left with a unit factor, else unknown.
func (p symProd) div(q symProd) Dim {
	if !p.ok || !q.ok || q.k == 0 || p.k%q.k != 0 {
		return Dim{Size: -1}
	}
	left := map[string]int{}
	for s, n := range p.syms {
		left[s] = n
	}
	for s, n := range q.syms {
		left[s] -= n
		if left[s] < 0 {
			return Dim{Size: -1}
		}
		if left[s] == 0 {
			delete(left, s)
		}
	}
	k := p.k / q.k
	switch {
	case len(left) == 0:
		return DimOf(k)
	case len(left) == 1 && k == 1:
		for s, n := range left {
			if n == 1 {
				return SymDim(s)
			}
		}
	}
	return Dim{Size: -1}
}

// axesOf reads reduction/squeeze axes from an attribute (older opsets) or a constant input (newer).
func (c *inferCtx) axesOf(n *Node, fromInput bool, input int) ([]int64, bool) {
	if !fromInput {
		a := n.Attr("axes")
		if a == nil {
			return nil, true
		}
		return a.Ints, true
	}
	if n.Input(input) == "" {
		return nil, true
	}
	return c.intsOf(n.Input(input))
}

func (c *inferCtx) inferSqueeze(n *Node, x Type, opset int64) ([]Type, error) {
	axes, ok := c.axesOf(n, opset >= 13, 1)
	c.squeezeVal(n)
	if !ok || !x.HasShape {
		return []Type{{DType: x.DType}}, nil
	}
	drop := map[int]bool{}
	if axes == nil {
		for i, d := range x.Shape {
			if !d.Known() {
				return []Type{{DType: x.DType}}, nil // whether it is 1 decides the rank
			}
			if d.Size == 1 {
				drop[i] = true
			}
		}
	}
	for _, a := range axes {
		i, ok := normAxis(a, len(x.Shape))
		if !ok {
			return nil, fmt.Errorf("axis %d out of range for rank %d", a, len(x.Shape))
		}
		if d := x.Shape[i]; d.Known() && d.Size != 1 {
			return nil, fmt.Errorf("cannot squeeze axis %d of size %d", a, d.Size)
		}
		drop[i] = true
	}
	var out []Dim
	for i, d := range x.Shape {
		if !drop[i] {
			out = append(out, d)
		}
	}
	return []Type{ranked(x.DType, out)}, nil
}

// squeezeVal turns a one-element shape value into a scalar one and back (Squeeze/Unsqueeze around Gather).
func (c *inferCtx) squeezeVal(n *Node) {
	v, ok := c.valOf(n.Input(0))
	if !ok || len(v.dims) != 1 {
		return
	}
	c.vals[n.Outputs[0]] = shapeVal{dims: v.dims, scalar: n.OpType == "Squeeze"}
}

func (c *inferCtx) inferUnsqueeze(n *Node, x Type, opset int64) ([]Type, error) {
	axes, ok := c.axesOf(n, opset >= 13, 1)
	c.squeezeVal(n)
	if !ok || axes == nil || !x.HasShape {
		return []Type{{DType: x.DType}}, nil
	}
	r := len(x.Shape) + len(axes)
	ins := map[int]bool{}
	for _, a := range axes {
		i, ok := normAxis(a, r)
		if !ok || ins[i] {
			return nil, fmt.Errorf("axes %v invalid for output rank %d", axes, r)
		}
		ins[i] = true
	}
	out := make([]Dim, 0, r)
	j := 0
	for i := 0; i < r; i++ {
		if ins[i] {
			out = append(out, DimOf(1))
		} else {
			out = append(out, x.Shape[j])
			j++
		}
	}
	return []Type{ranked(x.DType, out)}, nil
}

func (c *inferCtx) inferShapeOp(n *Node, x Type) ([]Type, error) {
	if !x.HasShape {
		return []Type{{DType: Int64, Shape: []Dim{{Size: -1}}, HasShape: true}}, nil
	}
	r := len(x.Shape)
	clamp := func(v int64) int {
		if v < 0 {
			v += int64(r)
		}
		return int(min(max(v, 0), int64(r)))
	}
	start, end := clamp(n.AttrInt("start", 0)), clamp(n.AttrInt("end", int64(r)))
	end = max(end, start)
	c.vals[n.Outputs[0]] = shapeVal{dims: append([]Dim(nil), x.Shape[start:end]...)}
	return []Type{ranked(Int64, []Dim{DimOf(int64(end - start))})}, nil
}

func (c *inferCtx) inferGather(n *Node, in []Type) ([]Type, error) {
	x, idx := in[0], in[1]
	axis := n.AttrInt("axis", 0)
	if v, ok := c.valOf(n.Inputs[0]); ok && !v.scalar {
		if ids, ok := c.intsOf(n.Inputs[1]); ok {
			out := shapeVal{scalar: idx.HasShape && len(idx.Shape) == 0}
			for _, i := range ids {
				if i < 0 {
					i += int64(len(v.dims))
				}
				if i < 0 || i >= int64(len(v.dims)) {
					return nil, fmt.Errorf("index %d out of range for %d elements", i, len(v.dims))
				}
				out.dims = append(out.dims, v.dims[i])
			}
			c.vals[n.Outputs[0]] = out
		}
	}
	if !x.HasShape || !idx.HasShape {
		return []Type{{DType: x.DType}}, nil
	}
	a, ok := normAxis(axis, len(x.Shape))
	if !ok {
		return nil, fmt.Errorf("axis %d out of range for rank %d", axis, len(x.Shape))
	}
	out := append([]Dim(nil), x.Shape[:a]...)
	out = append(out, idx.Shape...)
	out = append(out, x.Shape[a+1:]...)
	return []Type{ranked(x.DType, out)}, nil
}

func (c *inferCtx) inferSlice(n *Node, x Type, opset int64) ([]Type, error) {
	var starts, ends, axes, steps []int64
	ok := true
	if opset < 10 {
		starts, ends, axes = n.AttrInts("starts", nil), n.AttrInts("ends", nil), n.AttrInts("axes", nil)
	} else {
		var ok1, ok2, ok3, ok4 bool
		starts, ok1 = c.intsOf(n.Input(1))
		ends, ok2 = c.intsOf(n.Input(2))
		axes, ok3 = c.optInts(n.Input(3))
		steps, ok4 = c.optInts(n.Input(4))
		ok = ok1 && ok2 && ok3 && ok4
	}
	if !ok || len(starts) != len(ends) || (axes != nil && len(axes) != len(starts)) || (steps != nil && len(steps) != len(starts)) {
		if x.HasShape {
			return []Type{ranked(x.DType, unknownDims(len(x.Shape)))}, nil
		}
		return []Type{{DType: x.DType}}, nil
	}
	if axes == nil {
		for i := range starts {
			axes = append(axes, int64(i))
		}
	}
	if steps == nil {
		for range starts {
			steps = append(steps, 1)
		}
	}
	// A 1-D shape value sliced along axis 0 keeps its elements.
	if v, vok := c.valOf(n.Inputs[0]); vok && !v.scalar && len(axes) == 1 {
		if a, aok := normAxis(axes[0], 1); aok && a == 0 {
			if b, e, ok := sliceRange(starts[0], ends[0], steps[0], int64(len(v.dims))); ok {
				var d []Dim
				for i := b; (steps[0] > 0 && i < e) || (steps[0] < 0 && i > e); i += steps[0] {
					d = append(d, v.dims[i])
				}
				c.vals[n.Outputs[0]] = shapeVal{dims: d}
			}
		}
	}
	if !x.HasShape {
		return []Type{{DType: x.DType}}, nil
	}
	out := append([]Dim(nil), x.Shape...)
	for i, ax := range axes {
		a, ok := normAxis(ax, len(x.Shape))
		if !ok {
			return nil, fmt.Errorf("axis %d out of range for rank %d", ax, len(x.Shape))
		}
		if steps[i] == 0 {
			return nil, fmt.Errorf("step is 0")
		}
		d := x.Shape[a]
		if !d.Known() {
			// Only the full slice keeps an unknown dimension, symbol included.
			if starts[i] == 0 && steps[i] == 1 && ends[i] >= math.MaxInt32 {
				continue
			}
			out[a] = Dim{Size: -1}
			continue
		}
		b, e, _ := sliceRange(starts[i], ends[i], steps[i], d.Size)
		cnt := int64(0)
		if steps[i] > 0 && e > b {
			cnt = (e - b + steps[i] - 1) / steps[i]
		} else if steps[i] < 0 && b > e {
			cnt = (b - e - steps[i] - 1) / -steps[i]
		}
		out[a] = DimOf(cnt)
	}
	return []Type{ranked(x.DType, out)}, nil
}

// sliceRange clamps start/end as ONNX Slice does for a dimension of size dim.
func sliceRange(start, end, step, dim int64) (int64, int64, bool) {
	if step == 0 {
		return 0, 0, false
	}
	if start < 0 {
		start += dim
	}
	if end < 0 {
		end += dim
	}
	if step > 0 {
		start = min(max(start, 0), dim)
		end = min(max(end, 0), dim)
	} else {
		start = min(max(start, 0), dim-1)
		end = min(max(end, -1), dim-1)
	}
	return start, end, true
}

// optInts reads an optional constant integer input: absent is (nil, true).
func (c *inferCtx) optInts(name string) ([]int64, bool) {
	if name == "" {
		return nil, true
	}
	return c.intsOf(name)
}

func (c *inferCtx) inferSplit(n *Node, x Type, opset int64) ([]Type, error) {
	k := len(n.Outputs)
	out := make([]Type, k)
	for i := range out {
		out[i] = Type{DType: x.DType}
	}
	if !x.HasShape {
		return out, nil
	}
	a, ok := normAxis(n.AttrInt("axis", 0), len(x.Shape))
	if !ok {
		return nil, fmt.Errorf("axis %d out of range for rank %d", n.AttrInt("axis", 0), len(x.Shape))
	}
	var split []int64
	if opset < 13 {
		split = n.AttrInts("split", nil)
	} else if n.Input(1) != "" {
		if split, ok = c.intsOf(n.Input(1)); !ok {
			split = nil
			for i := range out {
				out[i] = ranked(x.DType, withDim(x.Shape, a, Dim{Size: -1}))
			}
			return out, nil
		}
	}
	d := x.Shape[a]
	sizes := make([]Dim, k)
	switch {
	case split != nil:
		if len(split) != k {
			return nil, fmt.Errorf("split has %d entries for %d outputs", len(split), k)
		}
		total := int64(0)
		for i, s := range split {
			sizes[i] = DimOf(s)
			total += s
		}
		if d.Known() && total != d.Size {
			return nil, fmt.Errorf("split sizes sum to %d, dimension is %d", total, d.Size)
		}
	case d.Known():
		// Equal parts; from opset 18 the last may be smaller (ceil division).
		part := (d.Size + int64(k) - 1) / int64(k)
		for i := range sizes {
			sizes[i] = DimOf(min(part, max(d.Size-part*int64(i), 0)))
		}
		if d.Size%int64(k) != 0 && opset < 18 {
			return nil, fmt.Errorf("dimension %d does not split into %d equal parts", d.Size, k)
		}
	default:
		for i := range sizes {
			sizes[i] = Dim{Size: -1}
		}
	}
	for i := range out {
		out[i] = ranked(x.DType, withDim(x.Shape, a, sizes[i]))
	}
	return out, nil
}

func withDim(ds []Dim, i int, d Dim) []Dim {
	out := append([]Dim(nil), ds...)
	out[i] = d
	return out
}

func (c *inferCtx) inferReduce(n *Node, x Type, opset int64) ([]Type, error) {
	fromInput := opset >= 18 || (n.OpType == "ReduceSum" && opset >= 13)
	axes, ok := c.axesOf(n, fromInput, 1)
	keep := n.AttrInt("keepdims", 1) != 0
	if !ok {
		if keep && x.HasShape {
			return []Type{ranked(x.DType, unknownDims(len(x.Shape)))}, nil
		}
		return []Type{{DType: x.DType}}, nil
	}
	if len(axes) == 0 && n.AttrInt("noop_with_empty_axes", 0) != 0 {
		return []Type{x}, nil
	}
	t, err := reduceType(x, axes, keep, len(axes) == 0)
	return []Type{t}, err
}

// reduceType drops (or sets to 1) the reduced axes; all reduces every axis.
func reduceType(x Type, axes []int64, keep, all bool) (Type, error) {
	if !x.HasShape {
		return Type{DType: x.DType}, nil
	}
	red := map[int]bool{}
	for _, a := range axes {
		i, ok := normAxis(a, len(x.Shape))
		if !ok {
			return Type{}, fmt.Errorf("axis %d out of range for rank %d", a, len(x.Shape))
		}
		red[i] = true
	}
	out := []Dim{}
	for i, d := range x.Shape {
		switch {
		case !all && !red[i]:
			out = append(out, d)
		case keep:
			out = append(out, DimOf(1))
		}
	}
	return ranked(x.DType, out), nil
}

func (c *inferCtx) inferResize(n *Node, x Type, opset int64) ([]Type, error) {
	if !x.HasShape {
		return []Type{{DType: x.DType}}, nil
	}
	r := len(x.Shape)
	scalesIn, sizesIn := 2, 3
	if n.OpType == "Upsample" || opset < 11 {
		scalesIn, sizesIn = 1, -1
	}
	if n.OpType == "Upsample" && opset < 9 {
		if s := n.AttrFloats("scales", nil); len(s) == r {
			return []Type{ranked(x.DType, scaleDims(x.Shape, s))}, nil
		}
	}
	if sizesIn >= 0 && n.Input(sizesIn) != "" {
		sizes, ok := c.intsOf(n.Input(sizesIn))
		if ok && n.Attr("axes") == nil && len(sizes) == r {
			d := make([]Dim, r)
			for i, s := range sizes {
				d[i] = DimOf(s)
			}
			return []Type{ranked(x.DType, d)}, nil
		}
		return []Type{ranked(x.DType, unknownDims(r))}, nil
	}
	st := c.constOf(n.Input(scalesIn))
	if st == nil || st.DType != Float32 || st.Len() != r || n.Attr("axes") != nil {
		return []Type{ranked(x.DType, unknownDims(r))}, nil
	}
	return []Type{ranked(x.DType, scaleDims(x.Shape, st.F32()))}, nil
}

// scaleDims is floor(dim·scale), Resize's output size rule; unknown inputs keep their symbol at scale 1.
func scaleDims(ds []Dim, scales []float32) []Dim {
	out := make([]Dim, len(ds))
	for i, d := range ds {
		switch {
		case scales[i] == 1:
			out[i] = d
		case d.Known():
			out[i] = DimOf(int64(math.Floor(float64(d.Size) * float64(scales[i]))))
		default:
			out[i] = Dim{Size: -1}
		}
	}
	return out
}

func (c *inferCtx) inferConstant(n *Node) ([]Type, error) {
	if len(n.Attrs) != 1 {
		return nil, nil
	}
	a := n.Attrs[0]
	var t *Tensor
	switch a.Name {
	case "value":
		t = a.T
	case "value_float":
		t = Scalar(a.F)
	case "value_floats":
		t = FromFloat32([]int{len(a.Floats)}, append([]float32(nil), a.Floats...))
	case "value_int":
		t = FromInt64(nil, []int64{a.I})
	case "value_ints":
		t = FromInt64([]int{len(a.Ints)}, append([]int64(nil), a.Ints...))
	case "value_string":
		return []Type{ranked(String, nil)}, nil
	case "value_strings":
		return []Type{ranked(String, []Dim{DimOf(int64(len(a.Strings)))})}, nil
	}
	if t == nil {
		return nil, nil
	}
	if v, ok := tensorShapeVal(t); ok {
		c.vals[n.Outputs[0]] = v
	}
	c.consts[n.Outputs[0]] = t
	return []Type{TypeOf(t)}, nil
}

func (c *inferCtx) inferPad(n *Node, x Type, opset int64) ([]Type, error) {
	if !x.HasShape {
		return []Type{{DType: x.DType}}, nil
	}
	r := len(x.Shape)
	var pads []int64
	ok := true
	if opset < 11 {
		pads = n.AttrInts("pads", nil)
	} else {
		pads, ok = c.intsOf(n.Input(1))
	}
	if !ok || n.Input(3) != "" || len(pads) != 2*r {
		return []Type{ranked(x.DType, unknownDims(r))}, nil
	}
	out := make([]Dim, r)
	for i, d := range x.Shape {
		if d.Known() {
			out[i] = DimOf(d.Size + pads[i] + pads[i+r])
		} else if pads[i] == 0 && pads[i+r] == 0 {
			out[i] = d
		} else {
			out[i] = Dim{Size: -1}
		}
	}
	return []Type{ranked(x.DType, out)}, nil
}

func (c *inferCtx) inferRange(n *Node, in []Type) ([]Type, error) {
	dt := in[0].DType
	var vs [3]float64
	for i := 0; i < 3; i++ {
		t := c.constOf(n.Input(i))
		if t == nil || t.Len() != 1 {
			return []Type{ranked(dt, unknownDims(1))}, nil
		}
		vs[i] = t.Float64s()[0]
	}
	if vs[2] == 0 {
		return nil, fmt.Errorf("delta is 0")
	}
	cnt := int64(max(math.Ceil((vs[1]-vs[0])/vs[2]), 0))
	return []Type{ranked(dt, []Dim{DimOf(cnt)})}, nil
}

// inferIf infers both branches in this scope and keeps, per output, what they agree on.
func (c *inferCtx) inferIf(n *Node) ([]Type, error) {
	th, el := n.Attr("then_branch"), n.Attr("else_branch")
	if th == nil || el == nil || th.G == nil || el.G == nil {
		return nil, nil
	}
	for _, g := range []*Graph{th.G, el.G} {
		if err := inferGraph(g, c.opsets, c); err != nil {
			return nil, err
		}
	}
	out := make([]Type, len(n.Outputs))
	for i := range out {
		if i >= len(th.G.Outputs) || i >= len(el.G.Outputs) {
			break
		}
		a, b := th.G.Outputs[i].Type, el.G.Outputs[i].Type
		t := Type{DType: a.DType}
		if a.DType != b.DType {
			t.DType = Undefined
		}
		if a.HasShape && b.HasShape && len(a.Shape) == len(b.Shape) {
			t.HasShape = true
			t.Shape = make([]Dim, len(a.Shape))
			for j := range a.Shape {
				t.Shape[j] = Dim{Size: -1}
				if a.Shape[j] == b.Shape[j] {
					t.Shape[j] = a.Shape[j]
				}
			}
		}
		out[i] = t
	}
	return out, nil
}
