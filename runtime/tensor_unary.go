package runtime

import (
	"math"

	"github.com/hone-ml/hone/ir"
	"github.com/hone-ml/hone/kernels"
)

// tUnary is an elementwise function of one input with the same output dtype. Floats are computed in float64 and
// rounded once, which is at least as accurate as the references; f32, when set, is a vector routine for the hot
// float32 case; i, when set, makes the op defined on integers too.
type tUnary struct {
	f   func(float64) float64
	f32 func(dst, x []float32)
	i   func(int64) int64
}

func tUnaryKernel(u tUnary) Builder {
	return func(*BuildCtx) (Kernel, error) {
		return KernelFunc(func(ctx *Ctx, in []*ir.Tensor) ([]*ir.Tensor, error) {
			if err := tNeed(in, 1); err != nil {
				return nil, err
			}
			return tOut(tApplyUnary(ctx, u, in[0]))
		}), nil
	}
}

func tApplyUnary(ctx *Ctx, u tUnary, x *ir.Tensor) (*ir.Tensor, error) {
	if err := tCheckStorage(x); err != nil {
		return nil, err
	}
	n := x.Len()
	switch x.DType {
	case ir.Float32:
		out := ctx.allocRaw(ir.Float32, x.Shape...) // every element is written below
		src, dst := x.F32()[:n], out.F32()
		tParallel(ctx.Par, ctx.Threads, n, func(lo, hi int) {
			if u.f32 != nil {
				u.f32(dst[lo:hi], src[lo:hi])
				return
			}
			for i, v := range src[lo:hi] {
				dst[lo+i] = float32(u.f(float64(v)))
			}
		})
		return out, nil
	case ir.Float64:
		out := ctx.Alloc(ir.Float64, x.Shape...)
		src, dst := x.F64()[:n], out.F64()
		tParallel(ctx.Par, ctx.Threads, n, func(lo, hi int) {
			for i, v := range src[lo:hi] {
				dst[lo+i] = u.f(v)
			}
		})
		return out, nil
	case ir.Float16, ir.BFloat16:
		r, err := tApplyUnary(ctx, u, tToF32(x))
		if err != nil {
			return nil, err
		}
		return tFromF32(r, x.DType), nil
	}
	if u.i == nil || !x.DType.IsInt() {
		return nil, Unsupportedf("dtype %s", x.DType)
	}
	out := ctx.Alloc(x.DType, x.Shape...)
	switch x.DType {
	case ir.Int8:
		tUnaryInt[int8](u.i, x, out)
	case ir.Int16:
		tUnaryInt[int16](u.i, x, out)
	case ir.Int32:
		tUnaryInt[int32](u.i, x, out)
	case ir.Int64:
		tUnaryInt[int64](u.i, x, out)
	case ir.Uint8:
		tUnaryInt[uint8](u.i, x, out)
	case ir.Uint16:
		tUnaryInt[uint16](u.i, x, out)
	case ir.Uint32:
		tUnaryInt[uint32](u.i, x, out)
	case ir.Uint64:
		tUnaryInt[uint64](u.i, x, out)
	default:
		return nil, Unsupportedf("dtype %s", x.DType)
	}
	return out, nil
}

func tUnaryInt[T tInt](f func(int64) int64, x, out *ir.Tensor) {
	dst := tRaw[T](out)
	for i, v := range tRaw[T](x)[:len(dst)] {
		dst[i] = T(f(int64(v)))
	}
}

// tUnaryOps are the attribute-free elementwise ops.
var tUnaryOps = map[string]tUnary{
	"Neg": {f: func(x float64) float64 { return -x }, i: func(x int64) int64 { return -x }},
	"Abs": {f: math.Abs, i: func(x int64) int64 {
		if x < 0 {
			return -x
		}
		return x
	}},
	"Sqrt":       {f: math.Sqrt},
	"Exp":        {f: math.Exp, f32: kernels.Exp},
	"Log":        {f: math.Log},
	"Reciprocal": {f: func(x float64) float64 { return 1 / x }},
	"Floor":      {f: math.Floor},
	"Ceil":       {f: math.Ceil},
	"Round":      {f: math.RoundToEven},
	"Sign": {f: func(x float64) float64 {
		switch {
		case x > 0:
			return 1
		case x < 0:
			return -1
		}
		return x // 0 stays 0 and NaN stays NaN
	}, i: func(x int64) int64 {
		switch {
		case x > 0:
			return 1
		case x < 0:
			return -1
		}
		return 0
	}},
	"Sin":      {f: math.Sin},
	"Cos":      {f: math.Cos},
	"Tan":      {f: math.Tan},
	"Asin":     {f: math.Asin},
	"Acos":     {f: math.Acos},
	"Atan":     {f: math.Atan},
	"Sinh":     {f: math.Sinh},
	"Cosh":     {f: math.Cosh},
	"Asinh":    {f: math.Asinh},
	"Acosh":    {f: math.Acosh},
	"Atanh":    {f: math.Atanh},
	"Erf":      {f: math.Erf, f32: kernels.Erf},
	"Sigmoid":  {f: tSigmoid, f32: kernels.Sigmoid},
	"Tanh":     {f: math.Tanh, f32: kernels.Tanh},
	"Softplus": {f: tSoftplus},
	"Softsign": {f: func(x float64) float64 { return x / (1 + math.Abs(x)) }},
	"Mish":     {f: func(x float64) float64 { return x * math.Tanh(tSoftplus(x)) }},
	"HardSwish": {f: func(x float64) float64 { return x * max(0, min(1, x/6+0.5)) },
		f32: func(dst, x []float32) {
			kernels.Activation{Kind: kernels.ActHardSwish}.Apply(tCopyF32(dst, x))
		}},
	"Relu": {f: func(x float64) float64 {
		if x < 0 {
			return 0
		}
		return x
	}, i: func(x int64) int64 { return max(x, 0) },
		f32: func(dst, x []float32) {
			kernels.Activation{Kind: kernels.ActRelu}.Apply(tCopyF32(dst, x))
		}},
}

