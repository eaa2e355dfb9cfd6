package runtime

import (
	"github.com/hone-ml/hone/ir"
)

// tIndices reads an index tensor and resolves negative indices against dim, rejecting out-of-range ones.
func tIndices(t *ir.Tensor, dim int) ([]int, error) {
	v, err := tInts(t, "indices")
	if err != nil {
		return nil, err
	}
	out := make([]int, len(v))
	for i, x := range v {
		if x < 0 {
			x += int64(dim)
		}
		if x < 0 || x >= int64(dim) {
			return nil, Invalidf("index %d is out of range [-%d, %d)", v[i], dim, dim)
		}
		out[i] = int(x)
	}
	return out, nil
}

// tAxisIndices validates the data and index operands shared by Gather, GatherElements and ScatterElements
// (storage, a movable dtype, the axis) and resolves the indices along that axis.
func tAxisIndices(data, idx *ir.Tensor, axis int64, extra ...*ir.Tensor) (a int, ids []int, err error) {
	if err := tCheckStorage(append([]*ir.Tensor{data, idx}, extra...)...); err != nil {
		return 0, nil, err
	}
	if err := tMovable(data.DType); err != nil {
		return 0, nil, err
	}
	if a, err = tAxis(axis, len(data.Shape)); err != nil {
		return 0, nil, err
	}
	ids, err = tIndices(idx, data.Shape[a])
	return a, ids, err
}

func tGather(b *BuildCtx) (Kernel, error) {
	axis := b.Node.AttrInt("axis", 0)
	return KernelFunc(func(ctx *Ctx, in []*ir.Tensor) ([]*ir.Tensor, error) {
		if err := tNeed(in, 2); err != nil {
			return nil, err
		}
		data, idx := in[0], in[1]
		a, ids, err := tAxisIndices(data, idx, axis)
		if err != nil {
			return nil, err
		}
		dim := data.Shape[a]
		shape := append(append(append([]int(nil), data.Shape[:a]...), idx.Shape...), data.Shape[a+1:]...)
		out := ctx.Alloc(data.DType, shape...)
		outer, inner := tProd(data.Shape[:a]), tProd(data.Shape[a+1:])
		dst, src := tElemsOf(out), tElemsOf(data)
		for o := 0; o < outer; o++ {
			for k, id := range ids {
				dst.copy((o*len(ids)+k)*inner, src, (o*dim+id)*inner, inner)
			}
		}
		return tOut(out, nil)
	}), nil
}

// tElementOffsets maps every element of an index tensor (same rank as data) to its flat offset in data, with
// the index value replacing the coordinate along axis. GatherElements and ScatterElements share it.
func tElementOffsets(dataShape, idxShape []int, axis int, ids []int) ([]int, error) {
	if len(idxShape) != len(dataShape) {
		return nil, Invalidf("indices %v and data %v differ in rank", idxShape, dataShape)
	}
	for d := range idxShape {
		if d != axis && idxShape[d] > dataShape[d] {
			return nil, Invalidf("indices %v exceed data %v outside axis %d", idxShape, dataShape, axis)
		}
	}
	st := tStrides(dataShape)
	offs := make([]int, len(ids))
	coord := make([]int, len(idxShape))
	for i, id := range ids {
		o := 0
		for d, c := range coord {
			if d == axis {
				c = id
			}
			o += c * st[d]
		}
		offs[i] = o
		for d := len(coord) - 1; d >= 0; d-- {
			coord[d]++
			if coord[d] < idxShape[d] {
				break
			}
			coord[d] = 0
		}
	}
	return offs, nil
}

func tGatherElements(b *BuildCtx) (Kernel, error) {
	axis := b.Node.AttrInt("axis", 0)
	return KernelFunc(func(ctx *Ctx, in []*ir.Tensor) ([]*ir.Tensor, error) {
		if err := tNeed(in, 2); err != nil {
			return nil, err
		}
		data, idx := in[0], in[1]
		a, ids, err := tAxisIndices(data, idx, axis)
		if err != nil {
			return nil, err
		}
		offs, err := tElementOffsets(data.Shape, idx.Shape, a, ids)
		if err != nil {
			return nil, err
		}
		out := ctx.Alloc(data.DType, idx.Shape...)
		dst, src := tElemsOf(out), tElemsOf(data)
		for i, o := range offs {
			dst.copy(i, src, o, 1)
		}
		return tOut(out, nil)
	}), nil
}

