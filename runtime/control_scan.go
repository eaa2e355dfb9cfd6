package runtime

import (
	"fmt"

	"github.com/hone-ml/hone/ir"
)

// ctlBuildScan compiles Scan. From opset 9 the inputs are N initial states then M scan inputs, each iterated
// along its scan_input_axes entry (reversed where scan_input_directions is 1); the body maps (states…, slices…)
// to (states…, scan elements…), and each scan output stacks its elements along scan_output_axes. Opset 8 adds a
// leading optional sequence_lens input and a batch axis 0 on every input and output, with the sequence on axis 1.
func ctlBuildScan(b *BuildCtx) (Kernel, error) {
	body, g, err := ctlBody(b, "body")
	if err != nil {
		return nil, err
	}
	n := b.Node
	m := int(n.AttrInt("num_scan_inputs", -1))
	v8 := b.Opset < 9
	first := 0
	if v8 {
		first = 1
	}
	nState := len(n.Inputs) - first - m
	nScanOut := len(g.Outputs) - nState
	if m <= 0 || nState < 0 || nScanOut < 0 || len(body.inputs) != nState+m || len(n.Outputs) != nState+nScanOut {
		return nil, Invalidf("num_scan_inputs %d does not fit %d inputs, a body with %d inputs and %d outputs, and %d node outputs",
			m, len(n.Inputs), len(body.inputs), len(g.Outputs), len(n.Outputs))
	}
	attr := func(name string, k int) ([]int64, error) {
		v := n.AttrInts(name, nil)
		if v == nil {
			return make([]int64, k), nil
		}
		if len(v) != k {
			return nil, Invalidf("%s has %d entries, want %d", name, len(v), k)
		}
		return v, nil
	}
	dirName := "scan_input_directions"
	if v8 {
		dirName = "directions"
	}
	inDir, err := attr(dirName, m)
	if err != nil {
		return nil, err
	}
	inAxes, outAxes, outDir := make([]int64, m), make([]int64, nScanOut), make([]int64, nScanOut)
	if !v8 {
		if inAxes, err = attr("scan_input_axes", m); err != nil {
			return nil, err
		}
		if outAxes, err = attr("scan_output_axes", nScanOut); err != nil {
			return nil, err
		}
		if outDir, err = attr("scan_output_directions", nScanOut); err != nil {
			return nil, err
		}
	}
	sc := &ctlScan{body: body, nState: nState, inAxes: inAxes, inDir: inDir, outAxes: outAxes, outDir: outDir}
	for k := 0; k < nScanOut; k++ {
		sc.outTypes = append(sc.outTypes, g.Outputs[nState+k].Type)
	}
	if !v8 {
		return KernelFunc(func(ctx *Ctx, in []*ir.Tensor) ([]*ir.Tensor, error) {
			return sc.run(ctx, in[:nState], in[nState:], -1)
		}), nil
	}
	return KernelFunc(func(ctx *Ctx, in []*ir.Tensor) ([]*ir.Tensor, error) {
		return sc.runBatched(ctx, in[0], in[1:1+nState], in[1+nState:])
	}), nil
}

type ctlScan struct {
	body            *Plan
	nState          int
	inAxes, inDir   []int64
	outAxes, outDir []int64
	outTypes        []ir.Type
}

// run performs one scan; seqLen < 0 means the full length of the scan inputs.
func (s *ctlScan) run(ctx *Ctx, states, xs []*ir.Tensor, seqLen int) ([]*ir.Tensor, error) {
	axes := make([]int, len(xs))
	steps := -1
	for j, x := range xs {
		if x == nil {
			return nil, Invalidf("scan input %d is missing", j)
		}
		a := int(s.inAxes[j])
		if a < 0 {
			a += x.Rank()
		}
		if a < 0 || a >= x.Rank() {
			return nil, Invalidf("scan input %d: axis %d out of range for shape %v", j, s.inAxes[j], x.Shape)
		}
		axes[j] = a
		if steps >= 0 && x.Shape[a] != steps {
			return nil, Invalidf("scan inputs disagree on the sequence length: %d and %d", steps, x.Shape[a])
		}
		steps = x.Shape[a]
	}
	if seqLen >= 0 {
		if seqLen > steps {
			return nil, Invalidf("sequence length %d exceeds the %d steps given", seqLen, steps)
		}
		steps = seqLen
	}
	states = append([]*ir.Tensor(nil), states...)
	elems := make([][]*ir.Tensor, len(s.outTypes))
	args := make([]*ir.Tensor, len(states)+len(xs))
	for t := 0; t < steps; t++ {
		copy(args, states)
		for j, x := range xs {
			idx := t
			if s.inDir[j] == 1 {
				idx = steps - 1 - t
				if seqLen >= 0 { // opset 8 reverses within the valid part of the sequence
					idx = seqLen - 1 - t
				}
			}
			args[len(states)+j] = ctlTake(x, axes[j], idx)
		}
		outs, err := s.body.runSub(ctx, args, ctx.outer)
		if err != nil {
			return nil, err
		}
		copy(states, outs[:s.nState])
		for k := range elems {
			elems[k] = append(elems[k], outs[s.nState+k])
		}
	}
	res := states
	for k, parts := range elems {
		rank := 1
		if len(parts) > 0 {
			rank = parts[0].Rank() + 1
		} else if s.outTypes[k].HasShape {
			rank = len(s.outTypes[k].Shape) + 1
		}
		a := int(s.outAxes[k])
		if a < 0 {
			a += rank
		}
		if a < 0 || a >= rank {
			return nil, Invalidf("scan output %d: axis %d out of range for rank %d", k, s.outAxes[k], rank)
		}
		st, err := ctlStack(parts, a, s.outDir[k] == 1, s.outTypes[k])
		if err != nil {
			return nil, Invalidf("scan output %d: %v", k, err)
		}
		res = append(res, st)
	}
	return res, nil
}

