package ir

import (
	"fmt"
	"math"
	"unsafe"
)

// Tensor is a dense, row-major n-dimensional array. Its storage is a byte slice aligned to 64 bytes
// and viewed through the typed accessors (F32, I64, ...) without copying.
// String tensors keep their elements in Strings instead.
type Tensor struct {
	DType   DType
	Shape   []int
	data    []byte
	Strings []string
}

// New allocates a zeroed tensor.
func New(dt DType, shape ...int) *Tensor {
	n := NumElements(shape)
	t := &Tensor{DType: dt, Shape: append([]int(nil), shape...)}
	if dt == String {
		t.Strings = make([]string, n)
		return t
	}
	t.data = alignedBytes(n * dt.Size())
	return t
}

// alignedBytes returns n zeroed bytes starting on a 64-byte boundary, so SIMD loads never split cache lines.
func alignedBytes(n int) []byte {
	if n == 0 {
		return []byte{}
	}
	words := make([]uint64, (n+63+64)/8)
	b := unsafe.Slice((*byte)(unsafe.Pointer(&words[0])), len(words)*8)
	off := int((64 - uintptr(unsafe.Pointer(&b[0]))%64) % 64)
	return b[off : off+n : off+n]
}

// FromBytes wraps raw little-endian storage (not copied) as a tensor. len(data) must match the shape.
func FromBytes(dt DType, shape []int, data []byte) (*Tensor, error) {
	n := NumElements(shape)
	if n < 0 {
		return nil, fmt.Errorf("ir: negative dimension in shape %v", shape)
	}
	if len(data) != n*dt.Size() {
		return nil, fmt.Errorf("ir: %s tensor of shape %v needs %d bytes, got %d", dt, shape, n*dt.Size(), len(data))
	}
	t := &Tensor{DType: dt, Shape: append([]int(nil), shape...)}
	if len(data) > 0 && uintptr(unsafe.Pointer(&data[0]))%uintptr(max(dt.Size(), 1)) != 0 {
		t.data = alignedBytes(len(data))
		copy(t.data, data)
	} else {
		t.data = data
	}
	return t, nil
}

// FromFloat32 wraps v (not copied) as a float32 tensor.
func FromFloat32(shape []int, v []float32) *Tensor {
	return wrap(Float32, shape, unsafe.Pointer(unsafe.SliceData(v)), len(v), 4)
}

// FromInt64 wraps v (not copied) as an int64 tensor.
func FromInt64(shape []int, v []int64) *Tensor {
	return wrap(Int64, shape, unsafe.Pointer(unsafe.SliceData(v)), len(v), 8)
}

// FromInt32 wraps v (not copied) as an int32 tensor.
func FromInt32(shape []int, v []int32) *Tensor {
	return wrap(Int32, shape, unsafe.Pointer(unsafe.SliceData(v)), len(v), 4)
}

// Scalar returns a rank-0 float32 tensor.
func Scalar(v float32) *Tensor { return FromFloat32(nil, []float32{v}) }

func wrap(dt DType, shape []int, p unsafe.Pointer, n, size int) *Tensor {
	if NumElements(shape) != n {
		panic(fmt.Sprintf("ir: %d elements do not fill shape %v", n, shape))
	}
	t := &Tensor{DType: dt, Shape: append([]int(nil), shape...)}
	if n == 0 {
		t.data = []byte{}
	} else {
		t.data = unsafe.Slice((*byte)(p), n*size)
	}
	return t
}

// NumElements is the product of the dimensions (1 for a scalar), or -1 if any is negative.
func NumElements(shape []int) int {
	n := 1
	for _, d := range shape {
		if d < 0 {
			return -1
		}
		n *= d
	}
	return n
}

// Len is the number of elements.
func (t *Tensor) Len() int { return NumElements(t.Shape) }

// Rank is the number of dimensions.
func (t *Tensor) Rank() int { return len(t.Shape) }

// Bytes is the raw little-endian storage (shared, not copied). Nil for string tensors.
func (t *Tensor) Bytes() []byte { return t.data }

// NumBytes is the size of the storage in bytes.
func (t *Tensor) NumBytes() int { return len(t.data) }

func view[T any](t *Tensor, want DType) []T {
	if t.DType != want {
		panic(fmt.Sprintf("ir: %s tensor viewed as %s", t.DType, want))
	}
	var z T
	n := len(t.data) / int(unsafe.Sizeof(z))
	if n == 0 {
		return []T{}
	}
	return unsafe.Slice((*T)(unsafe.Pointer(&t.data[0])), n)
}

// F32 views the storage as float32. It panics if the dtype differs: callers check DType first.
func (t *Tensor) F32() []float32 { return view[float32](t, Float32) }

// F64 views the storage as float64.
func (t *Tensor) F64() []float64 { return view[float64](t, Float64) }

// I64 views the storage as int64.
func (t *Tensor) I64() []int64 { return view[int64](t, Int64) }

// I32 views the storage as int32.
func (t *Tensor) I32() []int32 { return view[int32](t, Int32) }

