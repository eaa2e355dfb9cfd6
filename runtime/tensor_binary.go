package runtime

import (
	"cmp"
	"math"

	"github.com/hone-ml/hone/ir"
	"github.com/hone-ml/hone/kernels"
)

// tBinOp names an elementwise binary operation.
type tBinOp int

const (
	tOpAdd tBinOp = iota
	tOpSub
	tOpMul
	tOpDiv
	tOpPow
	tOpMod  // integer Mod with fmod=0: the result takes the divisor's sign (Python's %)
	tOpFmod // C fmod: the result takes the dividend's sign
	tOpMin
	tOpMax
	tOpBitAnd
	tOpBitOr
	tOpBitXor
	tOpShl
	tOpShr
	tOpEq
	tOpLt
	tOpGt
	tOpLe
	tOpGe
	tOpAnd
	tOpOr
	tOpXor
)

// tRowFn computes one broadcast run: dst[i] = f(a[i·sa], b[i·sb]) with sa, sb ∈ {0, 1}.
type tRowFn[T, R any] func(dst []R, a []T, sa int, b []T, sb int)

// tZip turns an element function into a run function with the four stride cases unrolled, so the common
// same-shape and scalar cases have no index arithmetic.
func tZip[T, R any](f func(T, T) R) tRowFn[T, R] {
	return func(dst []R, a []T, sa int, b []T, sb int) {
		switch {
		case sa == 1 && sb == 1:
			a, b = a[:len(dst)], b[:len(dst)]
			for i := range dst {
				dst[i] = f(a[i], b[i])
			}
		case sa == 1:
			a = a[:len(dst)]
			y := b[0]
			for i := range dst {
				dst[i] = f(a[i], y)
			}
		case sb == 1:
			b = b[:len(dst)]
			x := a[0]
			for i := range dst {
				dst[i] = f(x, b[i])
			}
		default:
			v := f(a[0], b[0])
			for i := range dst {
				dst[i] = v
			}
		}
	}
}

// tBinary broadcasts a and b, allocates the output of dtype dt and fills it run by run.
func tBinary[T, R any](ctx *Ctx, a, b *ir.Tensor, dt ir.DType, row tRowFn[T, R]) (*ir.Tensor, error) {
	if err := tCheckStorage(a, b); err != nil {
		return nil, err
	}
	p, err := tBroadcast(a.Shape, b.Shape)
	if err != nil {
		return nil, err
	}
	out := ctx.allocRaw(dt, p.shape...) // every element is written below
	if p.total == 0 {
		return out, nil
	}
	av, bv, ov := tRaw[T](a), tRaw[T](b), tRaw[R](out)
	sa, sb := p.inner(0), p.inner(1)
	p.run(ctx, func(o int, off []int, n int) {
		row(ov[o:o+n], av[off[0]:], sa, bv[off[1]:], sb)
	})
	return out, nil
}

// tF32Row adds kernel-backed runs for float32 Add/Sub/Mul/Div, the ops CNNs and transformers spend time in.
func tF32Row(op tBinOp) tRowFn[float32, float32] {
	var vv func(dst, a, b []float32)
	switch op {
	case tOpAdd:
		vv = kernels.Add
	case tOpSub:
		vv = kernels.Sub
	case tOpMul:
		vv = kernels.Mul
	case tOpDiv:
		vv = kernels.Div
	default:
		return tFloatRow[float32](op)
	}
	slow := tFloatRow[float32](op)
	return func(dst []float32, a []float32, sa int, b []float32, sb int) {
		n := len(dst)
		switch {
		case sa == 1 && sb == 1:
			vv(dst, a[:n], b[:n])
		case sa == 1 && op == tOpAdd:
			kernels.AddScalar(dst, a[:n], b[0])
		case sa == 1 && op == tOpSub:
			kernels.AddScalar(dst, a[:n], -b[0])
		case sa == 1 && op == tOpMul:
			kernels.MulScalar(dst, a[:n], b[0])
		case sb == 1 && op == tOpAdd:
			kernels.AddScalar(dst, b[:n], a[0])
		case sb == 1 && op == tOpMul:
			kernels.MulScalar(dst, b[:n], a[0])
		case sa == 1:
			tF32Splat(vv, dst, a[:n], b[0], false)
		case sb == 1:
			tF32Splat(vv, dst, b[:n], a[0], true)
		default:
			slow(dst, a, sa, b, sb)
		}
	}
}

