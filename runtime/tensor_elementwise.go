package runtime

import (
	"slices"

	"github.com/hone-ml/hone/ir"
)

// tBinaryKernel builds a two-input broadcasting op.
func tBinaryKernel(op tBinOp) Builder {
	return func(b *BuildCtx) (Kernel, error) {
		op := op // per node: Mod and BitShift refine it from attributes
		switch b.Node.OpType {
		case "Mod":
			if b.Node.AttrInt("fmod", 0) != 0 {
				op = tOpFmod
			}
		case "BitShift":
			switch d := b.Node.AttrString("direction", ""); d {
			case "LEFT":
				op = tOpShl
			case "RIGHT":
				op = tOpShr
			default:
				return nil, Invalidf("direction must be LEFT or RIGHT, got %q", d)
			}
		}
		n, opset := b.Node, b.Opset
		legacy := ir.UsesLegacyBroadcast(n, opset)
		return KernelFunc(func(ctx *Ctx, in []*ir.Tensor) ([]*ir.Tensor, error) {
			if err := tNeed(in, 2); err != nil {
				return nil, err
			}
			a, c := in[0], in[1]
			if legacy {
				k, err := ir.LegacyBroadcastOnes(n, opset, a.Rank(), c.Rank())
				if err != nil {
					return nil, Invalidf("%v", err)
				}
				if c, err = c.Reshape(append(slices.Clone(c.Shape), slices.Repeat([]int{1}, k)...)...); err != nil {
					return nil, err
				}
			}
			switch op {
			case tOpEq, tOpLt, tOpGt, tOpLe, tOpGe:
				return tOut(tCompare(ctx, op, a, c))
			case tOpAnd, tOpOr, tOpXor:
				return tOut(tLogical(ctx, op, a, c))
			case tOpMod, tOpFmod:
				if op == tOpMod && a.DType.IsFloat() {
					return nil, Invalidf("Mod on %s needs fmod=1", a.DType)
				}
			case tOpShl, tOpShr:
				switch a.DType {
				case ir.Uint8, ir.Uint16, ir.Uint32, ir.Uint64:
				default:
					return nil, Unsupportedf("BitShift on %s (unsigned types only)", a.DType)
				}
			case tOpBitAnd, tOpBitOr, tOpBitXor:
				if !a.DType.IsInt() {
					return nil, Unsupportedf("bitwise op on %s", a.DType)
				}
			case tOpPow:
				// From opset 12 the exponent may have its own type; compute in the base's type.
				if c.DType != a.DType {
					var err error
					if c, err = tCast(tScratch(), c, a.DType); err != nil {
						return nil, err
					}
				}
			}
			return tOut(tArith(ctx, op, a, c))
		}), nil
	}
}

// tVariadic builds Sum, Mean, Min and Max: a left fold of the broadcasting binary op over all inputs.
func tVariadic(op tBinOp, mean bool) Builder {
	return func(*BuildCtx) (Kernel, error) {
		return KernelFunc(func(ctx *Ctx, in []*ir.Tensor) ([]*ir.Tensor, error) {
			if err := tNeed(in, 1); err != nil {
				return nil, err
			}
			acc := in[0]
			for _, t := range in[1:] {
				if t == nil {
					return nil, Invalidf("missing input")
				}
				var err error
				if acc, err = tArith(ctx, op, acc, t); err != nil {
					return nil, err
				}
			}
			if mean && len(in) > 1 {
				if !acc.DType.IsFloat() {
					return nil, Unsupportedf("Mean on %s", acc.DType)
				}
				div, err := tCast(tScratch(), ir.FromFloat32(nil, []float32{float32(len(in))}), acc.DType)
				if err != nil {
					return nil, err
				}
				return tOut(tArith(ctx, tOpDiv, acc, div))
			}
			if acc == in[0] {
				// One input: the result is that input (kernels may return an input unchanged).
				empty := ir.New(acc.DType, 0)
				if _, err := tArith(ctx, op, empty, empty); err != nil {
					return nil, err // still reject dtypes the op does not support
				}
			}
			return tOut(acc, nil)
		}), nil
	}
}

// tPRelu computes x if x ≥ 0 else slope·x, with slope broadcast to x. Before opset 7 a 1-D slope of size C
// applied per channel (axis 1), not by NumPy broadcasting.
func tPRelu(b *BuildCtx) (Kernel, error) {
	perChannel := b.Opset < 7
	return KernelFunc(func(ctx *Ctx, in []*ir.Tensor) ([]*ir.Tensor, error) {
		if err := tNeed(in, 2); err != nil {
			return nil, err
		}
		x, s := in[0], in[1]
		if perChannel && len(s.Shape) == 1 && len(x.Shape) >= 2 && s.Shape[0] == x.Shape[1] && s.Shape[0] > 1 {
			shape := make([]int, len(x.Shape)-1)
			for i := range shape {
				shape[i] = 1
			}
			shape[0] = s.Shape[0]
			var err error
			if s, err = s.Reshape(shape...); err != nil {
				return nil, err
			}
		}
		if x.DType != s.DType {
			return nil, Invalidf("X and slope dtypes differ: %s and %s", x.DType, s.DType)
		}
		p, err := tBroadcast(x.Shape, s.Shape)
		if err != nil {
			return nil, err
		}
		if len(p.shape) != len(x.Shape) || tProd(p.shape) != x.Len() {
			return nil, Invalidf("slope %v does not broadcast to X %v", s.Shape, x.Shape)
		}
		switch x.DType {
		case ir.Float32:
			return tOut(tBinary(ctx, x, s, x.DType, tZip(tPReluF[float32])))
		case ir.Float64:
			return tOut(tBinary(ctx, x, s, x.DType, tZip(tPReluF[float64])))
		case ir.Float16, ir.BFloat16:
			r, err := tBinary(ctx, tToF32(x), tToF32(s), ir.Float32, tZip(tPReluF[float32]))
			if err != nil {
				return nil, err
			}
			return tOut(tFromF32(r, x.DType), nil)
		case ir.Int32:
			return tOut(tBinary(ctx, x, s, x.DType, tZip(tPReluF[int32])))
		case ir.Int64:
			return tOut(tBinary(ctx, x, s, x.DType, tZip(tPReluF[int64])))
		case ir.Uint32, ir.Uint64:
			return tOut(x, nil) // never negative
		}
		return nil, Unsupportedf("dtype %s", x.DType)
	}), nil
}

func tPReluF[T tNum](x, s T) T {
	if x < 0 {
		return x * s
	}
	return x
}

// tWhereKernel builds Where.
func tWhereKernel(*BuildCtx) (Kernel, error) {
	return KernelFunc(func(ctx *Ctx, in []*ir.Tensor) ([]*ir.Tensor, error) {
		if err := tNeed(in, 3); err != nil {
			return nil, err
		}
		return tOut(tWhere(ctx, in[0], in[1], in[2]))
	}), nil
}
