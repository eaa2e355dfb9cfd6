package runtime

import (
	"math"

	"github.com/hone-ml/hone/ir"
	"github.com/hone-ml/hone/kernels"
)

// qRange is the representable range of an integer dtype that QuantizeLinear may produce.
func qRange(dt ir.DType) (lo, hi float64, ok bool) {
	switch dt {
	case ir.Uint8:
		return 0, 255, true
	case ir.Int8:
		return -128, 127, true
	case ir.Uint16:
		return 0, 65535, true
	case ir.Int16:
		return -32768, 32767, true
	case ir.Uint4:
		return 0, 15, true
	case ir.Int4:
		return -8, 7, true
	}
	return 0, 0, false
}

type qMode uint8

const (
	qPerTensor qMode = iota
	qPerAxis
	qBlocked
)

// qLayout maps every element of x to the index of its scale and zero point: per-tensor (a 1-element scale),
// per-axis (a 1-D scale along axis) or blocked (opset 21: a scale of x's rank whose axis dim is
// ceil(x.shape[axis]/block_size)).
type qLayout struct {
	mode              qMode
	outer, dim, inner int // x viewed as [outer, dim, inner] around the axis
	block             int
}

// qResolveLayout checks the scale's shape against x, axis and block_size.
func qResolveLayout(x, scale *ir.Tensor, axis, block int64) (qLayout, error) {
	if block == 0 && scale.Len() == 1 && scale.Rank() <= 1 {
		return qLayout{mode: qPerTensor, outer: 1, dim: 1, inner: x.Len()}, nil
	}
	if x.Rank() == 0 {
		return qLayout{}, Invalidf("scale of shape %v for a scalar input", scale.Shape)
	}
	ax, err := nnAxis(axis, x.Rank())
	if err != nil {
		return qLayout{}, err
	}
	l := qLayout{mode: qPerAxis, outer: nnProd(x.Shape[:ax]), dim: x.Shape[ax], inner: nnProd(x.Shape[ax+1:]), block: 1}
	if block == 0 {
		if scale.Rank() != 1 || scale.Shape[0] != l.dim {
			return l, Invalidf("per-axis scale of shape %v does not match axis %d of input %v", scale.Shape, ax, x.Shape)
		}
		return l, nil
	}
	if block < 0 {
		return l, Invalidf("block_size %d is negative", block)
	}
	l.mode, l.block = qBlocked, int(block)
	if scale.Rank() != x.Rank() {
		return l, Invalidf("blocked scale of shape %v must have the input's rank %d", scale.Shape, x.Rank())
	}
	for i, d := range scale.Shape {
		want := x.Shape[i]
		if i == ax {
			want = (l.dim + l.block - 1) / l.block
		}
		if d != want {
			return l, Invalidf("blocked scale of shape %v does not match input %v with block_size %d on axis %d", scale.Shape, x.Shape, block, ax)
		}
	}
	return l, nil
}

// each calls fn(i, s) for every element index i of x, in order, with s the index of its scale.
func (l qLayout) each(fn func(i, s int)) {
	if l.mode == qPerTensor {
		for i := 0; i < l.inner; i++ {
			fn(i, 0)
		}
		return
	}
	nb := (l.dim + l.block - 1) / l.block
	i := 0
	for o := 0; o < l.outer; o++ {
		for d := 0; d < l.dim; d++ {
			s := d
			if l.mode == qBlocked {
				s = (o*nb + d/l.block) * l.inner
			}
			for k := 0; k < l.inner; k++ {
				if l.mode == qBlocked {
					fn(i, s+k)
				} else {
					fn(i, s)
				}
				i++
			}
		}
	}
}

// qZeroPoints reads an optional zero-point tensor as int64 values, checking it has the scale's shape.
func qZeroPoints(zp, scale *ir.Tensor) ([]int64, error) {
	if zp == nil {
		return make([]int64, max(scale.Len(), 1)), nil
	}
	if zp.Len() != scale.Len() {
		return nil, Invalidf("zero point of shape %v does not match scale of shape %v", zp.Shape, scale.Shape)
	}
	if !zp.DType.IsInt() {
		return nil, Unsupportedf("zero point of dtype %s", zp.DType)
	}
	return zp.Int64s()
}

