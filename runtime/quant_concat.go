package runtime

import (
	"github.com/hone-ml/hone/ir"
	"github.com/hone-ml/hone/kernels"
)

// qBuildConcat compiles ONNX Runtime's QLinearConcat (com.microsoft; inputs Y_scale, Y_zero_point, then X, scale
// and zero point per input; attribute axis), which opt's fuse_qdq_concat makes of DQ(x₁…xₙ) → Concat → Q. Each
// input is requantized to the output's scale through a 256-entry table that is the chain DequantizeLinear →
// QuantizeLinear evaluated on every byte (a plain copy where the parameters already match), so the integers
// equal the chain's.
func qBuildConcat(b *BuildCtx) (Kernel, error) {
	axis := int(b.Node.AttrInt("axis", 0))
	return KernelFunc(func(ctx *Ctx, in []*ir.Tensor) ([]*ir.Tensor, error) {
		if len(in) < 5 || (len(in)-2)%3 != 0 {
			return nil, Invalidf("needs Y_scale, Y_zero_point and (X, scale, zero point) per input, got %d inputs", len(in))
		}
		yz := nnInput(in, 1)
		if yz == nil {
			return nil, Invalidf("needs Y_zero_point")
		}
		py, err := q8Params(yz.DType, nnInput(in, 0), yz, "Y")
		if err != nil {
			return nil, err
		}
		xs := make([]*ir.Tensor, 0, (len(in)-2)/3)
		tables := make([]*[256]uint8, 0, cap(xs))
		for i := 2; i < len(in); i += 3 {
			x := nnInput(in, i)
			if x == nil {
				return nil, Invalidf("input %d is missing", len(xs))
			}
			px, err := q8Params(x.DType, nnInput(in, i+1), nnInput(in, i+2), "X")
			if err != nil {
				return nil, err
			}
			var t *[256]uint8
			if px != py {
				t = new([256]uint8)
				py.quant(t[:], px.dequantAll())
			}
			xs, tables = append(xs, x), append(tables, t)
		}
		r := xs[0].Rank()
		ax := axis
		if ax < 0 {
			ax += r
		}
		if ax < 0 || ax >= r {
			return nil, Invalidf("axis %d out of range for rank %d", axis, r)
		}
		shape := append([]int(nil), xs[0].Shape...)
		shape[ax] = 0
		for _, x := range xs {
			if x.Rank() != r {
				return nil, Invalidf("inputs differ in rank: %v and %v", xs[0].Shape, x.Shape)
			}
			for d := range r {
				if d != ax && x.Shape[d] != xs[0].Shape[d] {
					return nil, Invalidf("inputs of shapes %v and %v differ outside axis %d", xs[0].Shape, x.Shape, ax)
				}
			}
			shape[ax] += x.Shape[ax]
		}
		y := ctx.allocRaw(py.dt, shape...) // every element is written
		outer, row := nnProd(shape[:ax]), nnProd(shape[ax:])
		yb := y.Bytes()
		ctx.Par.Run(outer*len(xs), func(t int) {
			o, i := t/len(xs), t%len(xs)
			off := 0
			for _, x := range xs[:i] {
				off += nnProd(x.Shape[ax:])
			}
			n := nnProd(xs[i].Shape[ax:])
			src, dst := xs[i].Bytes()[o*n:(o+1)*n], yb[o*row+off:o*row+off+n]
			if tables[i] == nil {
				copy(dst, src)
				return
			}
			kernels.QLookup(dst, src, tables[i])
		})
		return []*ir.Tensor{y}, nil
	}), nil
}
