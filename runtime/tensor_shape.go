package runtime

import (
	"math"

	"github.com/hone-ml/hone/ir"
)

// tKernel adapts a one-output function to a Builder that ignores build-time facts.
func tKernel(n int, f func(ctx *Ctx, in []*ir.Tensor) (*ir.Tensor, error)) Builder {
	return func(*BuildCtx) (Kernel, error) {
		return KernelFunc(func(ctx *Ctx, in []*ir.Tensor) ([]*ir.Tensor, error) {
			if err := tNeed(in, n); err != nil {
				return nil, err
			}
			return tOut(f(ctx, in))
		}), nil
	}
}

func tIdentity(*BuildCtx) (Kernel, error) {
	return KernelFunc(func(ctx *Ctx, in []*ir.Tensor) ([]*ir.Tensor, error) {
		if err := tNeed(in, 1); err != nil {
			return nil, err
		}
		return []*ir.Tensor{in[0]}, nil
	}), nil
}

// tShape builds Shape; opset 15 added start and end, clamped like Slice's.
func tShape(b *BuildCtx) (Kernel, error) {
	start := b.Node.AttrInt("start", 0)
	end := b.Node.AttrInt("end", math.MaxInt64)
	return KernelFunc(func(ctx *Ctx, in []*ir.Tensor) ([]*ir.Tensor, error) {
		if err := tNeed(in, 1); err != nil {
			return nil, err
		}
		r := int64(len(in[0].Shape))
		s, e := start, end
		if s < 0 {
			s += r
		}
		if e < 0 {
			e += r
		}
		s, e = min(max(s, 0), r), min(max(e, 0), r)
		out := ctx.Alloc(ir.Int64, int(max(e-s, 0)))
		for i := range out.I64() {
			out.I64()[i] = int64(in[0].Shape[int(s)+i])
		}
		return tOut(out, nil)
	}), nil
}

func tSize(ctx *Ctx, in []*ir.Tensor) (*ir.Tensor, error) {
	out := ctx.Alloc(ir.Int64)
	out.I64()[0] = int64(in[0].Len())
	return out, nil
}

// tReshape builds Reshape: 0 copies the input dimension (unless allowzero, opset 14), -1 is inferred.
func tReshape(b *BuildCtx) (Kernel, error) {
	allowZero := b.Node.AttrInt("allowzero", 0) != 0
	attrShape := b.Node.AttrInts("shape", nil) // opset 1-4
	return KernelFunc(func(ctx *Ctx, in []*ir.Tensor) ([]*ir.Tensor, error) {
		if err := tNeed(in, 1); err != nil {
			return nil, err
		}
		want := attrShape
		if b.Opset >= 5 || len(in) > 1 {
			if err := tNeed(in, 2); err != nil {
				return nil, err
			}
			var err error
			if want, err = tInts(in[1], "shape"); err != nil {
				return nil, err
			}
		}
		shape, err := tReshapeDims(in[0].Shape, want, allowZero)
		if err != nil {
			return nil, err
		}
		return tOut(in[0].Reshape(shape...))
	}), nil
}

func tReshapeDims(from []int, want []int64, allowZero bool) ([]int, error) {
	shape := make([]int, len(want))
	infer := -1
	known := 1
	for i, d := range want {
		switch {
		case d == 0 && !allowZero:
			if i >= len(from) {
				return nil, Invalidf("shape %v copies dimension %d of %v, which does not exist", want, i, from)
			}
			shape[i] = from[i]
		case d == -1:
			if infer >= 0 {
				return nil, Invalidf("shape %v has more than one -1", want)
			}
			infer = i
			continue
		case d < 0:
			return nil, Invalidf("shape %v has a negative dimension", want)
		default:
			shape[i] = int(d)
		}
		known *= shape[i]
	}
	n := tProd(from)
	if infer >= 0 {
		if known == 0 || n%known != 0 {
			return nil, Invalidf("cannot reshape %v to %v", from, want)
		}
		shape[infer] = n / known
	}
	if tProd(shape) != n {
		return nil, Invalidf("cannot reshape %v to %v", from, want)
	}
	return shape, nil
}

