package runtime

import (
	"math"

	"github.com/hone-ml/hone/ir"
)

// NegativeLogLikelihoodLoss and SoftmaxCrossEntropyLoss (opsets 12 and 13, which differ only in allowed types).
// Both reduce in float64 so a mean over many elements keeps float32 accuracy, then round to the input's dtype.

// xFloatOut writes float64 values into a new tensor of float dtype dt.
func xFloatOut(ctx *Ctx, dt ir.DType, v []float64, shape ...int) *ir.Tensor {
	t := ctx.Alloc(dt, shape...)
	switch dt {
	case ir.Float32:
		o := t.F32()
		for i, x := range v {
			o[i] = float32(x)
		}
	case ir.Float64:
		copy(t.F64(), v)
	case ir.Float16:
		o := t.Bits16()
		for i, x := range v {
			o[i] = ir.FloatToHalf(float32(x))
		}
	case ir.BFloat16:
		o := t.Bits16()
		for i, x := range v {
			o[i] = ir.FloatToBFloat16(float32(x))
		}
	}
	return t
}

// xFloatIn checks that input i is present, float and well-formed, and returns its values as float64.
func xFloatIn(in []*ir.Tensor, i int, what string) (*ir.Tensor, []float64, error) {
	t, err := nnFloatInput(in, i, what)
	if err != nil {
		return nil, nil, err
	}
	if err := tCheckStorage(t); err != nil {
		return nil, nil, err
	}
	return t, t.Float64s(), nil
}

// xLoss is a compiled NLL or softmax cross-entropy node.
type xLoss struct {
	softmax   bool
	reduction string
	ignore    int64
	hasIgnore bool
}

func xBuildLoss(softmax bool) Builder {
	return func(b *BuildCtx) (Kernel, error) {
		n := b.Node
		l := &xLoss{softmax: softmax, reduction: n.AttrString("reduction", "mean")}
		switch l.reduction {
		case "none", "sum", "mean":
		default:
			return nil, Invalidf("reduction %q", l.reduction)
		}
		if a := n.Attr("ignore_index"); a != nil {
			l.ignore, l.hasIgnore = a.I, true
		}
		return KernelFunc(l.run), nil
	}
}

func (l *xLoss) run(ctx *Ctx, in []*ir.Tensor) ([]*ir.Tensor, error) {
	x, xv, err := xFloatIn(in, 0, "input")
	if err != nil {
		return nil, err
	}
	tgt := nnInput(in, 1)
	if tgt == nil {
		return nil, Invalidf("missing input target")
	}
	if err := tCheckStorage(tgt); err != nil {
		return nil, err
	}
	labels, err := tInts(tgt, "target")
	if err != nil {
		return nil, err
	}
	if x.Rank() < 2 {
		return nil, Invalidf("input has shape %v; want [N, C, …]", x.Shape)
	}
	N, C := x.Shape[0], x.Shape[1]
	inner := tProd(x.Shape[2:])
	wantT := append([]int{N}, x.Shape[2:]...)
	if len(tgt.Shape) != len(wantT) || tProd(tgt.Shape) != tProd(wantT) {
		return nil, Invalidf("target has shape %v; want %v", tgt.Shape, wantT)
	}
	for k := range wantT {
		if tgt.Shape[k] != wantT[k] {
			return nil, Invalidf("target has shape %v; want %v", tgt.Shape, wantT)
		}
	}
	var wv []float64
	if wt := nnInput(in, 2); wt != nil {
		if _, wv, err = xFloatIn(in, 2, "weight"); err != nil {
			return nil, err
		}
		if wt.Rank() != 1 || wt.Shape[0] != C {
			return nil, Invalidf("weight has shape %v; want [%d]", wt.Shape, C)
		}
	}
	logp := xv
	if l.softmax {
		// Log-softmax over the class axis, max-shifted for stability.
		logp = make([]float64, len(xv))
		for n := range N {
			for i := range inner {
				base := n*C*inner + i
				m := math.Inf(-1)
				for c := range C {
					m = max(m, xv[base+c*inner])
				}
				var s float64
				for c := range C {
					s += math.Exp(xv[base+c*inner] - m)
				}
				ls := m + math.Log(s)
				for c := range C {
					logp[base+c*inner] = xv[base+c*inner] - ls
				}
			}
		}
	}
	loss := make([]float64, N*inner)
	var sum, wsum float64
	for n := range N {
		for i := range inner {
			k := n*inner + i
			lab := labels[k]
			if l.hasIgnore && lab == l.ignore {
				continue
			}
			if lab < 0 || lab >= int64(C) {
				return nil, Invalidf("target value %d at %d is outside [0, %d)", lab, k, C)
			}
			w := 1.0
			if wv != nil {
				w = wv[lab]
			}
			loss[k] = -logp[n*C*inner+int(lab)*inner+i] * w
			sum += loss[k]
			wsum += w
		}
	}
	var out *ir.Tensor
	switch l.reduction {
	case "none":
		out = xFloatOut(ctx, x.DType, loss, wantT...)
	case "sum":
		out = xFloatOut(ctx, x.DType, []float64{sum})
	case "mean":
		// The mean divides by the total weight of the counted elements (their number when unweighted), as
		// PyTorch's NLLLoss does.
		out = xFloatOut(ctx, x.DType, []float64{sum / wsum})
	}
	if !l.softmax {
		return []*ir.Tensor{out}, nil
	}
	return []*ir.Tensor{out, xFloatOut(ctx, x.DType, logp, x.Shape...)}, nil
}