// tCopyF32 copies x into dst and returns dst, for in-place kernels applied to a fresh output.
func tCopyF32(dst, x []float32) []float32 {
	copy(dst, x)
	return dst
}

func tSigmoid(x float64) float64 { return 1 / (1 + math.Exp(-x)) }

// tSoftplus is log(1+eˣ) without overflow for large x.
func tSoftplus(x float64) float64 {
	if x > 0 {
		return x + math.Log1p(math.Exp(-x))
	}
	return math.Log1p(math.Exp(x))
}

// tActivation builds the activations that take attributes.
func tActivation(op string) Builder {
	return func(b *BuildCtx) (Kernel, error) {
		n := b.Node
		var u tUnary
		switch op {
		case "LeakyRelu":
			a := float64(n.AttrFloat("alpha", 0.01))
			af := float32(a)
			u.f = func(x float64) float64 {
				if x < 0 {
					return a * x
				}
				return x
			}
			u.f32 = func(dst, x []float32) {
				kernels.Activation{Kind: kernels.ActLeakyRelu, Alpha: af}.Apply(tCopyF32(dst, x))
			}
		case "Elu":
			a := float64(n.AttrFloat("alpha", 1))
			u.f = func(x float64) float64 {
				if x < 0 {
					return a * math.Expm1(x)
				}
				return x
			}
		case "Selu":
			a := float64(n.AttrFloat("alpha", 1.67326319217681884765625))
			g := float64(n.AttrFloat("gamma", 1.05070102214813232421875))
			u.f = func(x float64) float64 {
				if x <= 0 {
					return g * (a*math.Exp(x) - a)
				}
				return g * x
			}
		case "Celu":
			a := float64(n.AttrFloat("alpha", 1))
			if a == 0 {
				return nil, Invalidf("alpha must be non-zero")
			}
			u.f = func(x float64) float64 { return max(0, x) + min(0, a*math.Expm1(x/a)) }
		case "HardSigmoid":
			a := n.AttrFloat("alpha", 0.2)
			bb := n.AttrFloat("beta", 0.5)
			u.f = func(x float64) float64 { return max(0, min(1, float64(a)*x+float64(bb))) }
			u.f32 = func(dst, x []float32) {
				kernels.Activation{Kind: kernels.ActHardSigmoid, Alpha: a, Beta: bb}.Apply(tCopyF32(dst, x))
			}
		case "ThresholdedRelu":
			a := float64(n.AttrFloat("alpha", 1))
			u.f = func(x float64) float64 {
				if x > a {
					return x
				}
				return 0
			}
		case "Gelu":
			switch ap := n.AttrString("approximate", "none"); ap {
			case "none":
				u.f = func(x float64) float64 { return 0.5 * x * (1 + math.Erf(x/math.Sqrt2)) }
				u.f32 = tGeluErf
			case "tanh":
				c := math.Sqrt(2 / math.Pi)
				u.f = func(x float64) float64 { return 0.5 * x * (1 + math.Tanh(c*(x+0.044715*x*x*x))) }
				// The spec's formula in float32, blocked through GeluTanh's kernels (PyTorch's operation order).
				u.f32 = func(dst, x []float32) { tGeluTanh(dst, x, 0.044715, float32(c)) }
			default:
				return nil, Unsupportedf("approximate=%q", ap)
			}
		}
		return tUnaryKernel(u)(b)
	}
}

// tBoolUnary builds IsNaN, IsInf and Not, whose outputs are bool.
func tBoolUnary(op string) Builder {
	return func(b *BuildCtx) (Kernel, error) {
		neg := b.Node.AttrInt("detect_negative", 1) != 0
		pos := b.Node.AttrInt("detect_positive", 1) != 0
		return KernelFunc(func(ctx *Ctx, in []*ir.Tensor) ([]*ir.Tensor, error) {
			if err := tNeed(in, 1); err != nil {
				return nil, err
			}
			x := in[0]
			if err := tCheckStorage(x); err != nil {
				return nil, err
			}
			out := ctx.Alloc(ir.Bool, x.Shape...)
			dst := out.BoolData()
			if op == "Not" {
				if x.DType != ir.Bool {
					return nil, Invalidf("input must be bool, got %s", x.DType)
				}
				for i, v := range x.BoolData()[:len(dst)] {
					dst[i] = !v
				}
				return tOut(out, nil)
			}
			if !x.DType.IsFloat() {
				return nil, Unsupportedf("dtype %s", x.DType)
			}
			for i, v := range tToF32Any(x) {
				if op == "IsNaN" {
					dst[i] = math.IsNaN(v)
				} else {
					dst[i] = (pos && math.IsInf(v, 1)) || (neg && math.IsInf(v, -1))
				}
			}
			return tOut(out, nil)
		}), nil
	}
}