func tFlatten(b *BuildCtx) (Kernel, error) {
	axis := b.Node.AttrInt("axis", 1)
	return KernelFunc(func(ctx *Ctx, in []*ir.Tensor) ([]*ir.Tensor, error) {
		if err := tNeed(in, 1); err != nil {
			return nil, err
		}
		x := in[0]
		r := len(x.Shape)
		a := axis
		if a < 0 {
			a += int64(r)
		}
		if a < 0 || a > int64(r) {
			return nil, Invalidf("axis %d is out of range for rank %d", axis, r)
		}
		return tOut(x.Reshape(tProd(x.Shape[:a]), tProd(x.Shape[a:])))
	}), nil
}

// tAxesArg reads the axes of Squeeze/Unsqueeze/Reduce*: an attribute before opset `from`, the optional input i
// after. ok is false when no axes were given at all.
func tAxesArg(b *BuildCtx, in []*ir.Tensor, i int, from int64) (axes []int64, ok bool, err error) {
	if b.Opset < from {
		a := b.Node.Attr("axes")
		if a == nil {
			return nil, false, nil
		}
		return a.Ints, true, nil
	}
	t := tOpt(in, i)
	if t == nil {
		return nil, false, nil
	}
	axes, err = tInts(t, "axes")
	return axes, true, err
}

func tSqueeze(b *BuildCtx) (Kernel, error) {
	return KernelFunc(func(ctx *Ctx, in []*ir.Tensor) ([]*ir.Tensor, error) {
		if err := tNeed(in, 1); err != nil {
			return nil, err
		}
		x := in[0]
		axes, given, err := tAxesArg(b, in, 1, 13)
		if err != nil {
			return nil, err
		}
		drop := make([]bool, len(x.Shape))
		if given {
			ax, err := tAxes(axes, len(x.Shape))
			if err != nil {
				return nil, err
			}
			for _, a := range ax {
				if x.Shape[a] != 1 {
					return nil, Invalidf("cannot squeeze axis %d of shape %v", a, x.Shape)
				}
				drop[a] = true
			}
		} else {
			for i, d := range x.Shape {
				drop[i] = d == 1
			}
		}
		var shape []int
		for i, d := range x.Shape {
			if !drop[i] {
				shape = append(shape, d)
			}
		}
		return tOut(x.Reshape(shape...))
	}), nil
}

func tUnsqueeze(b *BuildCtx) (Kernel, error) {
	return KernelFunc(func(ctx *Ctx, in []*ir.Tensor) ([]*ir.Tensor, error) {
		if err := tNeed(in, 1); err != nil {
			return nil, err
		}
		x := in[0]
		axes, given, err := tAxesArg(b, in, 1, 13)
		if err != nil {
			return nil, err
		}
		if !given {
			return nil, Invalidf("axes are required")
		}
		r := len(x.Shape) + len(axes)
		ax, err := tAxes(axes, r)
		if err != nil {
			return nil, err
		}
		ins := make([]bool, r)
		for _, a := range ax {
			ins[a] = true
		}
		shape := make([]int, r)
		j := 0
		for i := range shape {
			if ins[i] {
				shape[i] = 1
			} else {
				shape[i] = x.Shape[j]
				j++
			}
		}
		return tOut(x.Reshape(shape...))
	}), nil
}

func tTranspose(b *BuildCtx) (Kernel, error) {
	perm64 := b.Node.AttrInts("perm", nil)
	return KernelFunc(func(ctx *Ctx, in []*ir.Tensor) ([]*ir.Tensor, error) {
		if err := tNeed(in, 1); err != nil {
			return nil, err
		}
		x := in[0]
		if err := tCheckStorage(x); err != nil {
			return nil, err
		}
		r := len(x.Shape)
		perm := make([]int, r)
		for i := range perm {
			perm[i] = r - 1 - i
		}
		if perm64 != nil {
			if len(perm64) != r {
				return nil, Invalidf("perm %v does not match rank %d", perm64, r)
			}
			for i, p := range perm64 {
				perm[i] = int(p)
			}
		}
		return tOut(tPermute(ctx, x, x.Shape, perm))
	}), nil
}