// qQuantize compiles QuantizeLinear: y = saturate(roundHalfEven(x / y_scale) + y_zero_point).
type qQuantize struct {
	axis, block int64
	outType     ir.DType // from output_dtype (opset 21) when there is no zero point; 0 means uint8
}

func qBuildQuantize(b *BuildCtx) (Kernel, error) {
	n := b.Node
	q := &qQuantize{axis: n.AttrInt("axis", 1), block: n.AttrInt("block_size", 0), outType: ir.DType(n.AttrInt("output_dtype", 0))}
	if q.outType != 0 {
		if _, _, ok := qRange(q.outType); !ok {
			return nil, Unsupportedf("output_dtype %s", q.outType)
		}
	}
	return KernelFunc(q.run), nil
}

func (q *qQuantize) run(ctx *Ctx, in []*ir.Tensor) ([]*ir.Tensor, error) {
	x, scale, zp := nnInput(in, 0), nnInput(in, 1), nnInput(in, 2)
	if x == nil || scale == nil {
		return nil, Invalidf("QuantizeLinear needs x and y_scale")
	}
	if !nnIsFloat(x.DType) && x.DType != ir.Int32 {
		return nil, Unsupportedf("input of dtype %s", x.DType)
	}
	if !nnIsFloat(scale.DType) {
		return nil, Invalidf("y_scale of dtype %s", scale.DType)
	}
	dt := ir.Uint8
	switch {
	case zp != nil:
		dt = zp.DType
		if q.outType != 0 && q.outType != dt {
			return nil, Invalidf("output_dtype %s differs from the zero point's %s", q.outType, dt)
		}
	case q.outType != 0:
		dt = q.outType
	}
	lo, hi, ok := qRange(dt)
	if !ok {
		return nil, Unsupportedf("quantizing to %s", dt)
	}
	l, err := qResolveLayout(x, scale, q.axis, q.block)
	if err != nil {
		return nil, err
	}
	zps, err := qZeroPoints(zp, scale)
	if err != nil {
		return nil, err
	}
	sc, err := nnF32(scale)
	if err != nil {
		return nil, err
	}
	y := ctx.Alloc(dt, x.Shape...)
	set := qSetter(y)
	if x.DType == ir.Int32 {
		xs := x.I32()
		l.each(func(i, s int) {
			set(i, qSaturate(math.RoundToEven(float64(xs[i])/float64(sc[s]))+float64(zps[s]), lo, hi))
		})
		return []*ir.Tensor{y}, nil
	}
	xf, err := nnF32(x)
	if err != nil {
		return nil, err
	}
	if x.DType == ir.Float32 && l.mode == qPerTensor && (dt == ir.Uint8 || dt == ir.Int8) {
		qQuantize8(y.Bytes(), xf, sc[0], int32(zps[0]), int32(lo), int32(hi))
		return []*ir.Tensor{y}, nil
	}
	// The division is done in float32 like ONNX Runtime (MlasQuantizeLinear) and the reference implementation.
	l.each(func(i, s int) {
		set(i, qSaturate(math.RoundToEven(float64(xf[i]/sc[s]))+float64(zps[s]), lo, hi))
	})
	return []*ir.Tensor{y}, nil
}

// qSaturate clamps v to [lo, hi]; NaN maps to 0 clamped (ONNX Runtime's behaviour for integer targets).
func qSaturate(v, lo, hi float64) int64 {
	if math.IsNaN(v) {
		return int64(max(lo, min(hi, 0)))
	}
	return int64(max(lo, min(hi, v)))
}

// qSetter returns a function storing an integer value into element i of an integer tensor.
func qSetter(t *ir.Tensor) func(i int, v int64) {
	switch t.DType {
	case ir.Uint8, ir.Uint4:
		d := t.U8()
		return func(i int, v int64) { d[i] = uint8(v) }
	case ir.Int8, ir.Int4:
		d := t.I8()
		return func(i int, v int64) { d[i] = int8(v) }
	case ir.Uint16:
		d := t.U16()
		return func(i int, v int64) { d[i] = uint16(v) }
	case ir.Int16:
		d := t.I16()
		return func(i int, v int64) { d[i] = int16(v) }
	case ir.Int32:
		d := t.I32()
		return func(i int, v int64) { d[i] = int32(v) }
	}
	return func(int, int64) {}
}