// tNDOffsets resolves GatherND/ScatterND index tuples: for each tuple it returns the flat offset of the slice it
// selects in data, and the slice length.
func tNDOffsets(dataShape []int, idx *ir.Tensor, batch int) (offs []int, slice int, err error) {
	q := len(idx.Shape)
	if q < 1 || batch < 0 || batch >= q || batch > len(dataShape) {
		return nil, 0, Invalidf("indices %v and batch_dims %d do not fit data %v", idx.Shape, batch, dataShape)
	}
	m := idx.Shape[q-1]
	if batch+m > len(dataShape) {
		return nil, 0, Invalidf("index tuples of length %d exceed data rank %d", m, len(dataShape))
	}
	for d := 0; d < batch; d++ {
		if idx.Shape[d] != dataShape[d] {
			return nil, 0, Invalidf("batch dimensions of indices %v and data %v differ", idx.Shape, dataShape)
		}
	}
	v, err := tInts(idx, "indices")
	if err != nil {
		return nil, 0, err
	}
	st := tStrides(dataShape)
	slice = tProd(dataShape[batch+m:])
	tuples := tProd(idx.Shape[:q-1])
	batches := tProd(idx.Shape[:batch])
	per := 1
	if batches > 0 {
		per = tuples / batches
	}
	batchSize := tProd(dataShape[batch:])
	offs = make([]int, tuples)
	for t := 0; t < tuples; t++ {
		o := (t / max(per, 1)) * batchSize
		for j := 0; j < m; j++ {
			x := v[t*m+j]
			dim := int64(dataShape[batch+j])
			if x < 0 {
				x += dim
			}
			if x < 0 || x >= dim {
				return nil, 0, Invalidf("index %d is out of range for dimension of size %d", v[t*m+j], dim)
			}
			o += int(x) * st[batch+j]
		}
		offs[t] = o
	}
	return offs, slice, nil
}

func tGatherND(b *BuildCtx) (Kernel, error) {
	batch := int(b.Node.AttrInt("batch_dims", 0))
	return KernelFunc(func(ctx *Ctx, in []*ir.Tensor) ([]*ir.Tensor, error) {
		if err := tNeed(in, 2); err != nil {
			return nil, err
		}
		data, idx := in[0], in[1]
		if err := tCheckStorage(data, idx); err != nil {
			return nil, err
		}
		if err := tMovable(data.DType); err != nil {
			return nil, err
		}
		offs, slice, err := tNDOffsets(data.Shape, idx, batch)
		if err != nil {
			return nil, err
		}
		q := len(idx.Shape)
		shape := append(append([]int(nil), idx.Shape[:q-1]...), data.Shape[batch+idx.Shape[q-1]:]...)
		out := ctx.Alloc(data.DType, shape...)
		dst, src := tElemsOf(out), tElemsOf(data)
		for t, o := range offs {
			dst.copy(t*slice, src, o, slice)
		}
		return tOut(out, nil)
	}), nil
}

// tCombiner returns a function that merges n update elements into out at dOff from upd at sOff with the
// ScatterND/ScatterElements reduction ("none" overwrites).
func tCombiner(out, upd *ir.Tensor, red string) (func(dOff, sOff, n int), error) {
	if red == "none" || red == "" {
		dst, src := tElemsOf(out), tElemsOf(upd)
		return func(d, s, n int) { dst.copy(d, src, s, n) }, nil
	}
	switch out.DType {
	case ir.Float32:
		return tCombineT[float32](out, upd, red)
	case ir.Float64:
		return tCombineT[float64](out, upd, red)
	case ir.Int8:
		return tCombineT[int8](out, upd, red)
	case ir.Int16:
		return tCombineT[int16](out, upd, red)
	case ir.Int32:
		return tCombineT[int32](out, upd, red)
	case ir.Int64:
		return tCombineT[int64](out, upd, red)
	case ir.Uint8:
		return tCombineT[uint8](out, upd, red)
	case ir.Uint16:
		return tCombineT[uint16](out, upd, red)
	case ir.Uint32:
		return tCombineT[uint32](out, upd, red)
	case ir.Uint64:
		return tCombineT[uint64](out, upd, red)
	}
	return nil, Unsupportedf("reduction %q on %s", red, out.DType)
}

func tCombineT[T tNum](out, upd *ir.Tensor, red string) (func(dOff, sOff, n int), error) {
	var f func(a, b T) T
	switch red {
	case "add":
		f = func(a, b T) T { return a + b }
	case "mul":
		f = func(a, b T) T { return a * b }
	case "max":
		f = func(a, b T) T { return max(a, b) }
	case "min":
		f = func(a, b T) T { return min(a, b) }
	default:
		return nil, Unsupportedf("reduction %q", red)
	}
	dst, src := tRaw[T](out), tRaw[T](upd)
	return func(d, s, n int) {
		for i := 0; i < n; i++ {
			dst[d+i] = f(dst[d+i], src[s+i])
		}
	}, nil
}

