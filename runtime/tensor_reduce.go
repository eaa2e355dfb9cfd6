package runtime

import (
	"math"
	"sort"

	"github.com/hone-ml/hone/ir"
)

// tRedKind names a Reduce* op.
type tRedKind int

const (
	tRedSum tRedKind = iota
	tRedMean
	tRedMax
	tRedMin
	tRedProd
	tRedL1
	tRedL2
	tRedLogSum
	tRedLogSumExp
	tRedSumSquare
)

// tReduce builds a Reduce* op. Axes are an attribute before opset `from` (13 for ReduceSum, 18 for the others)
// and an optional input after; with no axes every axis is reduced, unless noop_with_empty_axes asks for Identity.
func tReduce(kind tRedKind, from int64) Builder {
	return func(b *BuildCtx) (Kernel, error) {
		keep := b.Node.AttrInt("keepdims", 1) != 0
		noop := b.Node.AttrInt("noop_with_empty_axes", 0) != 0
		return KernelFunc(func(ctx *Ctx, in []*ir.Tensor) ([]*ir.Tensor, error) {
			if err := tNeed(in, 1); err != nil {
				return nil, err
			}
			x := in[0]
			if err := tCheckStorage(x); err != nil {
				return nil, err
			}
			axes, _, err := tAxesArg(b, in, 1, from)
			if err != nil {
				return nil, err
			}
			r := len(x.Shape)
			red := make([]bool, r)
			if len(axes) == 0 {
				if noop && b.Opset >= from {
					return []*ir.Tensor{x}, nil
				}
				for i := range red {
					red[i] = true
				}
			} else {
				ax, err := tAxes(axes, r)
				if err != nil {
					return nil, err
				}
				for _, a := range ax {
					red[a] = true
				}
			}
			return tOut(tReduceRun(ctx, kind, x, red, keep))
		}), nil
	}
}

func tReduceRun(ctx *Ctx, kind tRedKind, x *ir.Tensor, red []bool, keep bool) (*ir.Tensor, error) {
	var kshape, oshape []int
	for i, d := range x.Shape {
		if red[i] {
			kshape = append(kshape, 1)
			if keep {
				oshape = append(oshape, 1)
			}
		} else {
			kshape = append(kshape, d)
			oshape = append(oshape, d)
		}
	}
	count := 1
	for i, d := range x.Shape {
		if red[i] {
			count *= d
		}
	}
	ost := tStrides(kshape)
	for i := range ost {
		if red[i] {
			ost[i] = 0
		}
	}
	nOut := tProd(kshape)
	switch {
	case x.DType.IsFloat():
		vals := tRawOrF64(x)
		acc := tReduceT(kind, vals, x.Shape, ost, nOut, count)
		f := ir.New(ir.Float64, oshape...)
		copy(f.F64(), acc)
		return tCast(ctx, f, x.DType)
	case x.DType.IsInt():
		switch kind {
		case tRedL2, tRedLogSum, tRedLogSumExp:
			// Computed in float64 and truncated, as the reference casts the NumPy result.
			f, err := tCast(tScratch(), x, ir.Float64)
			if err != nil {
				return nil, err
			}
			r, err := tReduceRun(tScratch(), kind, f, red, keep)
			if err != nil {
				return nil, err
			}
			return tCast(ctx, r, x.DType)
		}
		var vals []int64
		if x.DType == ir.Int64 {
			vals = x.I64()
		} else {
			vals, _ = x.Int64s()
		}
		acc := tReduceT(kind, vals, x.Shape, ost, nOut, count)
		return tCast(ctx, ir.FromInt64(oshape, acc), x.DType)
	}
	return nil, Unsupportedf("dtype %s", x.DType)
}

// tRawOrF64 returns float64 values of a float tensor (a view when it already is float64).
func tRawOrF64(x *ir.Tensor) []float64 {
	if x.DType == ir.Float64 {
		return x.F64()
	}
	return tToF32Any(x)
}

