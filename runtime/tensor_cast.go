package runtime

import (
	"math"
	"strconv"
	"strings"

	"github.com/hone-ml/hone/ir"
)

// tToF32 widens a float16/bfloat16 tensor to float32 (other dtypes are returned as they are).
func tToF32(t *ir.Tensor) *ir.Tensor {
	if t.DType != ir.Float16 && t.DType != ir.BFloat16 {
		return t
	}
	out := ir.New(ir.Float32, t.Shape...)
	o := out.F32()
	src := t.Bits16()
	if t.DType == ir.Float16 {
		for i, h := range src[:len(o)] {
			o[i] = ir.HalfToFloat(h)
		}
	} else {
		for i, h := range src[:len(o)] {
			o[i] = ir.BFloat16ToFloat(h)
		}
	}
	return out
}

// tFromF32 narrows a float32 tensor to float16 or bfloat16 with round-half-to-even.
func tFromF32(t *ir.Tensor, dt ir.DType) *ir.Tensor {
	if dt != ir.Float16 && dt != ir.BFloat16 {
		return t
	}
	out := ir.New(dt, t.Shape...)
	o := out.Bits16()
	if dt == ir.Float16 {
		for i, v := range t.F32() {
			o[i] = ir.FloatToHalf(v)
		}
	} else {
		for i, v := range t.F32() {
			o[i] = ir.FloatToBFloat16(v)
		}
	}
	return out
}

// tCastable lists the dtypes Cast converts between.
func tCastable(d ir.DType) bool {
	switch d {
	case ir.Float32, ir.Float64, ir.Float16, ir.BFloat16, ir.Int8, ir.Int16, ir.Int32, ir.Int64,
		ir.Uint8, ir.Uint16, ir.Uint32, ir.Uint64, ir.Bool, ir.String:
		return true
	}
	return false
}

// tCast converts t to dtype to with C/NumPy conversion semantics (floats truncate toward zero when cast to
// integers; any non-zero value is true). A tensor already of dtype to is returned as is.
func tCast(ctx *Ctx, t *ir.Tensor, to ir.DType) (*ir.Tensor, error) {
	if !tCastable(t.DType) || !tCastable(to) {
		return nil, Unsupportedf("cast from %s to %s", t.DType, to)
	}
	if err := tCheckStorage(t); err != nil {
		return nil, err
	}
	if t.DType == to {
		return t, nil
	}
	switch {
	case t.DType == ir.String:
		return tCastFromString(ctx, t, to)
	case to == ir.String:
		return tCastToString(ctx, t), nil
	case to == ir.Float16 || to == ir.BFloat16:
		f, err := tCast(ctx, tToF32(t), ir.Float32)
		if err != nil {
			return nil, err
		}
		return tFromF32(f, to), nil
	}
	src := tToF32(t)
	out := ctx.Alloc(to, t.Shape...)
	switch src.DType {
	case ir.Float32:
		tCastFrom(tRaw[float32](src), out)
	case ir.Float64:
		tCastFrom(tRaw[float64](src), out)
	case ir.Int8:
		tCastFrom(tRaw[int8](src), out)
	case ir.Int16:
		tCastFrom(tRaw[int16](src), out)
	case ir.Int32:
		tCastFrom(tRaw[int32](src), out)
	case ir.Int64:
		tCastFrom(tRaw[int64](src), out)
	case ir.Uint8, ir.Bool:
		tCastFrom(tRaw[uint8](src), out)
	case ir.Uint16:
		tCastFrom(tRaw[uint16](src), out)
	case ir.Uint32:
		tCastFrom(tRaw[uint32](src), out)
	case ir.Uint64:
		tCastFrom(tRaw[uint64](src), out)
	}
	return out, nil
}

