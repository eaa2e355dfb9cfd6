package runtime

import (
	"math"

	"github.com/hone-ml/hone/ir"
)

func tCastKernel(b *BuildCtx) (Kernel, error) {
	a := b.Node.Attr("to")
	if a == nil {
		return nil, Invalidf("attribute to is required")
	}
	to := ir.DType(a.I)
	if !tCastable(to) {
		return nil, Unsupportedf("cast to %s", to)
	}
	return KernelFunc(func(ctx *Ctx, in []*ir.Tensor) ([]*ir.Tensor, error) {
		if err := tNeed(in, 1); err != nil {
			return nil, err
		}
		return tOut(tCast(ctx, in[0], to))
	}), nil
}

func tCastLike(ctx *Ctx, in []*ir.Tensor) (*ir.Tensor, error) {
	return tCast(ctx, in[0], in[1].DType)
}

// tConstant builds Constant from whichever value attribute it carries (value_* forms since opset 12).
func tConstant(b *BuildCtx) (Kernel, error) {
	n := b.Node
	var t *ir.Tensor
	for _, a := range n.Attrs {
		switch a.Name {
		case "value":
			if a.T == nil {
				return nil, Invalidf("attribute value holds no tensor")
			}
			t = a.T
		case "value_float":
			t = ir.FromFloat32(nil, []float32{a.F})
		case "value_floats":
			t = ir.FromFloat32([]int{len(a.Floats)}, append([]float32(nil), a.Floats...))
		case "value_int":
			t = ir.FromInt64(nil, []int64{a.I})
		case "value_ints":
			t = ir.FromInt64([]int{len(a.Ints)}, append([]int64(nil), a.Ints...))
		case "value_string":
			t = ir.New(ir.String)
			t.Strings[0] = a.S
		case "value_strings":
			t = ir.New(ir.String, len(a.Strings))
			copy(t.Strings, a.Strings)
		case "sparse_value":
			return nil, Unsupportedf("sparse_value")
		default:
			continue
		}
	}
	if t == nil {
		return nil, Invalidf("no value attribute")
	}
	if err := tCheckStorage(t); err != nil {
		return nil, err
	}
	return KernelFunc(func(ctx *Ctx, in []*ir.Tensor) ([]*ir.Tensor, error) {
		// A copy: the executor may recycle output buffers, and the attribute must survive that.
		return []*ir.Tensor{t.Clone()}, nil
	}), nil
}

func tConstantOfShape(b *BuildCtx) (Kernel, error) {
	val := ir.FromFloat32([]int{1}, []float32{0})
	if a := b.Node.Attr("value"); a != nil && a.T != nil {
		val = a.T
	}
	if val.Len() != 1 || tCheckStorage(val) != nil {
		return nil, Invalidf("value must hold one element, got %v", val)
	}
	if err := tMovable(val.DType); err != nil {
		return nil, err
	}
	return KernelFunc(func(ctx *Ctx, in []*ir.Tensor) ([]*ir.Tensor, error) {
		if err := tNeed(in, 1); err != nil {
			return nil, err
		}
		dims, err := tInts(in[0], "shape")
		if err != nil {
			return nil, err
		}
		shape := make([]int, len(dims))
		for i, d := range dims {
			if d < 0 {
				return nil, Invalidf("shape %v has a negative dimension", dims)
			}
			shape[i] = int(d)
		}
		out := ctx.Alloc(val.DType, shape...)
		return tOut(out, tStridedCopy(ctx, out, val, shape, make([]int, len(shape)), 0))
	}), nil
}

// tEyeLike builds EyeLike: ones on diagonal k of a 2-D tensor shaped like the input.
func tEyeLike(b *BuildCtx) (Kernel, error) {
	k := int(b.Node.AttrInt("k", 0))
	dt := ir.DType(b.Node.AttrInt("dtype", 0))
	return KernelFunc(func(ctx *Ctx, in []*ir.Tensor) ([]*ir.Tensor, error) {
		if err := tNeed(in, 1); err != nil {
			return nil, err
		}
		x := in[0]
		if len(x.Shape) != 2 {
			return nil, Invalidf("input must be 2-D, got %v", x.Shape)
		}
		d := dt
		if d == ir.Undefined {
			d = x.DType
		}
		r, c := x.Shape[0], x.Shape[1]
		one := ir.FromFloat32(nil, []float32{1})
		oneT, err := tCast(tScratch(), one, d)
		if err != nil || d == ir.String {
			return nil, Unsupportedf("dtype %s", d)
		}
		out := ctx.Alloc(d, r, c)
		dst, src := tElemsOf(out), tElemsOf(oneT)
		for i := 0; i < r; i++ {
			if j := i + k; j >= 0 && j < c {
				dst.copy(i*c+j, src, 0, 1)
			}
		}
		return tOut(out, nil)
	}), nil
}