// tSliceRange clamps one axis of a Slice as ONNX specifies and returns the first index and the count.
func tSliceRange(start, end, step int64, dim int) (int, int) {
	d := int64(dim)
	if start < 0 {
		start += d
	}
	if end < 0 {
		end += d
	}
	var n int64
	if step > 0 {
		start, end = min(max(start, 0), d), min(max(end, 0), d)
		n = (end - start + step - 1) / step
	} else {
		start, end = min(max(start, 0), d-1), min(max(end, -1), d-1)
		n = (start - end + (-step) - 1) / (-step)
	}
	return int(start), int(max(n, 0))
}

// tSlice builds Slice: starts/ends/axes are attributes before opset 10 and inputs (with steps) after.
func tSlice(b *BuildCtx) (Kernel, error) {
	n := b.Node
	return KernelFunc(func(ctx *Ctx, in []*ir.Tensor) ([]*ir.Tensor, error) {
		if err := tNeed(in, 1); err != nil {
			return nil, err
		}
		x := in[0]
		if err := tCheckStorage(x); err != nil {
			return nil, err
		}
		var starts, ends, axes, steps []int64
		if b.Opset < 10 {
			starts, ends, axes = n.AttrInts("starts", nil), n.AttrInts("ends", nil), n.AttrInts("axes", nil)
		} else {
			if err := tNeed(in, 3); err != nil {
				return nil, err
			}
			var err error
			if starts, err = tInts(in[1], "starts"); err != nil {
				return nil, err
			}
			if ends, err = tInts(in[2], "ends"); err != nil {
				return nil, err
			}
			if t := tOpt(in, 3); t != nil {
				if axes, err = tInts(t, "axes"); err != nil {
					return nil, err
				}
			}
			if t := tOpt(in, 4); t != nil {
				if steps, err = tInts(t, "steps"); err != nil {
					return nil, err
				}
			}
		}
		r := len(x.Shape)
		if len(starts) != len(ends) {
			return nil, Invalidf("starts %v and ends %v differ in length", starts, ends)
		}
		if axes == nil {
			axes = make([]int64, len(starts))
			for i := range axes {
				axes[i] = int64(i)
			}
		}
		if steps == nil {
			steps = make([]int64, len(starts))
			for i := range steps {
				steps[i] = 1
			}
		}
		if len(axes) != len(starts) || len(steps) != len(starts) {
			return nil, Invalidf("starts, ends, axes and steps differ in length")
		}
		ax, err := tAxes(axes, r)
		if err != nil {
			return nil, err
		}
		shape := append([]int(nil), x.Shape...)
		st := tStrides(x.Shape)
		base := 0
		for i, a := range ax {
			if steps[i] == 0 {
				return nil, Invalidf("step must not be 0")
			}
			s, cnt := tSliceRange(starts[i], ends[i], steps[i], x.Shape[a])
			shape[a] = cnt
			if cnt > 0 {
				base += s * st[a]
			}
			st[a] *= int(steps[i])
		}
		out := ctx.Alloc(x.DType, shape...)
		return tOut(out, tStridedCopy(ctx, out, x, shape, st, base))
	}), nil
}