// tReduceT accumulates vals (shape) into nOut outputs whose strides per input dim are ost (0 on reduced dims).
func tReduceT[A float64 | int64](kind tRedKind, vals []A, shape, ost []int, nOut, count int) []A {
	acc := make([]A, nOut)
	var init A
	switch kind {
	case tRedProd:
		init = 1
	case tRedMax:
		init = tLowest[A]()
	case tRedMin:
		init = tHighest[A]()
	}
	for i := range acc {
		acc[i] = init
	}
	var mx []A
	if kind == tRedLogSumExp {
		// Subtract the maximum before exponentiating so large inputs do not overflow.
		mx = tReduceT(tRedMax, vals, shape, ost, nOut, count)
	}
	// Walk the input once with a counter; o is the output slot of the current element.
	r := len(shape)
	idx := make([]int, r)
	o := 0
	n := tProd(shape)
	for i := 0; i < n; i++ {
		v := vals[i]
		switch kind {
		case tRedSum, tRedMean, tRedLogSum:
			acc[o] += v
		case tRedSumSquare, tRedL2:
			acc[o] += v * v
		case tRedL1:
			if v < 0 {
				v = -v
			}
			acc[o] += v
		case tRedProd:
			acc[o] *= v
		case tRedMax:
			if v > acc[o] || v != v {
				acc[o] = v
			}
		case tRedMin:
			if v < acc[o] || v != v {
				acc[o] = v
			}
		case tRedLogSumExp:
			acc[o] += A(math.Exp(float64(v - mx[o])))
		}
		for d := r - 1; d >= 0; d-- {
			idx[d]++
			o += ost[d]
			if idx[d] < shape[d] {
				break
			}
			o -= ost[d] * shape[d]
			idx[d] = 0
		}
	}
	for i := range acc {
		switch kind {
		case tRedMean:
			if count > 0 {
				acc[i] /= A(count)
			} else {
				acc[i] = A(math.NaN())
			}
		case tRedL2:
			acc[i] = A(math.Sqrt(float64(acc[i])))
		case tRedLogSum:
			acc[i] = A(math.Log(float64(acc[i])))
		case tRedLogSumExp:
			if count == 0 {
				acc[i] = A(math.Inf(-1))
			} else {
				acc[i] = A(math.Log(float64(acc[i]))) + mx[i]
			}
		}
	}
	return acc
}

// tLowest is the identity of max: -Inf for floats, the minimum int64 otherwise.
func tLowest[A float64 | int64]() A {
	var z A
	if _, ok := any(z).(float64); ok {
		return A(math.Inf(-1))
	}
	return A(math.MinInt64)
}

// tHighest is the identity of min.
func tHighest[A float64 | int64]() A {
	var z A
	if _, ok := any(z).(float64); ok {
		return A(math.Inf(1))
	}
	return A(math.MaxInt64)
}

// tArgExtreme builds ArgMax and ArgMin (select_last_index since opset 12).
func tArgExtreme(isMax bool) Builder {
	return func(b *BuildCtx) (Kernel, error) {
		axis := b.Node.AttrInt("axis", 0)
		keep := b.Node.AttrInt("keepdims", 1) != 0
		last := b.Node.AttrInt("select_last_index", 0) != 0
		return KernelFunc(func(ctx *Ctx, in []*ir.Tensor) ([]*ir.Tensor, error) {
			if err := tNeed(in, 1); err != nil {
				return nil, err
			}
			x := in[0]
			if err := tCheckStorage(x); err != nil {
				return nil, err
			}
			if !x.DType.IsFloat() && !x.DType.IsInt() {
				return nil, Unsupportedf("dtype %s", x.DType)
			}
			a, err := tAxis(axis, len(x.Shape))
			if err != nil {
				return nil, err
			}
			dim := x.Shape[a]
			if dim == 0 {
				return nil, Invalidf("cannot take the arg-extreme of an empty axis")
			}
			outer, inner := tProd(x.Shape[:a]), tProd(x.Shape[a+1:])
			shape := append([]int(nil), x.Shape...)
			if keep {
				shape[a] = 1
			} else {
				shape = append(shape[:a], shape[a+1:]...)
			}
			out := ctx.Alloc(ir.Int64, shape...)
			o := out.I64()
			if x.DType == ir.Int64 {
				// Compare int64 exactly: float64 cannot tell large neighbours apart.
				tArgLoop(x.I64(), o, outer, dim, inner, isMax, last)
			} else {
				tArgLoop(tToF32Any(x), o, outer, dim, inner, isMax, last)
			}
			return tOut(out, nil)
		}), nil
	}
}

func tArgLoop[A float64 | int64](vals []A, o []int64, outer, dim, inner int, isMax, last bool) {
	for p := 0; p < outer; p++ {
		for q := 0; q < inner; q++ {
			base := p*dim*inner + q
			best, bi := vals[base], 0
			for k := 1; k < dim; k++ {
				v := vals[base+k*inner]
				better := v > best
				if !isMax {
					better = v < best
				}
				if better || (last && v == best) {
					best, bi = v, k
				}
			}
			o[p*inner+q] = int64(bi)
		}
	}
}