// runBatched is opset-8 Scan: each batch entry (axis 0) is scanned along axis 1 separately, up to its
// sequence length; outputs past a shorter sequence stay zero.
func (s *ctlScan) runBatched(ctx *Ctx, lens *ir.Tensor, states, xs []*ir.Tensor) ([]*ir.Tensor, error) {
	if len(xs) == 0 || xs[0] == nil || xs[0].Rank() < 2 {
		return nil, Invalidf("opset-8 Scan inputs need [batch, sequence, …] shapes")
	}
	batch, maxLen := xs[0].Shape[0], xs[0].Shape[1]
	var seq []int64
	if lens != nil {
		v, err := lens.Int64s()
		if err != nil || len(v) != batch {
			return nil, Invalidf("sequence_lens must hold %d integers, got %s", batch, lens)
		}
		seq = v
	}
	per := make([][]*ir.Tensor, 0, batch)
	for bi := 0; bi < batch; bi++ {
		st := make([]*ir.Tensor, len(states))
		for i, t := range states {
			if t == nil || t.Rank() == 0 || t.Shape[0] != batch {
				return nil, Invalidf("state %d must have batch %d on axis 0", i, batch)
			}
			st[i] = ctlTake(t, 0, bi)
		}
		x := make([]*ir.Tensor, len(xs))
		for j, t := range xs {
			if t == nil || t.Rank() < 2 || t.Shape[0] != batch || t.Shape[1] != maxLen {
				return nil, Invalidf("scan input %d must be [%d, %d, …]", j, batch, maxLen)
			}
			x[j] = ctlTake(t, 0, bi)
		}
		sl := -1
		if seq != nil {
			sl = int(seq[bi])
			if sl < 0 {
				return nil, Invalidf("negative sequence length %d", sl)
			}
		}
		outs, err := s.run(ctx, st, x, sl)
		if err != nil {
			return nil, err
		}
		// Pad short sequences' scan outputs to the batch's full length.
		for k := s.nState; k < len(outs); k++ {
			if o := outs[k]; o.Shape[0] < maxLen {
				p := ir.New(o.DType, append([]int{maxLen}, o.Shape[1:]...)...)
				copy(p.Bytes(), o.Bytes())
				outs[k] = p
			}
		}
		per = append(per, outs)
	}
	res := make([]*ir.Tensor, 0, len(per[0]))
	for k := range per[0] {
		parts := make([]*ir.Tensor, batch)
		for bi := range per {
			parts[bi] = per[bi][k]
		}
		t, err := ctlStack(parts, 0, false, ir.Type{})
		if err != nil {
			return nil, Invalidf("output %d: %v", k, err)
		}
		res = append(res, t)
	}
	return res, nil
}

// ctlTake returns x[..., idx, ...] along axis (a copy with that axis removed).
func ctlTake(x *ir.Tensor, axis, idx int) *ir.Tensor {
	shape := append(append([]int(nil), x.Shape[:axis]...), x.Shape[axis+1:]...)
	out := ir.New(x.DType, shape...)
	outer := ir.NumElements(x.Shape[:axis])
	inner := ir.NumElements(x.Shape[axis+1:])
	n := x.Shape[axis]
	if x.DType == ir.String {
		for o := 0; o < outer; o++ {
			copy(out.Strings[o*inner:(o+1)*inner], x.Strings[(o*n+idx)*inner:])
		}
		return out
	}
	es := x.DType.Size()
	src, dst := x.Bytes(), out.Bytes()
	for o := 0; o < outer; o++ {
		copy(dst[o*inner*es:(o+1)*inner*es], src[(o*n+idx)*inner*es:])
	}
	return out
}

// ctlStack stacks same-shaped parts along a new axis (in reverse order when reverse is set). With no parts the
// result has length 0 on that axis and the body output's declared type, where known.
func ctlStack(parts []*ir.Tensor, axis int, reverse bool, typ ir.Type) (*ir.Tensor, error) {
	if len(parts) == 0 {
		shape := []int{0}
		if st, ok := typ.Static(); ok {
			shape = append(append(append([]int(nil), st[:min(axis, len(st))]...), 0), st[min(axis, len(st)):]...)
		}
		dt := typ.DType
		if dt == ir.Undefined {
			dt = ir.Float32
		}
		return ir.New(dt, shape...), nil
	}
	p0 := parts[0]
	for i, p := range parts {
		if p == nil || p.DType != p0.DType || fmt.Sprint(p.Shape) != fmt.Sprint(p0.Shape) {
			return nil, fmt.Errorf("element %d is %v, element 0 is %s", i, p, p0)
		}
	}
	if axis > p0.Rank() {
		return nil, fmt.Errorf("axis %d out of range for rank %d", axis, p0.Rank()+1)
	}
	t := len(parts)
	shape := append(append(append([]int(nil), p0.Shape[:axis]...), t), p0.Shape[axis:]...)
	out := ir.New(p0.DType, shape...)
	outer := ir.NumElements(p0.Shape[:axis])
	inner := ir.NumElements(p0.Shape[axis:])
	for i, p := range parts {
		pos := i
		if reverse {
			pos = t - 1 - i
		}
		for o := 0; o < outer; o++ {
			if p0.DType == ir.String {
				copy(out.Strings[(o*t+pos)*inner:(o*t+pos+1)*inner], p.Strings[o*inner:(o+1)*inner])
				continue
			}
			es := p0.DType.Size()
			copy(out.Bytes()[(o*t+pos)*inner*es:(o*t+pos+1)*inner*es], p.Bytes()[o*inner*es:(o+1)*inner*es])
		}
	}
	return out, nil
}