func tConcat(b *BuildCtx) (Kernel, error) {
	// Concat-1 defaulted axis to 1; from opset 4 it is required.
	axis := b.Node.AttrInt("axis", 1)
	if b.Node.Attr("axis") == nil && b.Opset >= 4 {
		return nil, Invalidf("attribute axis is required")
	}
	return KernelFunc(func(ctx *Ctx, in []*ir.Tensor) ([]*ir.Tensor, error) {
		if err := tNeed(in, 1); err != nil {
			return nil, err
		}
		x0 := in[0]
		if err := tNeed(in, len(in)); err != nil {
			return nil, err
		}
		if err := tCheckStorage(in...); err != nil {
			return nil, err
		}
		if err := tMovable(x0.DType); err != nil {
			return nil, err
		}
		r := len(x0.Shape)
		a, err := tAxis(axis, r)
		if err != nil {
			return nil, err
		}
		shape := append([]int(nil), x0.Shape...)
		shape[a] = 0
		for _, t := range in {
			if t.DType != x0.DType || len(t.Shape) != r {
				return nil, Invalidf("inputs %v and %v cannot be concatenated", x0, t)
			}
			for d := range t.Shape {
				if d != a && t.Shape[d] != x0.Shape[d] {
					return nil, Invalidf("inputs %v and %v differ outside axis %d", x0, t, a)
				}
			}
			shape[a] += t.Shape[a]
		}
		out := ctx.Alloc(x0.DType, shape...)
		outer := tProd(shape[:a])
		inner := tProd(shape[a+1:])
		dst := tElemsOf(out)
		rowOut := shape[a] * inner
		off := 0
		for _, t := range in {
			src := tElemsOf(t)
			n := t.Shape[a] * inner
			for o := 0; o < outer; o++ {
				dst.copy(o*rowOut+off, src, o*n, n)
			}
			off += n
		}
		return tOut(out, nil)
	}), nil
}

// tSplit builds Split: sizes come from the split attribute (≤ 12), the split input (≥ 13), num_outputs (≥ 18)
// or an equal division among the outputs.
func tSplit(b *BuildCtx) (Kernel, error) {
	axis := b.Node.AttrInt("axis", 0)
	attrSplit := b.Node.AttrInts("split", nil)
	numOut := b.Node.AttrInt("num_outputs", 0)
	nout := len(b.Node.Outputs)
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
		a, err := tAxis(axis, len(x.Shape))
		if err != nil {
			return nil, err
		}
		dim := x.Shape[a]
		split := attrSplit
		if b.Opset >= 13 {
			split = nil
			if t := tOpt(in, 1); t != nil {
				if split, err = tInts(t, "split"); err != nil {
					return nil, err
				}
			}
		}
		if split == nil {
			parts := nout
			if numOut > 0 {
				parts = int(numOut)
			}
			if parts <= 0 {
				return nil, Invalidf("no outputs to split into")
			}
			chunk := (dim + parts - 1) / parts
			if numOut == 0 && dim%parts != 0 {
				return nil, Invalidf("dimension %d does not split evenly into %d outputs", dim, parts)
			}
			for i := 0; i < parts; i++ {
				split = append(split, int64(max(0, min(chunk, dim-i*chunk))))
			}
		}
		if len(split) != nout {
			return nil, Invalidf("split %v has %d parts for %d outputs", split, len(split), nout)
		}
		total := int64(0)
		for _, s := range split {
			if s < 0 {
				return nil, Invalidf("split %v has a negative size", split)
			}
			total += s
		}
		if total != int64(dim) {
			return nil, Invalidf("split %v does not add up to dimension %d", split, dim)
		}
		outer, inner := tProd(x.Shape[:a]), tProd(x.Shape[a+1:])
		src := tElemsOf(x)
		outs := make([]*ir.Tensor, nout)
		off := 0
		for i, s := range split {
			shape := append([]int(nil), x.Shape...)
			shape[a] = int(s)
			outs[i] = ctx.allocRaw(x.DType, shape...) // every element is copied below
			dst := tElemsOf(outs[i])
			n := int(s) * inner
			for o := 0; o < outer; o++ {
				dst.copy(o*n, src, o*dim*inner+off, n)
			}
			off += n
		}
		return outs, nil
	}), nil
}

// tBroadcastView computes strides that read x (right-aligned) as shape, with 0 where x is broadcast.
func tBroadcastView(x []int, shape []int) []int {
	st := make([]int, len(shape))
	xs := tStrides(x)
	off := len(shape) - len(x)
	for i := range x {
		if x[i] != 1 {
			st[off+i] = xs[i]
		}
	}
	return st
}