// tF32Splat computes vv(dst, v, s) (or vv(dst, s, v) when sFirst) with the scalar s repeated: the vector kernel
// over a splatted chunk keeps Div and Sub by a scalar exactly rounded (x·(1/s) would not be) and vectorised.
func tF32Splat(vv func(dst, a, b []float32), dst, v []float32, s float32, sFirst bool) {
	var buf [512]float32
	k := min(len(buf), len(dst))
	for i := range buf[:k] {
		buf[i] = s
	}
	for lo := 0; lo < len(dst); lo += k {
		hi := min(lo+k, len(dst))
		if sFirst {
			vv(dst[lo:hi], buf[:hi-lo], v[lo:hi])
		} else {
			vv(dst[lo:hi], v[lo:hi], buf[:hi-lo])
		}
	}
}

// tFloatRow returns the run function of op on a float type, or nil when op is not defined on floats.
func tFloatRow[T tFloat](op tBinOp) tRowFn[T, T] {
	switch op {
	case tOpAdd:
		return tZip(func(x, y T) T { return x + y })
	case tOpSub:
		return tZip(func(x, y T) T { return x - y })
	case tOpMul:
		return tZip(func(x, y T) T { return x * y })
	case tOpDiv:
		return tZip(func(x, y T) T { return x / y })
	case tOpPow:
		return func(dst []T, a []T, sa int, b []T, sb int) {
			// x², x^0.5 and x^1 appear in decomposed LayerNorm and GELU; keep them exact and cheap.
			if sb == 0 {
				switch y := b[0]; y {
				case 2:
					tZip(func(x, _ T) T { return x * x })(dst, a, sa, b, sb)
					return
				case 0.5:
					tZip(func(x, _ T) T { return T(math.Sqrt(float64(x))) })(dst, a, sa, b, sb)
					return
				case 1:
					tZip(func(x, _ T) T { return x })(dst, a, sa, b, sb)
					return
				}
			}
			tZip(func(x, y T) T { return T(math.Pow(float64(x), float64(y))) })(dst, a, sa, b, sb)
		}
	case tOpFmod:
		return tZip(func(x, y T) T { return T(math.Mod(float64(x), float64(y))) })
	case tOpMod:
		// ONNX requires fmod=1 for floats; models that break this get NumPy's mod (sign of divisor).
		return tZip(func(x, y T) T {
			r := math.Mod(float64(x), float64(y))
			if r != 0 && (r < 0) != (y < 0) {
				r += float64(y)
			}
			return T(r)
		})
	case tOpMin:
		return tZip(tMinOrdered[T])
	case tOpMax:
		return tZip(tMaxOrdered[T])
	}
	return nil
}

// tIntRow returns the run function of op on an integer type, or nil when op is not defined on integers.
// Integer division and modulo by zero give 0 instead of Go's panic (ONNX leaves the result undefined).
func tIntRow[T tInt](op tBinOp) tRowFn[T, T] {
	switch op {
	case tOpAdd:
		return tZip(func(x, y T) T { return x + y })
	case tOpSub:
		return tZip(func(x, y T) T { return x - y })
	case tOpMul:
		return tZip(func(x, y T) T { return x * y })
	case tOpDiv:
		return tZip(func(x, y T) T {
			if y == 0 {
				return 0
			}
			return x / y
		})
	case tOpFmod:
		return tZip(func(x, y T) T {
			if y == 0 {
				return 0
			}
			return x % y
		})
	case tOpMod:
		return tZip(func(x, y T) T {
			if y == 0 {
				return 0
			}
			r := x % y
			if r != 0 && (r < 0) != (y < 0) {
				r += y
			}
			return r
		})
	case tOpPow:
		return tZip(tIntPow[T])
	case tOpMin:
		return tZip(tMinOrdered[T])
	case tOpMax:
		return tZip(tMaxOrdered[T])
	case tOpBitAnd:
		return tZip(func(x, y T) T { return x & y })
	case tOpBitOr:
		return tZip(func(x, y T) T { return x | y })
	case tOpBitXor:
		return tZip(func(x, y T) T { return x ^ y })
	case tOpShl:
		return tZip(func(x, y T) T { return x << uint64(y) })
	case tOpShr:
		return tZip(func(x, y T) T { return x >> uint64(y) })
	}
	return nil
}

