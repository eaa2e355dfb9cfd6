package runtime

import (
	"math"

	"github.com/hone-ml/hone/ir"
)

// The ai.onnx.preview.training optimizers (opset 1): Adagrad, Adam and Momentum. In ONNX they are pure functions
// of (learning rate R, step count T, tensors to optimize, gradients, accumulators) to new tensors and
// accumulators, so they run like any other op. Inputs are R, T, then n tensors of each group in turn; outputs
// are the groups' new values in the same order.

type xOptKind int

const (
	xAdagrad xOptKind = iota
	xAdam
	xMomentum
)

// xOptGroups is the number of per-tensor input groups (X, G, accumulators…) per optimizer.
var xOptGroups = [...]int{xAdagrad: 3, xAdam: 4, xMomentum: 3}

func xBuildOptimizer(kind xOptKind) Builder {
	return func(b *BuildCtx) (Kernel, error) {
		n := b.Node
		k := xOptGroups[kind]
		if len(n.Inputs) < 2+k || (len(n.Inputs)-2)%k != 0 {
			return nil, Invalidf("%d inputs: want R, T and %d equal groups", len(n.Inputs), k)
		}
		groups := (len(n.Inputs) - 2) / k
		norm := float64(n.AttrFloat("norm_coefficient", 0))
		// update maps (r, t, x, g, accumulators) for one element to (x', accumulators'); acc holds k-2 values.
		var update func(r float64, t int64, x, g float64, acc []float64) float64
		switch kind {
		case xAdagrad:
			decay := float64(n.AttrFloat("decay_factor", 0))
			eps := float64(n.AttrFloat("epsilon", 1e-6))
			update = func(r float64, t int64, x, g float64, acc []float64) float64 {
				rr := r / (1 + float64(t)*decay)
				gr := norm*x + g
				acc[0] += gr * gr
				return x - rr*gr/(math.Sqrt(acc[0])+eps)
			}
		case xAdam:
			alpha := float64(n.AttrFloat("alpha", 0.9))
			beta := float64(n.AttrFloat("beta", 0.999))
			eps := float64(n.AttrFloat("epsilon", 1e-6))
			post := float64(n.AttrFloat("norm_coefficient_post", 0))
			update = func(r float64, t int64, x, g float64, acc []float64) float64 {
				gr := norm*x + g
				acc[0] = alpha*acc[0] + (1-alpha)*gr
				acc[1] = beta*acc[1] + (1-beta)*gr*gr
				if t > 0 {
					// Bias correction of both moments (Kingma & Ba, "Adam", ICLR 2015, §2).
					r *= math.Sqrt(1-math.Pow(beta, float64(t))) / (1 - math.Pow(alpha, float64(t)))
				}
				xn := x - r*acc[0]/(math.Sqrt(acc[1])+eps)
				return (1 - post) * xn
			}
		case xMomentum:
			for _, a := range []string{"alpha", "beta", "mode", "norm_coefficient"} {
				if n.Attr(a) == nil {
					return nil, Invalidf("attribute %s is required", a)
				}
			}
			alpha, beta := float64(n.AttrFloat("alpha", 0)), float64(n.AttrFloat("beta", 0))
			nesterov := false
			switch m := n.AttrString("mode", ""); m {
			case "standard":
			case "nesterov":
				nesterov = true
			default:
				return nil, Invalidf("mode %q", m)
			}
			update = func(r float64, t int64, x, g float64, acc []float64) float64 {
				gr := norm*x + g
				b := beta
				if t == 0 {
					b = 1 // the first step takes the whole gradient
				}
				acc[0] = alpha*acc[0] + b*gr
				if nesterov {
					return x - r*(gr+alpha*acc[0])
				}
				return x - r*acc[0]
			}
		}
		return KernelFunc(func(ctx *Ctx, in []*ir.Tensor) ([]*ir.Tensor, error) {
			if err := tNeed(in, 2+k*groups); err != nil {
				return nil, err
			}
			if !nnIsFloat(in[0].DType) || in[0].Len() != 1 {
				return nil, Invalidf("R must be a float scalar, got %s", in[0])
			}
			r := in[0].Float64s()[0]
			t, err := tScalarInt(in[1], "T")
			if err != nil {
				return nil, err
			}
			outs := make([]*ir.Tensor, k*groups)
			acc := make([]float64, k-2)
			for gi := range groups {
				vals := make([][]float64, k)
				var xt *ir.Tensor
				for j := range k {
					var t *ir.Tensor
					if t, vals[j], err = xFloatIn(in, 2+j*groups+gi, "optimizer input"); err != nil {
						return nil, err
					}
					if j == 0 {
						xt = t
					} else if len(vals[j]) != len(vals[0]) {
						return nil, Invalidf("input %d has shape %v; want %v like its X", 2+j*groups+gi, t.Shape, xt.Shape)
					}
				}
				nx := make([]float64, len(vals[0]))
				nacc := make([][]float64, k-2)
				for a := range nacc {
					nacc[a] = make([]float64, len(nx))
				}
				for e := range nx {
					for a := range acc {
						acc[a] = vals[2+a][e]
					}
					nx[e] = update(r, t, vals[0][e], vals[1][e], acc)
					for a := range acc {
						nacc[a][e] = acc[a]
					}
				}
				outs[gi] = xFloatOut(ctx, xt.DType, nx, xt.Shape...)
				for a := range nacc {
					outs[(1+a)*groups+gi] = xFloatOut(ctx, in[2+(2+a)*groups+gi].DType, nacc[a], xt.Shape...)
				}
			}
			return outs, nil
		}), nil
	}
}