// qDequantize compiles DequantizeLinear: y = (x − x_zero_point) · x_scale, in float32 (the reference converts
// both x and the zero point to float32 before subtracting), stored in the scale's dtype.
type qDequantize struct{ axis, block int64 }

func qBuildDequantize(b *BuildCtx) (Kernel, error) {
	n := b.Node
	return KernelFunc((&qDequantize{axis: n.AttrInt("axis", 1), block: n.AttrInt("block_size", 0)}).run), nil
}

func (q *qDequantize) run(ctx *Ctx, in []*ir.Tensor) ([]*ir.Tensor, error) {
	x, scale, zp := nnInput(in, 0), nnInput(in, 1), nnInput(in, 2)
	if x == nil || scale == nil {
		return nil, Invalidf("DequantizeLinear needs x and x_scale")
	}
	if _, _, ok := qRange(x.DType); !ok && x.DType != ir.Int32 {
		return nil, Unsupportedf("input of dtype %s", x.DType)
	}
	if !nnIsFloat(scale.DType) || scale.DType == ir.Float64 {
		return nil, Invalidf("x_scale of dtype %s", scale.DType)
	}
	if zp != nil && zp.DType != x.DType {
		return nil, Invalidf("zero point is %s but x is %s", zp.DType, x.DType)
	}
	l, err := qResolveLayout(x, scale, q.axis, q.block)
	if err != nil {
		return nil, err
	}
	zps, err := qZeroPoints(zp, scale)
	if err != nil {
		return nil, err
	}
	sc, err := nnF32(scale)
	if err != nil {
		return nil, err
	}
	if l.mode == qPerTensor && scale.DType == ir.Float32 && (x.DType == ir.Uint8 || x.DType == ir.Int8) {
		o := ctx.allocRaw(ir.Float32, x.Shape...)
		qDequantize8(o.F32(), x.Bytes(), x.DType == ir.Int8, float32(zps[0]), sc[0])
		return []*ir.Tensor{o}, nil
	}
	xs := x.Float64s()
	o := nnAlloc(ctx, scale.DType, x.Shape...)
	l.each(func(i, s int) {
		o.F[i] = (float32(xs[i]) - float32(zps[s])) * sc[s]
	})
	return []*ir.Tensor{o.done()}, nil
}

// qBuildDynamicQuantize compiles DynamicQuantizeLinear (opset 11): uint8 with scale and zero point from the
// tensor's range widened to include 0, as the ONNX spec and ONNX Runtime compute them.
func qBuildDynamicQuantize(*BuildCtx) (Kernel, error) {
	return KernelFunc(func(ctx *Ctx, in []*ir.Tensor) ([]*ir.Tensor, error) {
		x := nnInput(in, 0)
		if x == nil {
			return nil, Invalidf("DynamicQuantizeLinear needs x")
		}
		if x.DType != ir.Float32 {
			return nil, Unsupportedf("input of dtype %s", x.DType)
		}
		xf := x.F32()
		scale, zp := qDynamicParams(xf)
		y := ctx.allocRaw(ir.Uint8, x.Shape...) // every element is written
		qQuantizeU8(y.U8(), xf, scale, zp)
		ys, yz := ctx.Alloc(ir.Float32), ctx.Alloc(ir.Uint8)
		ys.F32()[0], yz.U8()[0] = scale, zp
		return []*ir.Tensor{y, ys, yz}, nil
	}), nil
}

