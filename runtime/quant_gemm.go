package runtime

import (
	"github.com/hone-ml/hone/ir"
	"github.com/hone-ml/hone/kernels"
)

// qGemm compiles ONNX Runtime's com.microsoft QGemm: Y = requantize(alpha·(A − a_zp)·(B − b_zp) + C), with A
// [M,K] 8-bit, B [K,N] (or [N,K] with transB) 8-bit with a per-tensor or per-column scale and zero point, C an
// optional int32 bias in the scale a_scale·b_scale, and Y quantized with y_scale and y_zero_point, or float32
// when y_scale is absent. hone's fuse_qdq_gemm pass emits it for quantized Gemm layers; it runs as one
// kernels.QGemm call with the bias and the requantization in the epilogue.
type qGemm struct {
	transB bool
	alpha  float32
	packed *kernels.QPackedB // B packed at build time when it and its zero point are constants
}

func qBuildQGemm(b *BuildCtx) (Kernel, error) {
	if b.Node.AttrInt("transA", 0) != 0 {
		return nil, Unsupportedf("transA=1")
	}
	q := &qGemm{transB: b.Node.AttrInt("transB", 0) != 0, alpha: b.Node.AttrFloat("alpha", 1)}
	if bt := nnConst(b, 3); bt != nil && (!nnHasInput(b.Node, 5) || nnConst(b, 5) != nil) {
		p, err := q.pack(bt, nnConst(b, 5))
		if err != nil {
			return nil, err
		}
		q.packed = p
	}
	return KernelFunc(q.run), nil
}

// pack packs B as the K×N matrix the kernel wants, transposing it when transB.
func (q *qGemm) pack(bt, zp *ir.Tensor) (*kernels.QPackedB, error) {
	if bt.Rank() != 2 {
		return nil, Invalidf("B must be a matrix, got shape %v", bt.Shape)
	}
	if !q.transB {
		return qPackWeights(bt, zp)
	}
	w, shift, err := qWeights(bt)
	if err != nil {
		return nil, err
	}
	n, k := bt.Shape[0], bt.Shape[1]
	zb, err := qZeroVector(zp, bt.DType, n, shift, "B")
	if err != nil {
		return nil, err
	}
	wt := make([]int8, k*n)
	for j := 0; j < n; j++ {
		for p := 0; p < k; p++ {
			wt[p*n+j] = w[j*k+p]
		}
	}
	return kernels.QPackB(k, n, wt, n, zb)
}

func (q *qGemm) run(ctx *Ctx, in []*ir.Tensor) ([]*ir.Tensor, error) {
	a := nnInput(in, 0)
	if a == nil || a.Rank() != 2 {
		return nil, Invalidf("A must be a matrix")
	}
	packed := q.packed
	if packed == nil {
		bt := nnInput(in, 3)
		if bt == nil {
			return nil, Invalidf("needs input B")
		}
		var err error
		if packed, err = q.pack(bt, nnInput(in, 5)); err != nil {
			return nil, err
		}
	}
	M, K, N := a.Shape[0], a.Shape[1], packed.N
	if K != packed.K {
		return nil, Invalidf("A is %v but B has %d rows (after transB)", a.Shape, packed.K)
	}
	ad, shift, scratch, err := qActivations(ctx, a, K)
	if err != nil {
		return nil, err
	}
	if scratch != nil {
		defer ctx.recycle(scratch)
	}
	za, err := qZeroVector(nnInput(in, 2), a.DType, 1, shift, "A")
	if err != nil {
		return nil, err
	}
	as, err := qScalarF32(nnInput(in, 1), "a_scale")
	if err != nil {
		return nil, err
	}
	bf, err := qChannelScales(nnInput(in, 4), N, "b_scale")
	if err != nil {
		return nil, err
	}
	out := &kernels.QOutput{Ldc: N, Scale: make([]float32, len(bf))}
	if c := nnInput(in, 6); c != nil {
		if c.DType != ir.Int32 || c.Len() != N || c.Shape[len(c.Shape)-1] != N {
			return nil, Invalidf("C must be an int32 bias of %d values, got %s", N, c)
		}
		out.Bias = c.I32()
	}
	var y *ir.Tensor
	ysT := nnInput(in, 7)
	ys := float32(1)
	if ysT != nil {
		if ys, err = qScalarF32(ysT, "y_scale"); err != nil {
			return nil, err
		}
	}
	for j, s := range bf {
		out.Scale[j] = q.alpha * as * s / ys // ONNX Runtime's multiplier, in float32
	}
	switch yz := nnInput(in, 8); {
	case ysT == nil:
		y = ctx.Alloc(ir.Float32, M, N)
		out.F32 = y.F32()
	case yz == nil || yz.DType == ir.Uint8:
		y = ctx.Alloc(ir.Uint8, M, N)
		out.U8 = y.U8()
	case yz.DType == ir.Int8:
		y = ctx.Alloc(ir.Int8, M, N)
		out.I8 = y.I8()
	default:
		return nil, Unsupportedf("y_zero_point of dtype %s", yz.DType)
	}
	if yz := nnInput(in, 8); yz != nil && ysT != nil {
		if yz.Len() != 1 {
			return nil, Invalidf("y_zero_point must be a scalar")
		}
		v, _ := yz.Int64s()
		out.ZeroPoint = int32(v[0])
	}
	if err := kernels.QGemm(ctx.Par, M, ad, K, za, packed, out); err != nil {
		return nil, Invalidf("%v", err)
	}
	return []*ir.Tensor{y}, nil
}