func tCastFrom[S tNum](s []S, out *ir.Tensor) {
	switch out.DType {
	case ir.Float32:
		tConv(tRaw[float32](out), s)
	case ir.Float64:
		tConv(tRaw[float64](out), s)
	case ir.Int8:
		tConv(tRaw[int8](out), s)
	case ir.Int16:
		tConv(tRaw[int16](out), s)
	case ir.Int32:
		tConv(tRaw[int32](out), s)
	case ir.Int64:
		tConv(tRaw[int64](out), s)
	case ir.Uint8:
		tConv(tRaw[uint8](out), s)
	case ir.Uint16:
		tConv(tRaw[uint16](out), s)
	case ir.Uint32:
		tConv(tRaw[uint32](out), s)
	case ir.Uint64:
		tConv(tRaw[uint64](out), s)
	case ir.Bool:
		d := tRaw[bool](out)
		for i := range d {
			d[i] = s[i] != 0
		}
	}
}

func tConv[D, S tNum](d []D, s []S) {
	s = s[:len(d)]
	for i, v := range s {
		d[i] = D(v)
	}
}

// tCastToString formats numbers as ONNX's reference does: shortest round-trip decimal, "NaN", "INF", "-INF".
func tCastToString(ctx *Ctx, t *ir.Tensor) *ir.Tensor {
	out := ctx.Alloc(ir.String, t.Shape...)
	bits := 64
	if t.DType == ir.Float32 || t.DType == ir.Float16 || t.DType == ir.BFloat16 {
		bits = 32
	}
	if t.DType == ir.Bool {
		for i, v := range tRaw[bool](t)[:len(out.Strings)] {
			out.Strings[i] = map[bool]string{false: "0", true: "1"}[v]
		}
		return out
	}
	if t.DType.IsFloat() {
		for i, v := range tToF32Any(t) {
			switch {
			case math.IsNaN(v):
				out.Strings[i] = "NaN"
			case math.IsInf(v, 1):
				out.Strings[i] = "INF"
			case math.IsInf(v, -1):
				out.Strings[i] = "-INF"
			default:
				out.Strings[i] = strconv.FormatFloat(v, 'g', -1, bits)
			}
		}
		return out
	}
	if t.DType == ir.Uint64 {
		for i, v := range tRaw[uint64](t)[:len(out.Strings)] {
			out.Strings[i] = strconv.FormatUint(v, 10)
		}
		return out
	}
	v, _ := t.Int64s()
	for i := range out.Strings {
		out.Strings[i] = strconv.FormatInt(v[i], 10)
	}
	return out
}

// tToF32Any reads any float tensor as float64 values.
func tToF32Any(t *ir.Tensor) []float64 { return tToF32(t).Float64s() }

// tCastFromString parses decimal strings; integers parse exactly, floats accept "NaN"/"INF"/"-INF" any case.
func tCastFromString(ctx *Ctx, t *ir.Tensor, to ir.DType) (*ir.Tensor, error) {
	n := t.Len()
	if to.IsInt() || to == ir.Bool {
		vals := make([]int64, n)
		for i, s := range t.Strings[:n] {
			s = strings.TrimSpace(s)
			v, err := strconv.ParseInt(s, 10, 64)
			if err != nil {
				f, ferr := strconv.ParseFloat(s, 64)
				if ferr != nil {
					return nil, Invalidf("cannot parse %q as %s", s, to)
				}
				v = int64(f)
			}
			vals[i] = v
		}
		return tCast(ctx, ir.FromInt64(t.Shape, vals), to)
	}
	vals := make([]float64, n)
	for i, s := range t.Strings[:n] {
		v, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
		if err != nil && !tIsRangeErr(err) {
			return nil, Invalidf("cannot parse %q as %s", s, to)
		}
		vals[i] = v
	}
	f := ir.New(ir.Float64, t.Shape...)
	copy(f.F64(), vals)
	return tCast(ctx, f, to)
}

// tIsRangeErr accepts out-of-range literals: ParseFloat already returned ±Inf or 0 for them, as C's strtod does.
func tIsRangeErr(err error) bool {
	ne, ok := err.(*strconv.NumError)
	return ok && ne.Err == strconv.ErrRange
}
