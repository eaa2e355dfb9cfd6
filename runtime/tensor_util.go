package runtime

import (
	"cmp"
	"unsafe"

	"github.com/hone-ml/hone/ir"
)

// tFloat, tInt and tNum constrain the generic bodies of the tensor ops. Float16 and bfloat16 are not here: their
// ops convert to float32, compute, and convert back, as ONNX Runtime does for most CPU kernels.
type tFloat interface{ ~float32 | ~float64 }

type tInt interface {
	~int8 | ~int16 | ~int32 | ~int64 | ~uint8 | ~uint16 | ~uint32 | ~uint64
}

type tNum interface{ tFloat | tInt }

// tRaw views a tensor's storage as []T whatever its dtype (for dtype-agnostic data movement by element size, and
// for bool as bytes). String tensors return their Strings slice when T is string.
func tRaw[T any](t *ir.Tensor) []T {
	var z T
	if _, ok := any(z).(string); ok {
		return any(t.Strings).([]T)
	}
	b := t.Bytes()
	n := len(b) / int(unsafe.Sizeof(z))
	if n == 0 {
		return []T{}
	}
	return unsafe.Slice((*T)(unsafe.Pointer(&b[0])), n)
}

// tScratch allocates temporaries that are not kernel outputs (a cast exponent, a pad value) outside the plan's
// arena, so they never enter its recycling bookkeeping.
func tScratch() *Ctx { return &Ctx{Threads: 1} }

// tOut wraps one output tensor as a kernel result.
func tOut(t *ir.Tensor, err error) ([]*ir.Tensor, error) {
	if err != nil {
		return nil, err
	}
	return []*ir.Tensor{t}, nil
}

// tNeed checks that the first n inputs are present, so kernels never index a nil tensor.
func tNeed(in []*ir.Tensor, n int) error {
	if len(in) < n {
		return Invalidf("expected at least %d inputs, got %d", n, len(in))
	}
	for i := 0; i < n; i++ {
		if in[i] == nil {
			return Invalidf("input %d is missing", i)
		}
	}
	return nil
}

// tOpt returns input i or nil when it is absent.
func tOpt(in []*ir.Tensor, i int) *ir.Tensor {
	if i < len(in) {
		return in[i]
	}
	return nil
}

// tAxis normalises a possibly negative axis against rank r.
func tAxis(axis int64, r int) (int, error) {
	if axis < -int64(r) || axis >= int64(r) {
		return 0, Invalidf("axis %d is out of range for rank %d", axis, r)
	}
	if axis < 0 {
		axis += int64(r)
	}
	return int(axis), nil
}

// tAxes normalises a list of axes and rejects duplicates.
func tAxes(axes []int64, r int) ([]int, error) {
	out := make([]int, len(axes))
	seen := make([]bool, r)
	for i, a := range axes {
		ax, err := tAxis(a, r)
		if err != nil {
			return nil, err
		}
		if seen[ax] {
			return nil, Invalidf("axis %d repeated in %v", a, axes)
		}
		seen[ax] = true
		out[i] = ax
	}
	return out, nil
}

// tInts reads a shape-like integer tensor (shape, axes, starts, …).
func tInts(t *ir.Tensor, what string) ([]int64, error) {
	if t.DType != ir.Int64 && t.DType != ir.Int32 {
		return nil, Invalidf("%s must be int64 or int32, got %s", what, t.DType)
	}
	v, err := t.Int64s()
	if err != nil {
		return nil, Invalidf("%s: %v", what, err)
	}
	return v, nil
}

// tScalarInt reads a one-element integer tensor.
func tScalarInt(t *ir.Tensor, what string) (int64, error) {
	v, err := tInts(t, what)
	if err != nil {
		return 0, err
	}
	if len(v) != 1 {
		return 0, Invalidf("%s must have one element, got shape %v", what, t.Shape)
	}
	return v[0], nil
}

// tStrides returns row-major element strides for shape.
func tStrides(shape []int) []int {
	s := make([]int, len(shape))
	n := 1
	for i := len(shape) - 1; i >= 0; i-- {
		s[i] = n
		n *= shape[i]
	}
	return s
}

// tProd multiplies dims[lo:hi].
func tProd(dims []int) int {
	n := 1
	for _, d := range dims {
		n *= d
	}
	return n
}

// tCheckStorage rejects tensors whose storage does not hold their shape (hand-built or truncated data), so index
// arithmetic below can trust Len.
func tCheckStorage(ts ...*ir.Tensor) error {
	for _, t := range ts {
		if t == nil {
			continue
		}
		n := ir.NumElements(t.Shape)
		if n < 0 {
			return Invalidf("negative dimension in shape %v", t.Shape)
		}
		if t.DType == ir.String {
			if len(t.Strings) < n {
				return Invalidf("string tensor %v holds %d elements", t.Shape, len(t.Strings))
			}
			continue
		}
		if t.DType.Size() == 0 || len(t.Bytes()) < n*t.DType.Size() {
			return Invalidf("%s tensor %v: storage holds %d bytes", t.DType, t.Shape, len(t.Bytes()))
		}
	}
	return nil
}

// tMaxOrdered is max with NaN propagation (NumPy's maximum); comparisons with NaN are false, so test x != x.
func tMaxOrdered[T cmp.Ordered](x, y T) T {
	if x != x || x > y {
		return x
	}
	return y
}

func tMinOrdered[T cmp.Ordered](x, y T) T {
	if x != x || x < y {
		return x
	}
	return y
}