// tRange computes start + i·delta for i < max(⌈(limit-start)/delta⌉, 0).
func tRange(ctx *Ctx, in []*ir.Tensor) (*ir.Tensor, error) {
	s, l, d := in[0], in[1], in[2]
	if s.DType != l.DType || s.DType != d.DType {
		return nil, Invalidf("start, limit and delta dtypes differ: %s, %s, %s", s.DType, l.DType, d.DType)
	}
	if s.Len() != 1 || l.Len() != 1 || d.Len() != 1 {
		return nil, Invalidf("start, limit and delta must be scalars")
	}
	if err := tCheckStorage(s, l, d); err != nil {
		return nil, err
	}
	switch s.DType {
	case ir.Float32, ir.Float64:
		st, lim, dl := tToF32Any(s)[0], tToF32Any(l)[0], tToF32Any(d)[0]
		if dl == 0 {
			return nil, Invalidf("delta must not be 0")
		}
		n := math.Ceil((lim - st) / dl)
		if n > 1<<31 {
			return nil, Invalidf("range of %g elements", n)
		}
		cnt := int(max(n, 0))
		out := ctx.Alloc(s.DType, cnt)
		if s.DType == ir.Float32 {
			// Accumulate in float32 as the ONNX reference does (start + i·delta in the input type).
			s32, d32 := s.F32()[0], d.F32()[0]
			for i := range out.F32() {
				out.F32()[i] = s32 + float32(i)*d32
			}
		} else {
			for i := range out.F64() {
				out.F64()[i] = st + float64(i)*dl
			}
		}
		return out, nil
	case ir.Int16, ir.Int32, ir.Int64:
		st, _ := s.Int64s()
		lim, _ := l.Int64s()
		dl, _ := d.Int64s()
		if dl[0] == 0 {
			return nil, Invalidf("delta must not be 0")
		}
		diff := lim[0] - st[0]
		n := diff / dl[0]
		if diff%dl[0] != 0 && (diff < 0) == (dl[0] < 0) {
			n++
		}
		if n > 1<<31 {
			return nil, Invalidf("range of %d elements", n)
		}
		vals := make([]int64, max(n, 0))
		for i := range vals {
			vals[i] = st[0] + int64(i)*dl[0]
		}
		return tCast(ctx, ir.FromInt64([]int{len(vals)}, vals), s.DType)
	}
	return nil, Unsupportedf("dtype %s", s.DType)
}

// tOneHot builds OneHot: out[..., j, ...] = on if j == index (negative indices count from depth) else off.
func tOneHot(b *BuildCtx) (Kernel, error) {
	axis := b.Node.AttrInt("axis", -1)
	return KernelFunc(func(ctx *Ctx, in []*ir.Tensor) ([]*ir.Tensor, error) {
		if err := tNeed(in, 3); err != nil {
			return nil, err
		}
		idx, depthT, vals := in[0], in[1], in[2]
		if err := tCheckStorage(idx, depthT, vals); err != nil {
			return nil, err
		}
		if depthT.Len() != 1 || vals.Len() != 2 {
			return nil, Invalidf("depth must be a scalar and values a pair, got %v and %v", depthT, vals)
		}
		if !depthT.DType.IsInt() && !depthT.DType.IsFloat() || !idx.DType.IsInt() && !idx.DType.IsFloat() {
			return nil, Invalidf("indices and depth must be numeric")
		}
		depth := int(tToF32Any(depthT)[0])
		if depth < 1 {
			return nil, Invalidf("depth must be positive, got %d", depth)
		}
		r := len(idx.Shape) + 1
		a, err := tAxis(axis, r)
		if err != nil {
			return nil, err
		}
		shape := append(append(append([]int(nil), idx.Shape[:a]...), depth), idx.Shape[a:]...)
		out := ctx.Alloc(vals.DType, shape...)
		if err := tMovable(vals.DType); err != nil {
			return nil, err
		}
		outer, inner := tProd(idx.Shape[:a]), tProd(idx.Shape[a:])
		dst, src := tElemsOf(out), tElemsOf(vals)
		n := out.Len()
		for i := 0; i < n; i++ {
			dst.copy(i, src, 0, 1)
		}
		for i, v := range tToF32Any(idx) {
			j := int(v)
			if j < 0 {
				j += depth
			}
			if j < 0 || j >= depth {
				continue
			}
			o, k := i/inner, i%inner
			if o < outer {
				dst.copy((o*depth+j)*inner+k, src, 1, 1)
			}
		}
		return tOut(out, nil)
	}), nil
}

// tTrilu keeps the upper (j-i ≥ k) or lower (j-i ≤ k) triangle of the last two dimensions.
func tTrilu(b *BuildCtx) (Kernel, error) {
	upper := b.Node.AttrInt("upper", 1) != 0
	return KernelFunc(func(ctx *Ctx, in []*ir.Tensor) ([]*ir.Tensor, error) {
		if err := tNeed(in, 1); err != nil {
			return nil, err
		}
		x := in[0]
		if err := tCheckStorage(x); err != nil {
			return nil, err
		}
		if err := tMovable(x.DType); err != nil {
			return nil, err
		}
		if len(x.Shape) < 2 {
			return nil, Invalidf("input must have rank ≥ 2, got %v", x.Shape)
		}
		k := int64(0)
		if t := tOpt(in, 1); t != nil {
			var err error
			if k, err = tScalarInt(t, "k"); err != nil {
				return nil, err
			}
		}
		r := len(x.Shape)
		rows, cols := x.Shape[r-2], x.Shape[r-1]
		out := ctx.Alloc(x.DType, x.Shape...)
		dst, src := tElemsOf(out), tElemsOf(x)
		mats := tProd(x.Shape[:r-2])
		for m := 0; m < mats; m++ {
			for i := 0; i < rows; i++ {
				// Columns kept in row i form one run: [max(0, i+k), cols) for upper, [0, min(cols, i+k+1)) for lower.
				lo, hi := int64(0), int64(cols)
				if upper {
					lo = min(max(int64(i)+k, 0), int64(cols))
				} else {
					hi = min(max(int64(i)+k+1, 0), int64(cols))
				}
				if lo < hi {
					o := (m*rows+i)*cols + int(lo)
					dst.copy(o, src, o, int(hi-lo))
				}
			}
		}
		return tOut(out, nil)
	}), nil
}
