package runtime

import (
	"math"

	"github.com/hone-ml/hone/ir"
)

// Small standalone ops: MaxUnpool, Shrink, ReverseSequence and Det. (Scatter is the tensor ops' alias of
// ScatterElements.)

// xBuildMaxUnpool compiles MaxUnpool (opsets 9, 11, 22): Y is zero except Y[I[i]] = X[i], where I holds
// MaxPool's flattened indices into the whole output tensor. Y's shape comes from the optional output_shape
// input, else from the inverse of the pooling arithmetic.
func xBuildMaxUnpool(b *BuildCtx) (Kernel, error) {
	n := b.Node
	kernel := nnInts(n.AttrInts("kernel_shape", nil))
	if len(kernel) == 0 {
		return nil, Invalidf("kernel_shape is required")
	}
	strides := nnInts(n.AttrInts("strides", nil))
	pads := nnInts(n.AttrInts("pads", nil))
	nsp := len(kernel)
	if strides == nil {
		strides = make([]int, nsp)
		for i := range strides {
			strides[i] = 1
		}
	}
	if pads == nil {
		pads = make([]int, 2*nsp)
	}
	if len(strides) != nsp || len(pads) != 2*nsp {
		return nil, Invalidf("kernel_shape %v, strides %v and pads %v disagree on the spatial rank", kernel, strides, pads)
	}
	return KernelFunc(func(ctx *Ctx, in []*ir.Tensor) ([]*ir.Tensor, error) {
		if err := tNeed(in, 2); err != nil {
			return nil, err
		}
		x, idx := in[0], in[1]
		if err := tCheckStorage(x, idx); err != nil {
			return nil, err
		}
		if err := tMovable(x.DType); err != nil || x.DType == ir.String {
			return nil, Unsupportedf("dtype %s", x.DType)
		}
		if x.Rank() != nsp+2 {
			return nil, Invalidf("X has shape %v; want rank %d", x.Shape, nsp+2)
		}
		if idx.Len() != x.Len() {
			return nil, Invalidf("I has shape %v; want X's shape %v", idx.Shape, x.Shape)
		}
		ids, err := tInts(idx, "I")
		if err != nil {
			return nil, err
		}
		// Indices address the inferred (unpadded) shape; a larger output_shape pads each spatial dim at its end,
		// as ONNX's reference outputs and ONNX Runtime do.
		inferred := append([]int(nil), x.Shape...)
		for i := range nsp {
			inferred[i+2] = (x.Shape[i+2]-1)*strides[i] + kernel[i] - pads[i] - pads[i+nsp]
			if inferred[i+2] < 0 {
				return nil, Invalidf("inferred output shape %v is negative", inferred)
			}
		}
		shape := inferred
		if os := nnInput(in, 2); os != nil {
			v, err := tInts(os, "output_shape")
			if err != nil {
				return nil, err
			}
			if len(v) != len(shape) {
				return nil, Invalidf("output_shape %v has rank %d; want %d", v, len(v), len(shape))
			}
			shape = make([]int, len(v))
			for i, d := range v {
				shape[i] = int(d)
				if d < int64(inferred[i]) || (i < 2 && d != int64(inferred[i])) {
					return nil, Invalidf("output_shape %v is smaller than the unpooled shape %v", v, inferred)
				}
			}
		}
		out := ctx.Alloc(x.DType, shape...)
		total := int64(tProd(inferred))
		ist, ost := tStrides(inferred), tStrides(shape)
		dst, src := tElemsOf(out), tElemsOf(x)
		for i, id := range ids {
			if id < 0 || id >= total {
				return nil, Invalidf("index %d at %d is outside the unpooled shape %v", id, i, inferred)
			}
			o, rem := 0, int(id)
			for k := range ist {
				o += rem / ist[k] * ost[k]
				rem %= ist[k]
			}
			dst.copy(o, src, i, 1)
		}
		return []*ir.Tensor{out}, nil
	}), nil
}

// xBuildShrink compiles Shrink (opset 9): x+bias below -lambd, x-bias above lambd, 0 between.
func xBuildShrink(b *BuildCtx) (Kernel, error) {
	lambd := float64(b.Node.AttrFloat("lambd", 0.5))
	bias := float64(b.Node.AttrFloat("bias", 0))
	f := func(v float64) float64 {
		switch {
		case v < -lambd:
			return v + bias
		case v > lambd:
			return v - bias
		}
		return 0
	}
	return KernelFunc(func(ctx *Ctx, in []*ir.Tensor) ([]*ir.Tensor, error) {
		if err := tNeed(in, 1); err != nil {
			return nil, err
		}
		x := in[0]
		if err := tCheckStorage(x); err != nil {
			return nil, err
		}
		if x.DType == ir.Float32 {
			out := ctx.Alloc(ir.Float32, x.Shape...)
			o := out.F32()
			for i, v := range x.F32() {
				o[i] = float32(f(float64(v)))
			}
			return []*ir.Tensor{out}, nil
		}
		if !x.DType.IsFloat() && !x.DType.IsInt() {
			return nil, Unsupportedf("dtype %s", x.DType)
		}
		// Other numeric types go through float64, exact for every integer type up to 2^53.
		v := x.Float64s()
		for i := range v {
			v[i] = f(v[i])
		}
		return tOut(xFromF64(ctx, x.DType, v, x.Shape))
	}), nil
}

