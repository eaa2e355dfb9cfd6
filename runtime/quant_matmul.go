package runtime

import (
	"encoding/binary"

	"github.com/hone-ml/hone/ir"
	"github.com/hone-ml/hone/kernels"
)

// The integer ops reduce to one kernel shape, kernels.QGemm: uint8 activations times packed int8 weights. Signed
// activations and unsigned weights are shifted by 128 (exactly: the zero point moves with the data).

// qActivations returns t's data as uint8 and the amount its zero points move (128 for int8 data). Int8 data are
// flipped (v ^ 0x80 = v + 128) into a scratch tensor from ctx's arena, returned for the caller to recycle, with
// room for seven more rows of k bytes: kernels.QGemm then reads the last row block from it instead of copying A
// again. GPT-tiny's static model spent 11 % of its time here when this was a byte loop into a fresh slice.
func qActivations(ctx *Ctx, t *ir.Tensor, k int) ([]uint8, int32, *ir.Tensor, error) {
	switch t.DType {
	case ir.Uint8:
		return t.U8(), 0, nil, nil
	case ir.Int8:
		src := t.Bytes()
		scratch := ctx.allocRaw(ir.Uint8, len(src)+7*max(k, 0))
		flipBytes(scratch.U8()[:len(src)], src)
		return scratch.U8(), 128, scratch, nil
	}
	return nil, 0, nil, Unsupportedf("activations of dtype %s", t.DType)
}

// flipBytes sets dst[i] = src[i] ^ 0x80, eight bytes at a time.
func flipBytes(dst, src []uint8) {
	dst = dst[:len(src)]
	n := len(src) &^ 7
	for i := 0; i < n; i += 8 {
		binary.LittleEndian.PutUint64(dst[i:i+8], binary.LittleEndian.Uint64(src[i:i+8])^0x8080808080808080)
	}
	for i := n; i < len(src); i++ {
		dst[i] = src[i] ^ 0x80
	}
}

// qFlip returns how 8-bit activations of dtype dt are read as uint8: the amount their zero point moves and the
// bit pattern each byte is xor-ed with (128 and 0x80 for int8: v + 128).
func qFlip(dt ir.DType) (int32, uint8, error) {
	switch dt {
	case ir.Uint8:
		return 0, 0, nil
	case ir.Int8:
		return 128, 0x80, nil
	}
	return 0, 0, Unsupportedf("activations of dtype %s", dt)
}

// qWeights returns t's data as int8 and the amount its zero points move (−128 for uint8 data).
func qWeights(t *ir.Tensor) ([]int8, int32, error) {
	switch t.DType {
	case ir.Int8:
		return t.I8(), 0, nil
	case ir.Uint8:
		src := t.U8()
		out := make([]int8, len(src))
		for i, v := range src {
			out[i] = int8(v ^ 0x80) // v − 128
		}
		return out, -128, nil
	}
	return nil, 0, Unsupportedf("weights of dtype %s", t.DType)
}

// qZeroVector reads an optional zero point that must be a scalar or hold want values (per row or column), and
// adds shift to each. It checks the zero point's dtype against the data's.
func qZeroVector(zp *ir.Tensor, data ir.DType, want int, shift int32, what string) ([]int32, error) {
	if zp == nil {
		return []int32{shift}, nil
	}
	if zp.DType != data {
		return nil, Invalidf("%s zero point is %s but the data is %s", what, zp.DType, data)
	}
	if zp.Len() != 1 && zp.Len() != want {
		return nil, Unsupportedf("%s zero point of shape %v (want a scalar or %d values)", what, zp.Shape, want)
	}
	v, err := zp.Int64s()
	if err != nil {
		return nil, err
	}
	out := make([]int32, len(v))
	for i, z := range v {
		out[i] = int32(z) + shift
	}
	return out, nil
}

// qScalarF32 reads a one-element float scale.
func qScalarF32(t *ir.Tensor, what string) (float32, error) {
	if t == nil || t.Len() != 1 || !nnIsFloat(t.DType) {
		return 0, Invalidf("%s must be a float scalar", what)
	}
	f, err := nnF32(t)
	if err != nil {
		return 0, err
	}
	return f[0], nil
}

