package runtime

import "github.com/hone-ml/hone/ir"

// nnBuildDropout compiles Dropout for inference: the output is the input itself and the optional mask is all
// ones (bool from opset 10, the input's dtype before). Training mode with a non-zero ratio would need random
// numbers that no reference can reproduce, so it is refused.
func nnBuildDropout(b *BuildCtx) (Kernel, error) {
	n := b.Node
	training := func(in []*ir.Tensor) (bool, error) {
		if b.Opset < 12 {
			return false, nil
		}
		tm := nnInput(in, 2)
		if tm == nil || tm.Len() == 0 {
			return false, nil
		}
		if tm.DType != ir.Bool || tm.Len() != 1 {
			return false, Invalidf("training_mode must be a bool scalar, got %s", tm)
		}
		if !tm.BoolData()[0] {
			return false, nil
		}
		ratio := 0.5
		if rt := nnInput(in, 1); rt != nil && rt.Len() == 1 && nnIsFloat(rt.DType) {
			ratio = rt.Float64s()[0]
		}
		if ratio != 0 {
			return false, Unsupportedf("Dropout in training mode with ratio %v (random masks are not reproducible)", ratio)
		}
		return true, nil
	}
	if b.Opset >= 12 && len(b.Const) > 2 && b.Const[2] != nil {
		if _, err := training(b.Const); err != nil {
			return nil, err
		}
	}
	wantMask := nnHasOutput(n, 1)
	return KernelFunc(func(ctx *Ctx, in []*ir.Tensor) ([]*ir.Tensor, error) {
		x := nnInput(in, 0)
		if x == nil {
			return nil, Invalidf("missing input data")
		}
		if _, err := training(in); err != nil {
			return nil, err
		}
		if !wantMask {
			return []*ir.Tensor{x}, nil
		}
		if b.Opset < 10 {
			if !nnIsFloat(x.DType) {
				return nil, Unsupportedf("dtype %s", x.DType)
			}
			m := nnAlloc(ctx, x.DType, x.Shape...)
			for i := range m.F {
				m.F[i] = 1
			}
			return []*ir.Tensor{x, m.done()}, nil
		}
		m := ctx.Alloc(ir.Bool, x.Shape...)
		for i := range m.BoolData() {
			m.BoolData()[i] = true
		}
		return []*ir.Tensor{x, m}, nil
	}), nil
}
