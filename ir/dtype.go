// Package ir is hone's graph intermediate representation: typed tensors, values, nodes and graphs.
// Every pass (opt, quant, prune) and the runtime share it; the onnx package converts protobuf to and from it.
package ir

import "fmt"

// DType is an element type. The numeric values are ONNX's TensorProto.DataType, so conversion is a cast.
type DType int32

// Element types, numbered as in onnx.proto.
const (
	Undefined  DType = 0
	Float32    DType = 1
	Uint8      DType = 2
	Int8       DType = 3
	Uint16     DType = 4
	Int16      DType = 5
	Int32      DType = 6
	Int64      DType = 7
	String     DType = 8
	Bool       DType = 9
	Float16    DType = 10
	Float64    DType = 11
	Uint32     DType = 12
	Uint64     DType = 13
	Complex64  DType = 14
	Complex128 DType = 15
	BFloat16   DType = 16
	Uint4      DType = 21
	Int4       DType = 22
)

var dtypeInfo = map[DType]struct {
	name string
	bits int
}{
	Float32: {"float32", 32}, Uint8: {"uint8", 8}, Int8: {"int8", 8}, Uint16: {"uint16", 16},
	Int16: {"int16", 16}, Int32: {"int32", 32}, Int64: {"int64", 64}, String: {"string", 0},
	Bool: {"bool", 8}, Float16: {"float16", 16}, Float64: {"float64", 64}, Uint32: {"uint32", 32},
	Uint64: {"uint64", 64}, Complex64: {"complex64", 64}, Complex128: {"complex128", 128},
	BFloat16: {"bfloat16", 16}, Uint4: {"uint4", 4}, Int4: {"int4", 4},
}

// String returns the NumPy-style name ("float32", "int64", ...).
func (d DType) String() string {
	if i, ok := dtypeInfo[d]; ok {
		return i.name
	}
	return fmt.Sprintf("dtype(%d)", int32(d))
}

// Bits is the storage width of one element; 0 for strings and unknown types.
func (d DType) Bits() int { return dtypeInfo[d].bits }

// Size is the storage width in bytes of one element (int4/uint4 report 1: hone stores them unpacked in memory).
func (d DType) Size() int {
	b := d.Bits()
	if b > 0 && b < 8 {
		return 1
	}
	return b / 8
}

// Valid reports whether d is a known element type.
func (d DType) Valid() bool { _, ok := dtypeInfo[d]; return ok }

// IsFloat reports whether d is a floating-point type.
func (d DType) IsFloat() bool {
	return d == Float32 || d == Float64 || d == Float16 || d == BFloat16
}

// IsInt reports whether d is an integer type (bool excluded).
func (d DType) IsInt() bool {
	switch d {
	case Uint8, Int8, Uint16, Int16, Int32, Int64, Uint32, Uint64, Uint4, Int4:
		return true
	}
	return false
}

// ParseDType parses a NumPy-style name as printed by String.
func ParseDType(s string) (DType, error) {
	for d, i := range dtypeInfo {
		if i.name == s {
			return d, nil
		}
	}
	switch s {
	case "float":
		return Float32, nil
	case "double":
		return Float64, nil
	case "half":
		return Float16, nil
	}
	return Undefined, fmt.Errorf("ir: unknown dtype %q", s)
}