// qMatMul compiles MatMulInteger, QLinearMatMul and ONNX Runtime's MatMulIntegerToFloat. The zero points and
// scales are looked up by index per op.
type qMatMul struct {
	form   qMatMulForm
	packed *kernels.QPackedB // B packed at build time when it and its zero point are constants
}

type qMatMulForm int

const (
	qMatMulInteger qMatMulForm = iota // int32 sums
	qMatMulQLinear                    // requantized to 8 bits
	qMatMulToFloat                    // dequantized to float32, plus an optional float bias per column
)

// Input positions per op.
func (q *qMatMul) idx() (a, b, za, zb int) {
	switch q.form {
	case qMatMulQLinear:
		return 0, 3, 2, 5
	case qMatMulToFloat: // A, B, a_scale, b_scale, a_zero_point, b_zero_point, bias
		return 0, 1, 4, 5
	}
	return 0, 1, 2, 3
}

func qBuildMatMulInteger(b *BuildCtx) (Kernel, error) { return qBuildMatMul(b, qMatMulInteger) }
func qBuildQLinearMatMul(b *BuildCtx) (Kernel, error) { return qBuildMatMul(b, qMatMulQLinear) }
func qBuildMatMulToFloat(b *BuildCtx) (Kernel, error) { return qBuildMatMul(b, qMatMulToFloat) }

func qBuildMatMul(b *BuildCtx, form qMatMulForm) (Kernel, error) {
	q := &qMatMul{form: form}
	_, ib, _, izb := q.idx()
	if bt := nnConst(b, ib); bt != nil && bt.Rank() == 2 && (!nnHasInput(b.Node, izb) || nnConst(b, izb) != nil) {
		p, err := qPackWeights(bt, nnConst(b, izb))
		if err != nil {
			return nil, err
		}
		q.packed = p
	}
	return KernelFunc(q.run), nil
}

// qPackWeights packs a K×N weight matrix with its optional zero point (scalar or per column).
func qPackWeights(bt, zp *ir.Tensor) (*kernels.QPackedB, error) {
	w, shift, err := qWeights(bt)
	if err != nil {
		return nil, err
	}
	k, n := bt.Shape[0], bt.Shape[1]
	zb, err := qZeroVector(zp, bt.DType, n, shift, "B")
	if err != nil {
		return nil, err
	}
	return kernels.QPackB(k, n, w, n, zb)
}

