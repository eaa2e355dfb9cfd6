package runtime

import (
	"math"

	"github.com/hone-ml/hone/ir"
	"github.com/hone-ml/hone/kernels"
)

type nnSoftKind uint8

const (
	nnSoftmax nnSoftKind = iota
	nnLogSoftmax
	nnHardmax
)

// nnBuildSoftmax compiles Softmax, LogSoftmax and Hardmax. Before opset 13 the input is coerced to 2-D at axis
// (default 1) and the op runs over the whole second dimension; from 13 it runs along the one axis (default −1).
func nnBuildSoftmax(kind nnSoftKind) Builder {
	return func(b *BuildCtx) (Kernel, error) {
		legacy := b.Opset < 13
		def := int64(-1)
		if legacy {
			def = 1
		}
		axis := b.Node.AttrInt("axis", def)
		return KernelFunc(func(ctx *Ctx, in []*ir.Tensor) ([]*ir.Tensor, error) {
			x, err := nnFloatInput(in, 0, "input")
			if err != nil {
				return nil, err
			}
			r := x.Rank()
			if r == 0 {
				r = 1 // a scalar behaves as a 1-element vector
			}
			ax, err := nnAxis(axis, r)
			if err != nil {
				return nil, err
			}
			shape := x.Shape
			if x.Rank() == 0 {
				shape = []int{1}
			}
			outer, n, inner := nnProd(shape[:ax]), shape[ax], nnProd(shape[ax+1:])
			if legacy {
				n, inner = nnProd(shape[ax:]), 1
			}
			xf, err := nnF32(x)
			if err != nil {
				return nil, err
			}
			o := nnAllocRaw(ctx, x.DType, x.Shape...) // every row is written below
			if n == 0 {
				return []*ir.Tensor{o.done()}, nil
			}
			nnParallel(ctx, outer, n*inner, func(i int) {
				base := i * n * inner
				if inner == 1 {
					nnSoftRow(kind, o.F[base:base+n], xf[base:base+n])
					return
				}
				// Strided axis: gather each column into a contiguous row, transform, scatter back.
				row, res := make([]float32, n), make([]float32, n)
				for j := 0; j < inner; j++ {
					for k := range row {
						row[k] = xf[base+k*inner+j]
					}
					nnSoftRow(kind, res, row)
					for k, v := range res {
						o.F[base+k*inner+j] = v
					}
				}
			})
			return []*ir.Tensor{o.done()}, nil
		}), nil
	}
}

// nnSoftRow transforms one contiguous row; dst and src do not alias. Softmax and LogSoftmax take the row's
// maximum and the sum of the exponentials with the vector reductions (a NaN anywhere makes the row NaN): a
// scalar maximum and a scalar float64 sum were most of rec's 6625-class Softmax. The exponentials and their sum
// are one pass (kernels.ExpSum, the bits of AddScalar, Exp and Sum in turn): BERT-tiny's 512 attention rows of
// 128 took five kernel calls each.
func nnSoftRow(kind nnSoftKind, dst, src []float32) {
	if kind == nnHardmax {
		m, arg := src[0], 0
		for i, v := range src {
			if v > m {
				m, arg = v, i
			}
		}
		clear(dst)
		dst[arg] = 1
		return
	}
	m := kernels.MaxValue(src)
	s := kernels.ExpSum(dst, src, -m) // exp(x − max) and its sum in one pass
	if kind == nnSoftmax {
		kernels.MulScalar(dst, dst, float32(1/s))
		return
	}
	kernels.AddScalar(dst, src, -m-float32(math.Log(s)))
}