// tIntPow is exponentiation by squaring; negative exponents truncate toward zero as integer division would.
func tIntPow[T tInt](x, y T) T {
	if y < 0 {
		switch {
		case x == 1:
			return 1
		case x == 0:
			return 0 // 1/0: undefined; avoid a panic
		case x+1 == 0: // x == -1 for signed types
			if y%2 == 0 {
				return 1
			}
			return x
		}
		return 0
	}
	r := T(1)
	for y > 0 {
		if y&1 == 1 {
			r *= x
		}
		x *= x
		y >>= 1
	}
	return r
}

// tArith applies a numeric binary op with broadcasting; both inputs must share a dtype.
func tArith(ctx *Ctx, op tBinOp, a, b *ir.Tensor) (*ir.Tensor, error) {
	if a.DType != b.DType {
		return nil, Invalidf("input dtypes differ: %s and %s", a.DType, b.DType)
	}
	var out *ir.Tensor
	var err error
	ok := true
	switch a.DType {
	case ir.Float32:
		out, err = tBinary(ctx, a, b, a.DType, tF32Row(op))
	case ir.Float64:
		out, err = tArithT(ctx, a, b, tFloatRow[float64](op))
	case ir.Float16, ir.BFloat16:
		r, err := tArith(ctx, op, tToF32(a), tToF32(b))
		if err != nil {
			return nil, err
		}
		return tFromF32(r, a.DType), nil
	case ir.Int8:
		out, err = tArithT(ctx, a, b, tIntRow[int8](op))
	case ir.Int16:
		out, err = tArithT(ctx, a, b, tIntRow[int16](op))
	case ir.Int32:
		out, err = tArithT(ctx, a, b, tIntRow[int32](op))
	case ir.Int64:
		out, err = tArithT(ctx, a, b, tIntRow[int64](op))
	case ir.Uint8:
		out, err = tArithT(ctx, a, b, tIntRow[uint8](op))
	case ir.Uint16:
		out, err = tArithT(ctx, a, b, tIntRow[uint16](op))
	case ir.Uint32:
		out, err = tArithT(ctx, a, b, tIntRow[uint32](op))
	case ir.Uint64:
		out, err = tArithT(ctx, a, b, tIntRow[uint64](op))
	default:
		ok = false
	}
	if !ok || (err == nil && out == nil) {
		return nil, Unsupportedf("dtype %s", a.DType)
	}
	return out, err
}

func tArithT[T any](ctx *Ctx, a, b *ir.Tensor, row tRowFn[T, T]) (*ir.Tensor, error) {
	if row == nil {
		return nil, nil
	}
	return tBinary(ctx, a, b, a.DType, row)
}

func tCmpRow[T cmp.Ordered](op tBinOp) tRowFn[T, bool] {
	switch op {
	case tOpEq:
		return tZip(func(x, y T) bool { return x == y })
	case tOpLt:
		return tZip(func(x, y T) bool { return x < y })
	case tOpGt:
		return tZip(func(x, y T) bool { return x > y })
	case tOpLe:
		return tZip(func(x, y T) bool { return x <= y })
	case tOpGe:
		return tZip(func(x, y T) bool { return x >= y })
	}
	return nil
}