// I16 views the storage as int16.
func (t *Tensor) I16() []int16 { return view[int16](t, Int16) }

// U16 views the storage as uint16. Float16 and BFloat16 tensors are viewed as their bit patterns via Bits16.
func (t *Tensor) U16() []uint16 { return view[uint16](t, Uint16) }

// U32 views the storage as uint32.
func (t *Tensor) U32() []uint32 { return view[uint32](t, Uint32) }

// U64 views the storage as uint64.
func (t *Tensor) U64() []uint64 { return view[uint64](t, Uint64) }

// I8 views the storage as int8 (also Int4 tensors, which hold one value per byte in memory).
func (t *Tensor) I8() []int8 {
	if t.DType == Int4 {
		return unsafe.Slice((*int8)(unsafe.Pointer(unsafe.SliceData(t.data))), len(t.data))
	}
	return view[int8](t, Int8)
}

// U8 views the storage as uint8 (also Uint4 tensors, one value per byte).
func (t *Tensor) U8() []uint8 {
	if t.DType == Uint4 {
		return t.data
	}
	return view[uint8](t, Uint8)
}

// BoolData views the storage of a bool tensor as bytes (0 or 1).
func (t *Tensor) BoolData() []bool { return view[bool](t, Bool) }

// Bits16 views float16/bfloat16 storage as raw 16-bit patterns.
func (t *Tensor) Bits16() []uint16 {
	if t.DType != Float16 && t.DType != BFloat16 && t.DType != Uint16 {
		panic(fmt.Sprintf("ir: %s tensor viewed as 16-bit", t.DType))
	}
	if len(t.data) == 0 {
		return []uint16{}
	}
	return unsafe.Slice((*uint16)(unsafe.Pointer(&t.data[0])), len(t.data)/2)
}

// Clone returns a deep copy.
func (t *Tensor) Clone() *Tensor {
	c := &Tensor{DType: t.DType, Shape: append([]int(nil), t.Shape...)}
	if t.Strings != nil {
		c.Strings = append([]string(nil), t.Strings...)
	}
	if t.data != nil {
		c.data = alignedBytes(len(t.data))
		copy(c.data, t.data)
	}
	return c
}

// Reshape returns a tensor sharing storage with t under a new shape of the same element count.
func (t *Tensor) Reshape(shape ...int) (*Tensor, error) {
	if NumElements(shape) != t.Len() {
		return nil, fmt.Errorf("ir: cannot reshape %v to %v", t.Shape, shape)
	}
	return &Tensor{DType: t.DType, Shape: append([]int(nil), shape...), data: t.data, Strings: t.Strings}, nil
}

// Float64s converts any numeric tensor to float64 values (a copy). Useful for tests and reports, not hot paths.
func (t *Tensor) Float64s() []float64 {
	n := t.Len()
	out := make([]float64, n)
	switch t.DType {
	case Float32:
		for i, v := range t.F32() {
			out[i] = float64(v)
		}
	case Float64:
		copy(out, t.F64())
	case Float16:
		for i, v := range t.Bits16() {
			out[i] = float64(HalfToFloat(v))
		}
	case BFloat16:
		for i, v := range t.Bits16() {
			out[i] = float64(BFloat16ToFloat(v))
		}
	case Int8, Int4:
		for i, v := range t.I8() {
			out[i] = float64(v)
		}
	case Uint8, Uint4:
		for i, v := range t.U8() {
			out[i] = float64(v)
		}
	case Int16:
		for i, v := range t.I16() {
			out[i] = float64(v)
		}
	case Uint16:
		for i, v := range t.U16() {
			out[i] = float64(v)
		}
	case Int32:
		for i, v := range t.I32() {
			out[i] = float64(v)
		}
	case Uint32:
		for i, v := range t.U32() {
			out[i] = float64(v)
		}
	case Int64:
		for i, v := range t.I64() {
			out[i] = float64(v)
		}
	case Uint64:
		for i, v := range t.U64() {
			out[i] = float64(v)
		}
	case Bool:
		for i, v := range t.BoolData() {
			if v {
				out[i] = 1
			}
		}
	default:
		for i := range out {
			out[i] = math.NaN()
		}
	}
	return out
}

// Int64s converts an integer tensor's values to int64 (a copy); used for shape-like inputs.
func (t *Tensor) Int64s() ([]int64, error) {
	switch t.DType {
	case Int64:
		return append([]int64(nil), t.I64()...), nil
	case Int32:
		out := make([]int64, t.Len())
		for i, v := range t.I32() {
			out[i] = int64(v)
		}
		return out, nil
	case Int8, Uint8, Int16, Uint16, Uint32, Uint64, Bool, Int4, Uint4:
		f := t.Float64s()
		out := make([]int64, len(f))
		for i, v := range f {
			out[i] = int64(v)
		}
		return out, nil
	}
	return nil, fmt.Errorf("ir: expected an integer tensor, got %s", t.DType)
}

// String summarises the tensor (dtype and shape), for errors and logs.
func (t *Tensor) String() string { return fmt.Sprintf("%s%v", t.DType, t.Shape) }