// tCopyOf returns a fresh copy of x for ops that update a copy of their input.
func tCopyOf(ctx *Ctx, x *ir.Tensor) *ir.Tensor {
	out := ctx.Alloc(x.DType, x.Shape...)
	tElemsOf(out).copy(0, tElemsOf(x), 0, x.Len())
	return out
}

func tScatterND(b *BuildCtx) (Kernel, error) {
	red := b.Node.AttrString("reduction", "none")
	return KernelFunc(func(ctx *Ctx, in []*ir.Tensor) ([]*ir.Tensor, error) {
		if err := tNeed(in, 3); err != nil {
			return nil, err
		}
		data, idx, upd := in[0], in[1], in[2]
		if err := tCheckStorage(data, idx, upd); err != nil {
			return nil, err
		}
		if err := tMovable(data.DType); err != nil {
			return nil, err
		}
		if upd.DType != data.DType {
			return nil, Invalidf("updates dtype %s differs from data %s", upd.DType, data.DType)
		}
		offs, slice, err := tNDOffsets(data.Shape, idx, 0)
		if err != nil {
			return nil, err
		}
		if upd.Len() != len(offs)*slice {
			return nil, Invalidf("updates %v do not match indices %v and data %v", upd.Shape, idx.Shape, data.Shape)
		}
		out := tCopyOf(ctx, data)
		apply, err := tCombiner(out, upd, red)
		if err != nil {
			return nil, err
		}
		for t, o := range offs {
			apply(o, t*slice, slice)
		}
		return tOut(out, nil)
	}), nil
}

func tScatterElements(b *BuildCtx) (Kernel, error) {
	axis := b.Node.AttrInt("axis", 0)
	red := b.Node.AttrString("reduction", "none")
	return KernelFunc(func(ctx *Ctx, in []*ir.Tensor) ([]*ir.Tensor, error) {
		if err := tNeed(in, 3); err != nil {
			return nil, err
		}
		data, idx, upd := in[0], in[1], in[2]
		if upd.DType != data.DType || len(upd.Shape) != len(idx.Shape) || upd.Len() != idx.Len() {
			return nil, Invalidf("updates %v must match indices %v and data dtype %s", upd, idx.Shape, data.DType)
		}
		a, ids, err := tAxisIndices(data, idx, axis, upd)
		if err != nil {
			return nil, err
		}
		offs, err := tElementOffsets(data.Shape, idx.Shape, a, ids)
		if err != nil {
			return nil, err
		}
		out := tCopyOf(ctx, data)
		apply, err := tCombiner(out, upd, red)
		if err != nil {
			return nil, err
		}
		for i, o := range offs {
			apply(o, i, 1)
		}
		return tOut(out, nil)
	}), nil
}

// tPad builds Pad: pads (and value) are attributes before opset 11 and inputs after; axes is an input from 18.
func tPad(b *BuildCtx) (Kernel, error) {
	mode := b.Node.AttrString("mode", "constant")
	switch mode {
	case "constant", "reflect", "edge", "wrap":
	default:
		return nil, Unsupportedf("mode %q", mode)
	}
	attrPads := b.Node.AttrInts("pads", nil)
	attrVal := b.Node.AttrFloat("value", 0)
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
		r := len(x.Shape)
		pads := attrPads
		cval := ir.New(x.DType, 1)
		if b.Opset < 11 {
			c, err := tCast(tScratch(), ir.FromFloat32([]int{1}, []float32{attrVal}), x.DType)
			if err != nil {
				return nil, err
			}
			cval = c
		} else {
			if err := tNeed(in, 2); err != nil {
				return nil, err
			}
			var err error
			if pads, err = tInts(in[1], "pads"); err != nil {
				return nil, err
			}
			if c := tOpt(in, 2); c != nil && c.Len() > 0 {
				if c.DType != x.DType {
					return nil, Invalidf("constant_value dtype %s differs from data %s", c.DType, x.DType)
				}
				cval = c
			}
		}
		axes := make([]int, r)
		for i := range axes {
			axes[i] = i
		}
		if t := tOpt(in, 3); t != nil {
			a64, err := tInts(t, "axes")
			if err != nil {
				return nil, err
			}
			if axes, err = tAxes(a64, r); err != nil {
				return nil, err
			}
		}
		if len(pads) != 2*len(axes) {
			return nil, Invalidf("pads %v must have 2×%d values", pads, len(axes))
		}
		begin, end := make([]int, r), make([]int, r)
		for i, a := range axes {
			begin[a], end[a] = int(pads[i]), int(pads[len(axes)+i])
		}
		shape := make([]int, r)
		maps := make([][]int, r)
		for d := 0; d < r; d++ {
			dim := x.Shape[d]
			shape[d] = dim + begin[d] + end[d]
			if shape[d] < 0 {
				return nil, Invalidf("pads %v remove more than dimension %d holds", pads, d)
			}
			if dim == 0 && shape[d] > 0 && mode != "constant" {
				return nil, Invalidf("cannot %s-pad an empty dimension", mode)
			}
			maps[d] = make([]int, shape[d])
			for j := range maps[d] {
				maps[d][j] = tPadIndex(j-begin[d], dim, mode)
			}
		}
		out := ctx.Alloc(x.DType, shape...)
		if out.Len() == 0 {
			return tOut(out, nil)
		}
		dst, src, cv := tElemsOf(out), tElemsOf(x), tElemsOf(cval)
		st := tStrides(x.Shape)
		inner := shape[r-1]
		rows := out.Len() / max(inner, 1)
		idx := make([]int, r)
		for row := 0; row < rows; row++ {
			off, inside := 0, true
			for d := 0; d < r-1; d++ {
				m := maps[d][idx[d]]
				if m < 0 {
					inside = false
					break
				}
				off += m * st[d]
			}
			for j, m := range maps[r-1] {
				if !inside || m < 0 {
					dst.copy(row*inner+j, cv, 0, 1)
				} else {
					dst.copy(row*inner+j, src, off+m, 1)
				}
			}
			for d := r - 2; d >= 0; d-- {
				idx[d]++
				if idx[d] < shape[d] {
					break
				}
				idx[d] = 0
			}
		}
		return tOut(out, nil)
	}), nil
}