// tCompare applies a comparison (output bool) with broadcasting.
func tCompare(ctx *Ctx, op tBinOp, a, b *ir.Tensor) (*ir.Tensor, error) {
	if a.DType != b.DType {
		return nil, Invalidf("input dtypes differ: %s and %s", a.DType, b.DType)
	}
	switch a.DType {
	case ir.Float32:
		return tBinary(ctx, a, b, ir.Bool, tCmpRow[float32](op))
	case ir.Float64:
		return tBinary(ctx, a, b, ir.Bool, tCmpRow[float64](op))
	case ir.Float16, ir.BFloat16:
		return tBinary(ctx, tToF32(a), tToF32(b), ir.Bool, tCmpRow[float32](op))
	case ir.Int8:
		return tBinary(ctx, a, b, ir.Bool, tCmpRow[int8](op))
	case ir.Int16:
		return tBinary(ctx, a, b, ir.Bool, tCmpRow[int16](op))
	case ir.Int32:
		return tBinary(ctx, a, b, ir.Bool, tCmpRow[int32](op))
	case ir.Int64:
		return tBinary(ctx, a, b, ir.Bool, tCmpRow[int64](op))
	case ir.Uint8, ir.Bool:
		return tBinary(ctx, a, b, ir.Bool, tCmpRow[uint8](op))
	case ir.Uint16:
		return tBinary(ctx, a, b, ir.Bool, tCmpRow[uint16](op))
	case ir.Uint32:
		return tBinary(ctx, a, b, ir.Bool, tCmpRow[uint32](op))
	case ir.Uint64:
		return tBinary(ctx, a, b, ir.Bool, tCmpRow[uint64](op))
	case ir.String:
		return tBinary(ctx, a, b, ir.Bool, tCmpRow[string](op))
	}
	return nil, Unsupportedf("dtype %s", a.DType)
}

// tLogical applies And/Or/Xor to bool tensors.
func tLogical(ctx *Ctx, op tBinOp, a, b *ir.Tensor) (*ir.Tensor, error) {
	if a.DType != ir.Bool || b.DType != ir.Bool {
		return nil, Invalidf("inputs must be bool, got %s and %s", a.DType, b.DType)
	}
	var f func(x, y bool) bool
	switch op {
	case tOpAnd:
		f = func(x, y bool) bool { return x && y }
	case tOpOr:
		f = func(x, y bool) bool { return x || y }
	default:
		f = func(x, y bool) bool { return x != y }
	}
	return tBinary(ctx, a, b, ir.Bool, tZip(f))
}

// tWhere selects x where cond is true, else y, broadcasting all three.
func tWhere(ctx *Ctx, c, x, y *ir.Tensor) (*ir.Tensor, error) {
	if c.DType != ir.Bool {
		return nil, Invalidf("condition must be bool, got %s", c.DType)
	}
	if x.DType != y.DType {
		return nil, Invalidf("X and Y dtypes differ: %s and %s", x.DType, y.DType)
	}
	if err := tCheckStorage(c, x, y); err != nil {
		return nil, err
	}
	switch {
	case x.DType == ir.String:
		return tWhereT[string](ctx, c, x, y)
	case x.DType.Size() == 1:
		return tWhereT[uint8](ctx, c, x, y)
	case x.DType.Size() == 2:
		return tWhereT[uint16](ctx, c, x, y)
	case x.DType.Size() == 4:
		return tWhereT[uint32](ctx, c, x, y)
	case x.DType.Size() == 8:
		return tWhereT[uint64](ctx, c, x, y)
	}
	return nil, Unsupportedf("dtype %s", x.DType)
}

func tWhereT[T any](ctx *Ctx, c, x, y *ir.Tensor) (*ir.Tensor, error) {
	p, err := tBroadcast(c.Shape, x.Shape, y.Shape)
	if err != nil {
		return nil, err
	}
	out := ctx.Alloc(x.DType, p.shape...)
	if p.total == 0 {
		return out, nil
	}
	cv, xv, yv, ov := tRaw[bool](c), tRaw[T](x), tRaw[T](y), tRaw[T](out)
	sc, sx, sy := p.inner(0), p.inner(1), p.inner(2)
	p.run(ctx, func(o int, off []int, n int) {
		ic, ix, iy := off[0], off[1], off[2]
		for i := 0; i < n; i++ {
			if cv[ic] {
				ov[o+i] = xv[ix]
			} else {
				ov[o+i] = yv[iy]
			}
			ic += sc
			ix += sx
			iy += sy
		}
	})
	return out, nil
}