// tBitwiseNot flips every bit of an integer tensor.
func tBitwiseNot(*BuildCtx) (Kernel, error) {
	return tUnaryKernel(tUnary{i: func(x int64) int64 { return ^x }})(nil)
}

// tClip builds Clip: bounds are attributes before opset 11 and optional inputs from 11 on.
func tClip(b *BuildCtx) (Kernel, error) {
	attrs := b.Opset < 11
	lo, hi := float64(b.Node.AttrFloat("min", -math.MaxFloat32)), float64(b.Node.AttrFloat("max", math.MaxFloat32))
	if attrs && b.Node.Attr("min") == nil {
		lo = math.Inf(-1)
	}
	if attrs && b.Node.Attr("max") == nil {
		hi = math.Inf(1)
	}
	return KernelFunc(func(ctx *Ctx, in []*ir.Tensor) ([]*ir.Tensor, error) {
		if err := tNeed(in, 1); err != nil {
			return nil, err
		}
		x := in[0]
		if attrs {
			return tOut(tClipRun(ctx, x, lo, hi, nil, nil))
		}
		mn, mx := tOpt(in, 1), tOpt(in, 2)
		for _, t := range []*ir.Tensor{mn, mx} {
			if t != nil && (t.DType != x.DType || t.Len() != 1) {
				return nil, Invalidf("min and max must be %s scalars, got %v", x.DType, t)
			}
		}
		return tOut(tClipRun(ctx, x, math.Inf(-1), math.Inf(1), mn, mx))
	}), nil
}

func tClipRun(ctx *Ctx, x *ir.Tensor, lo, hi float64, mn, mx *ir.Tensor) (*ir.Tensor, error) {
	switch x.DType {
	case ir.Float32, ir.Float64, ir.Float16, ir.BFloat16:
		if mn != nil {
			lo = tToF32Any(mn)[0]
		}
		if mx != nil {
			hi = tToF32Any(mx)[0]
		}
		if x.DType == ir.Float32 && mn == nil && mx == nil && math.IsInf(lo, -1) && math.IsInf(hi, 1) {
			return x, nil
		}
		// float32(±Inf) stays infinite, so an absent bound leaves ±Inf inputs alone.
		act := kernels.Activation{Kind: kernels.ActClip, Alpha: float32(lo), Beta: float32(hi)}
		return tApplyUnary(ctx, tUnary{
			f: func(v float64) float64 { return min(max(v, lo), hi) },
			f32: func(dst, v []float32) {
				act.Apply(tCopyF32(dst, v))
			},
		}, x)
	}
	if !x.DType.IsInt() {
		return nil, Unsupportedf("dtype %s", x.DType)
	}
	// Integer bounds are read exactly: int64 extremes do not survive a trip through float64.
	ilo, ihi := int64(math.MinInt64), int64(math.MaxInt64)
	if mn != nil {
		v, _ := mn.Int64s()
		ilo = v[0]
	}
	if mx != nil {
		v, _ := mx.Int64s()
		ihi = v[0]
	}
	if x.DType == ir.Uint64 {
		return tApplyUnary(ctx, tUnary{i: func(v int64) int64 {
			u := uint64(v)
			if mn != nil {
				u = max(u, uint64(ilo))
			}
			if mx != nil {
				u = min(u, uint64(ihi))
			}
			return int64(u)
		}}, x)
	}
	return tApplyUnary(ctx, tUnary{i: func(v int64) int64 { return min(max(v, ilo), ihi) }}, x)
}

// tGeluErf is Gelu (approximate "none") on float32: ((erf(x / √2) + 1)·x)·0.5, the operations and order of the
// Div → Erf → Add → Mul → Mul chain PyTorch exports (√2 rounded to float32, the division exactly rounded as the
// Div op computes it), so opt/fuse_gelu changes no bit. Blocks of 512 values go through the vector kernels while
// they sit in L1, instead of five passes over the whole tensor. dst may be x.
func tGeluErf(dst, x []float32) {
	var t, root2 [512]float32
	for i := range root2 {
		root2[i] = math.Sqrt2
	}
	for lo := 0; lo < len(x); lo += len(t) {
		hi := min(lo+len(t), len(x))
		xs, ts := x[lo:hi], t[:hi-lo]
		kernels.Div(ts, xs, root2[:hi-lo])
		kernels.Erf(ts, ts)
		kernels.AddScalar(ts, ts, 1)
		kernels.Mul(ts, xs, ts)
		kernels.MulScalar(dst[lo:hi], ts, 0.5)
	}
}