// qBuildActDynamicQuantize compiles hone's ActDynamicQuantizeLinear (see ir.OpActDynamicQuantize):
// DynamicQuantizeLinear(act(x)) for act Relu or Clip(min, max), without act's tensor. The clipped values' range is
// the clipped range (clipping is monotone), and each clipped value quantizes to the unclipped one's integer clamped
// between the bounds' integers (quantizing is monotone too), so the result is the unfused pair's, bit for bit; a
// tensor holding a NaN, which the activation kernels treat in their own way, is clipped explicitly first.
func qBuildActDynamicQuantize(b *BuildCtx) (Kernel, error) {
	a := kernels.Activation{Kind: kernels.ActRelu, Beta: float32(math.Inf(1))}
	switch name := b.Node.AttrString("activation", ""); name {
	case "Relu":
	case "Clip":
		p := b.Node.AttrFloats("activation_params", nil)
		if len(p) != 2 {
			return nil, Invalidf("Clip needs activation_params (min, max), got %v", p)
		}
		a = kernels.Activation{Kind: kernels.ActClip, Alpha: p[0], Beta: p[1]}
	default:
		return nil, Unsupportedf("activation %q (want Relu or Clip)", name)
	}
	clip := func(v float32) float32 { return min(max(v, a.Alpha), a.Beta) } // Relu: Alpha 0, Beta +Inf
	return KernelFunc(func(ctx *Ctx, in []*ir.Tensor) ([]*ir.Tensor, error) {
		x := nnInput(in, 0)
		if x == nil {
			return nil, Invalidf("ActDynamicQuantizeLinear needs x")
		}
		if x.DType != ir.Float32 {
			return nil, Unsupportedf("input of dtype %s", x.DType)
		}
		xf := x.F32()
		y := ctx.allocRaw(ir.Uint8, x.Shape...) // every element is written
		lo, hi := kernels.MinMax(xf)
		var scale float32
		var zp uint8
		if len(xf) == 0 || lo != lo || hi != hi {
			t := ctx.allocRaw(ir.Float32, len(xf))
			a.Apply(tCopyF32(t.F32(), xf))
			scale, zp = qDynamicParams(t.F32())
			qQuantizeU8(y.U8(), t.F32(), scale, zp)
			ctx.recycle(t)
		} else {
			scale, zp = qDynamicRange(clip(lo), clip(hi))
			var ends [2]uint8 // the integers of the clip bounds: every clipped value's lies between them
			bounds := [2]float32{clip(a.Alpha), clip(a.Beta)}
			kernels.QQuantize(ends[:], bounds[:], scale, int32(zp), 0, 255, false)
			kernels.QQuantize(y.U8(), xf, scale, int32(zp), int32(ends[0]), int32(ends[1]), false)
		}
		ys, yz := ctx.Alloc(ir.Float32), ctx.Alloc(ir.Uint8)
		ys.F32()[0], yz.U8()[0] = scale, zp
		return []*ir.Tensor{y, ys, yz}, nil
	}), nil
}

// qDynamicParams returns the uint8 scale and zero point for values x: rmin = min(0, min x), rmax = max(0, max x),
// scale = (rmax − rmin)/255 in float32 (1 when the range is empty, ONNX Runtime's guard against dividing by 0),
// zero point = saturate(roundHalfEven(0 − rmin/scale)).
func qDynamicParams(x []float32) (float32, uint8) {
	return qDynamicRange(kernels.MinMax(x)) // NaN if any value is; (+Inf, −Inf) when x is empty
}

// qDynamicRange is qDynamicParams for values whose minimum is lo and maximum hi.
func qDynamicRange(lo, hi float32) (float32, uint8) {
	lo, hi = min(0, lo), max(0, hi)
	scale := (hi - lo) / 255
	if hi == lo {
		scale = 1
	}
	zp := qSaturate(math.RoundToEven(float64(0-lo/scale)), 0, 255)
	return scale, uint8(zp)
}

// qQuantizeU8 quantizes x to uint8 with one scale and zero point.
func qQuantizeU8(y []uint8, x []float32, scale float32, zp uint8) {
	kernels.QQuantize(y, x, scale, int32(zp), 0, 255, false)
}

// qQuantize8 is QuantizeLinear's per-tensor float32 → 8-bit path (the general formula, vectorised; see
// kernels.QQuantize). The result's byte is stored, which is the two's-complement int8 for lo = −128.
func qQuantize8(y []uint8, x []float32, scale float32, zp, lo, hi int32) {
	kernels.QQuantize(y, x, scale, zp, lo, hi, false)
}

// qDequantize8 is DequantizeLinear's per-tensor 8-bit → float32 path: y = (float32(x) − zp)·scale.
func qDequantize8(y []float32, x []uint8, signed bool, zp, scale float32) {
	kernels.QDequantize(y, x, signed, zp, scale)
}

// qChannelScales reads a per-channel scale input (a float scalar or n values) as float32.
func qChannelScales(t *ir.Tensor, n int, name string) ([]float32, error) {
	if t == nil || !nnIsFloat(t.DType) || (t.Len() != 1 && t.Len() != n) {
		return nil, Invalidf("%s must be a float scalar or have %d values", name, n)
	}
	return nnF32(t)
}