// tPadIndex maps a coordinate i (possibly outside [0, dim)) to its source coordinate, or -1 for the constant.
func tPadIndex(i, dim int, mode string) int {
	if i >= 0 && i < dim {
		return i
	}
	switch mode {
	case "edge":
		return min(max(i, 0), dim-1)
	case "wrap":
		return ((i % dim) + dim) % dim
	case "reflect":
		if dim == 1 {
			return 0
		}
		period := 2 * (dim - 1)
		i = ((i % period) + period) % period
		if i >= dim {
			i = period - i
		}
		return i
	}
	return -1
}

// tNonZero lists the coordinates of non-zero elements, one row per dimension (NumPy's nonzero).
func tNonZero(ctx *Ctx, in []*ir.Tensor) (*ir.Tensor, error) {
	x := in[0]
	if err := tCheckStorage(x); err != nil {
		return nil, err
	}
	if x.DType == ir.String || !x.DType.Valid() {
		return nil, Unsupportedf("dtype %s", x.DType)
	}
	vals := tToF32Any(x)
	var hits []int
	for i, v := range vals {
		if v != 0 {
			hits = append(hits, i)
		}
	}
	r := len(x.Shape)
	out := ctx.Alloc(ir.Int64, r, len(hits))
	o := out.I64()
	st := tStrides(x.Shape)
	for k, h := range hits {
		for d := 0; d < r; d++ {
			o[d*len(hits)+k] = int64(h / st[d] % x.Shape[d])
		}
	}
	return out, nil
}

// tCompress keeps the slices along axis (or the elements of the flattened input) whose condition is true.
func tCompress(b *BuildCtx) (Kernel, error) {
	hasAxis := b.Node.Attr("axis") != nil
	axis := b.Node.AttrInt("axis", 0)
	return KernelFunc(func(ctx *Ctx, in []*ir.Tensor) ([]*ir.Tensor, error) {
		if err := tNeed(in, 2); err != nil {
			return nil, err
		}
		x, cond := in[0], in[1]
		if err := tCheckStorage(x, cond); err != nil {
			return nil, err
		}
		if err := tMovable(x.DType); err != nil {
			return nil, err
		}
		if cond.DType != ir.Bool || len(cond.Shape) != 1 {
			return nil, Invalidf("condition must be a 1-D bool tensor, got %v", cond)
		}
		shape := x.Shape
		a := 0
		if hasAxis {
			var err error
			if a, err = tAxis(axis, len(x.Shape)); err != nil {
				return nil, err
			}
		} else {
			shape = []int{x.Len()}
		}
		dim := shape[a]
		c := cond.BoolData()
		if len(c) > dim {
			return nil, Invalidf("condition has %d entries for a dimension of %d", len(c), dim)
		}
		var keep []int
		for i, v := range c {
			if v {
				keep = append(keep, i)
			}
		}
		oshape := append([]int(nil), shape...)
		oshape[a] = len(keep)
		out := ctx.Alloc(x.DType, oshape...)
		outer, inner := tProd(shape[:a]), tProd(shape[a+1:])
		dst, src := tElemsOf(out), tElemsOf(x)
		for o := 0; o < outer; o++ {
			for k, i := range keep {
				dst.copy((o*len(keep)+k)*inner, src, (o*dim+i)*inner, inner)
			}
		}
		return tOut(out, nil)
	}), nil
}