func tExpand(ctx *Ctx, in []*ir.Tensor) (*ir.Tensor, error) {
	x := in[0]
	if err := tCheckStorage(x); err != nil {
		return nil, err
	}
	want, err := tInts(in[1], "shape")
	if err != nil {
		return nil, err
	}
	ws := make([]int, len(want))
	for i, d := range want {
		if d < 0 {
			return nil, Invalidf("shape %v has a negative dimension", want)
		}
		ws[i] = int(d)
	}
	p, err := tBroadcast(x.Shape, ws)
	if err != nil {
		return nil, err
	}
	out := ctx.Alloc(x.DType, p.shape...)
	return out, tStridedCopy(ctx, out, x, p.shape, tBroadcastView(x.Shape, p.shape), 0)
}

// tTile repeats x: viewed as dims (repeat₀, d₀, repeat₁, d₁, …) with stride 0 on the repeats, the output is a
// strided copy.
func tTile(ctx *Ctx, in []*ir.Tensor) (*ir.Tensor, error) {
	x := in[0]
	if err := tCheckStorage(x); err != nil {
		return nil, err
	}
	reps, err := tInts(in[1], "repeats")
	if err != nil {
		return nil, err
	}
	if len(reps) != len(x.Shape) {
		return nil, Invalidf("repeats %v do not match rank %d", reps, len(x.Shape))
	}
	xs := tStrides(x.Shape)
	var dims, st []int
	shape := make([]int, len(x.Shape))
	for i, r := range reps {
		if r < 0 {
			return nil, Invalidf("repeats %v has a negative value", reps)
		}
		dims = append(dims, int(r), x.Shape[i])
		st = append(st, 0, xs[i])
		shape[i] = int(r) * x.Shape[i]
	}
	out := ctx.Alloc(x.DType, shape...)
	return out, tStridedCopy(ctx, out, x, dims, st, 0)
}

// tDepthSpace builds DepthToSpace (DCR or CRD order) and SpaceToDepth as a reshape, a permutation and a reshape.
func tDepthSpace(b *BuildCtx) (Kernel, error) {
	bs := int(b.Node.AttrInt("blocksize", 0))
	if bs <= 0 {
		return nil, Invalidf("blocksize must be positive, got %d", bs)
	}
	toSpace := b.Node.OpType == "DepthToSpace"
	mode := b.Node.AttrString("mode", "DCR")
	if mode != "DCR" && mode != "CRD" {
		return nil, Unsupportedf("mode %q", mode)
	}
	return KernelFunc(func(ctx *Ctx, in []*ir.Tensor) ([]*ir.Tensor, error) {
		if err := tNeed(in, 1); err != nil {
			return nil, err
		}
		x := in[0]
		if err := tCheckStorage(x); err != nil {
			return nil, err
		}
		if len(x.Shape) != 4 {
			return nil, Invalidf("input must be 4-D, got %v", x.Shape)
		}
		n, c, h, w := x.Shape[0], x.Shape[1], x.Shape[2], x.Shape[3]
		var view, perm, final []int
		switch {
		case toSpace:
			if c%(bs*bs) != 0 {
				return nil, Invalidf("channels %d not divisible by blocksize² %d", c, bs*bs)
			}
			cc := c / (bs * bs)
			final = []int{n, cc, h * bs, w * bs}
			if mode == "DCR" {
				view, perm = []int{n, bs, bs, cc, h, w}, []int{0, 3, 4, 1, 5, 2}
			} else {
				view, perm = []int{n, cc, bs, bs, h, w}, []int{0, 1, 4, 2, 5, 3}
			}
		default:
			if h%bs != 0 || w%bs != 0 {
				return nil, Invalidf("spatial size %dx%d not divisible by blocksize %d", h, w, bs)
			}
			view, perm = []int{n, c, h / bs, bs, w / bs, bs}, []int{0, 3, 5, 1, 2, 4}
			final = []int{n, c * bs * bs, h / bs, w / bs}
		}
		out, err := tPermute(ctx, x, view, perm)
		if err != nil {
			return nil, err
		}
		return tOut(out.Reshape(final...))
	}), nil
}