func (q *qMatMul) run(ctx *Ctx, in []*ir.Tensor) ([]*ir.Tensor, error) {
	ia, ib, iza, izb := q.idx()
	a, b := nnInput(in, ia), nnInput(in, ib)
	if a == nil || b == nil {
		return nil, Invalidf("needs inputs A and B")
	}
	ms, err := nnMatMulShapes(a, b)
	if err != nil {
		return nil, err
	}
	as, bs, M, K, N, batch, final := ms.as, ms.bs, ms.M, ms.K, ms.N, ms.batch, ms.final
	ad, ashift, scratch, err := qActivations(ctx, a, K)
	if err != nil {
		return nil, err
	}
	if scratch != nil {
		defer ctx.recycle(scratch)
	}
	za, err := qZeroVector(nnInput(in, iza), a.DType, M, ashift, "A")
	if err != nil {
		return nil, err
	}
	out := &kernels.QOutput{Ldc: N}
	// The products write every output; with K = 0 there are none, and the output must read as zeros.
	alloc := ctx.allocRaw
	if K == 0 {
		alloc = ctx.Alloc
	}
	var y *ir.Tensor
	switch q.form {
	case qMatMulToFloat:
		if out.Scale, err = qColumnMultipliers(in, 2, 3, -1, N); err != nil {
			return nil, err
		}
		if bias := nnInput(in, 6); bias != nil {
			if bias.DType != ir.Float32 || bias.Len() != N {
				return nil, Invalidf("bias must be float32 with %d values (one per column), got %s%v", N, bias.DType, bias.Shape)
			}
			out.FBias = bias.F32()
		}
		y = alloc(ir.Float32, final...)
		out.F32 = y.F32()
	case qMatMulQLinear:
		if out.Scale, err = qColumnMultipliers(in, 1, 4, 6, N); err != nil {
			return nil, err
		}
		yt := ir.Uint8
		if yz := nnInput(in, 7); yz != nil {
			if yz.Len() != 1 {
				return nil, Invalidf("y_zero_point must be a scalar")
			}
			yt = yz.DType
			v, _ := yz.Int64s()
			if len(v) > 0 {
				out.ZeroPoint = int32(v[0])
			}
		}
		switch yt {
		case ir.Uint8:
			y = alloc(yt, final...)
			out.U8 = y.U8()
		case ir.Int8:
			y = alloc(yt, final...)
			out.I8 = y.I8()
		default:
			return nil, Unsupportedf("output of dtype %s", yt)
		}
	default:
		y = alloc(ir.Int32, final...)
		out.I32 = y.I32()
	}
	if len(za) > 1 && nnProd(batch) > 1 {
		return nil, Unsupportedf("per-row A zero point with batched operands")
	}
	if q.packed != nil && len(bs) == 2 {
		if q.packed.K != K || q.packed.N != N {
			return nil, Invalidf("B is %d×%d, A needs %d×%d", q.packed.K, q.packed.N, K, N)
		}
		// A constant matrix B serves every batch: fold the batch into M for one large product.
		mAll := nnProd(batch) * M
		if err := kernels.QGemm(ctx.Par, mAll, ad, K, za, q.packed, out); err != nil {
			return nil, Invalidf("%v", err)
		}
		return []*ir.Tensor{y}, nil
	}
	bd, bshift, err := qWeights(b)
	if err != nil {
		return nil, err
	}
	zb, err := qZeroVector(nnInput(in, izb), b.DType, N, bshift, "B")
	if err != nil {
		return nil, err
	}
	aOff, bOff := nnBatchOffsets(as[:len(as)-2], batch, M*K), nnBatchOffsets(bs[:len(bs)-2], batch, K*N)
	for i := range aOff {
		p, err := kernels.QPackB(K, N, bd[bOff[i]:], N, zb)
		if err != nil {
			return nil, Invalidf("%v", err)
		}
		o := *out
		switch {
		case o.I32 != nil:
			o.I32 = o.I32[i*M*N:]
		case o.U8 != nil:
			o.U8 = o.U8[i*M*N:]
		case o.F32 != nil:
			o.F32 = o.F32[i*M*N:]
		default:
			o.I8 = o.I8[i*M*N:]
		}
		if err := kernels.QGemm(ctx.Par, M, ad[aOff[i]:], K, za, p, &o); err != nil {
			return nil, Invalidf("%v", err)
		}
	}
	return []*ir.Tensor{y}, nil
}

// qColumnMultipliers returns a_scale·b_scale[j] for each of n columns (one value for a scalar b_scale), divided by
// y_scale when iy ≥ 0: ONNX Runtime's requantization multiplier, in float32 (a division by 1 is exact, so the
// dequantizing form is the same expression).
func qColumnMultipliers(in []*ir.Tensor, ia, ib, iy, n int) ([]float32, error) {
	as, err := qScalarF32(nnInput(in, ia), "a_scale")
	if err != nil {
		return nil, err
	}
	ys := float32(1)
	if iy >= 0 {
		if ys, err = qScalarF32(nnInput(in, iy), "y_scale"); err != nil {
			return nil, err
		}
	}
	bf, err := qChannelScales(nnInput(in, ib), n, "b_scale")
	if err != nil {
		return nil, err
	}
	out := make([]float32, len(bf))
	for j, s := range bf {
		out[j] = as * s / ys
	}
	return out, nil
}

// qI8View reinterprets a byte buffer as int8 (same storage).
func qI8View(b []uint8) []int8 {
	t, _ := ir.FromBytes(ir.Int8, []int{len(b)}, b)
	return t.I8()
}