// tCumSum builds CumSum with the exclusive and reverse attributes.
func tCumSum(b *BuildCtx) (Kernel, error) {
	excl := b.Node.AttrInt("exclusive", 0) != 0
	rev := b.Node.AttrInt("reverse", 0) != 0
	return KernelFunc(func(ctx *Ctx, in []*ir.Tensor) ([]*ir.Tensor, error) {
		if err := tNeed(in, 2); err != nil {
			return nil, err
		}
		x := in[0]
		if err := tCheckStorage(x); err != nil {
			return nil, err
		}
		ax, err := tScalarInt(in[1], "axis")
		if err != nil {
			return nil, err
		}
		a, err := tAxis(ax, len(x.Shape))
		if err != nil {
			return nil, err
		}
		outer, dim, inner := tProd(x.Shape[:a]), x.Shape[a], tProd(x.Shape[a+1:])
		out := ctx.Alloc(x.DType, x.Shape...)
		switch x.DType {
		case ir.Float32:
			tCumSumT(x.F32(), out.F32(), outer, dim, inner, excl, rev)
		case ir.Float64:
			tCumSumT(x.F64(), out.F64(), outer, dim, inner, excl, rev)
		case ir.Int32:
			tCumSumT(x.I32(), out.I32(), outer, dim, inner, excl, rev)
		case ir.Int64:
			tCumSumT(x.I64(), out.I64(), outer, dim, inner, excl, rev)
		case ir.Uint32:
			tCumSumT(x.U32(), out.U32(), outer, dim, inner, excl, rev)
		case ir.Uint64:
			tCumSumT(x.U64(), out.U64(), outer, dim, inner, excl, rev)
		case ir.Float16, ir.BFloat16:
			f := tToF32(x)
			o := ir.New(ir.Float32, x.Shape...)
			tCumSumT(f.F32(), o.F32(), outer, dim, inner, excl, rev)
			return tOut(tFromF32(o, x.DType), nil)
		default:
			return nil, Unsupportedf("dtype %s", x.DType)
		}
		return tOut(out, nil)
	}), nil
}

func tCumSumT[T tNum](x, y []T, outer, dim, inner int, excl, rev bool) {
	for p := 0; p < outer; p++ {
		for q := 0; q < inner; q++ {
			var s T
			for j := 0; j < dim; j++ {
				k := j
				if rev {
					k = dim - 1 - j
				}
				i := (p*dim+k)*inner + q
				if excl {
					y[i] = s
					s += x[i]
				} else {
					s += x[i]
					y[i] = s
				}
			}
		}
	}
}

// tTopK builds TopK: K is an attribute before opset 10 and an input after; ties keep the lower index first.
func tTopK(b *BuildCtx) (Kernel, error) {
	axis := b.Node.AttrInt("axis", -1)
	largest := b.Node.AttrInt("largest", 1) != 0
	attrK := b.Node.AttrInt("k", -1)
	return KernelFunc(func(ctx *Ctx, in []*ir.Tensor) ([]*ir.Tensor, error) {
		if err := tNeed(in, 1); err != nil {
			return nil, err
		}
		x := in[0]
		if err := tCheckStorage(x); err != nil {
			return nil, err
		}
		if !x.DType.IsFloat() && !x.DType.IsInt() {
			return nil, Unsupportedf("dtype %s", x.DType)
		}
		k := attrK
		if b.Opset >= 10 {
			if err := tNeed(in, 2); err != nil {
				return nil, err
			}
			var err error
			if k, err = tScalarInt(in[1], "K"); err != nil {
				return nil, err
			}
		}
		a, err := tAxis(axis, len(x.Shape))
		if err != nil {
			return nil, err
		}
		dim := x.Shape[a]
		if k < 0 || k > int64(dim) {
			return nil, Invalidf("K=%d is out of range for a dimension of %d", k, dim)
		}
		outer, inner := tProd(x.Shape[:a]), tProd(x.Shape[a+1:])
		shape := append([]int(nil), x.Shape...)
		shape[a] = int(k)
		vals := ctx.Alloc(x.DType, shape...)
		idx := ctx.Alloc(ir.Int64, shape...)
		xv := tToF32Any(x)
		var iv []int64
		if x.DType == ir.Int64 {
			iv = x.I64()
		}
		dst, src := tElemsOf(vals), tElemsOf(x)
		order := make([]int, dim)
		for p := 0; p < outer; p++ {
			for q := 0; q < inner; q++ {
				base := p*dim*inner + q
				for j := range order {
					order[j] = j
				}
				less := func(i, j int) bool {
					u, v := xv[base+order[i]*inner], xv[base+order[j]*inner]
					if iv != nil {
						ui, vi := iv[base+order[i]*inner], iv[base+order[j]*inner]
						if ui != vi {
							return (ui > vi) == largest
						}
						return order[i] < order[j]
					}
					if u != v {
						if largest {
							return u > v || v != v && u == u
						}
						return u < v
					}
					return order[i] < order[j]
				}
				sort.SliceStable(order, less)
				for j := 0; j < int(k); j++ {
					o := (p*int(k)+j)*inner + q
					dst.copy(o, src, base+order[j]*inner, 1)
					idx.I64()[o] = int64(order[j])
				}
			}
		}
		return []*ir.Tensor{vals, idx}, nil
	}), nil
}