// xFromF64 converts float64 values to a new tensor of numeric dtype dt (integers truncate toward zero).
func xFromF64(ctx *Ctx, dt ir.DType, v []float64, shape []int) (*ir.Tensor, error) {
	if dt.IsFloat() {
		return xFloatOut(ctx, dt, v, shape...), nil
	}
	f := ir.New(ir.Float64, shape...)
	copy(f.F64(), v)
	return tCast(ctx, f, dt)
}

// xBuildReverseSequence compiles ReverseSequence (opset 10): for each batch entry b the first
// sequence_lens[b] elements along time_axis are reversed; the rest are copied.
func xBuildReverseSequence(b *BuildCtx) (Kernel, error) {
	batchAxis := int(b.Node.AttrInt("batch_axis", 1))
	timeAxis := int(b.Node.AttrInt("time_axis", 0))
	if (batchAxis != 0 && batchAxis != 1) || (timeAxis != 0 && timeAxis != 1) || batchAxis == timeAxis {
		return nil, Invalidf("batch_axis %d and time_axis %d must be 0 and 1 in some order", batchAxis, timeAxis)
	}
	return KernelFunc(func(ctx *Ctx, in []*ir.Tensor) ([]*ir.Tensor, error) {
		if err := tNeed(in, 2); err != nil {
			return nil, err
		}
		x := in[0]
		if err := tCheckStorage(x, in[1]); err != nil {
			return nil, err
		}
		if err := tMovable(x.DType); err != nil {
			return nil, err
		}
		if x.Rank() < 2 {
			return nil, Invalidf("input has shape %v; want rank ≥ 2", x.Shape)
		}
		lens, err := tInts(in[1], "sequence_lens")
		if err != nil {
			return nil, err
		}
		B, T := x.Shape[batchAxis], x.Shape[timeAxis]
		if len(lens) != B {
			return nil, Invalidf("sequence_lens has %d entries for batch %d", len(lens), B)
		}
		inner := tProd(x.Shape[2:])
		st := tStrides(x.Shape[:2])
		out := ctx.Alloc(x.DType, x.Shape...)
		dst, src := tElemsOf(out), tElemsOf(x)
		for bi, l := range lens {
			if l < 0 || l > int64(T) {
				return nil, Invalidf("sequence_lens[%d] = %d outside [0, %d]", bi, l, T)
			}
			for t := range T {
				from := t
				if t < int(l) {
					from = int(l) - 1 - t
				}
				d := bi*st[batchAxis] + t*st[timeAxis]
				s := bi*st[batchAxis] + from*st[timeAxis]
				dst.copy(d*inner, src, s*inner, inner)
			}
		}
		return []*ir.Tensor{out}, nil
	}), nil
}

// xBuildDet compiles Det (opset 11): the determinant of each trailing square matrix, by LU decomposition with
// partial pivoting in float64.
func xBuildDet(b *BuildCtx) (Kernel, error) {
	return KernelFunc(func(ctx *Ctx, in []*ir.Tensor) ([]*ir.Tensor, error) {
		xt, x, err := xFloatIn(in, 0, "X")
		if err != nil {
			return nil, err
		}
		r := xt.Rank()
		if r < 2 || xt.Shape[r-1] != xt.Shape[r-2] {
			return nil, Invalidf("X has shape %v; want [*, M, M]", xt.Shape)
		}
		M := xt.Shape[r-1]
		batch := tProd(xt.Shape[:r-2])
		out := make([]float64, batch)
		a := make([]float64, M*M)
		for bi := range batch {
			copy(a, x[bi*M*M:(bi+1)*M*M])
			det := 1.0
			for k := range M {
				p := k
				for i := k + 1; i < M; i++ {
					if math.Abs(a[i*M+k]) > math.Abs(a[p*M+k]) {
						p = i
					}
				}
				if a[p*M+k] == 0 {
					det = 0
					break
				}
				if p != k {
					for j := range M {
						a[k*M+j], a[p*M+j] = a[p*M+j], a[k*M+j]
					}
					det = -det
				}
				det *= a[k*M+k]
				for i := k + 1; i < M; i++ {
					f := a[i*M+k] / a[k*M+k]
					for j := k; j < M; j++ {
						a[i*M+j] -= f * a[k*M+j]
					}
				}
			}
			out[bi] = det
		}
		return []*ir.Tensor{xFloatOut(ctx, xt.DType, out, xt.Shape[:r-2]...)}, nil
	}), nil
}
