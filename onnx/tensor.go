package onnx

import (
	"encoding/binary"
	"fmt"
	"math"

	"google.golang.org/protobuf/proto"

	"github.com/hone-ml/hone/ir"
	"github.com/hone-ml/hone/onnx/onnxpb"
)

// form is where a TensorProto keeps its elements.
type form int

const (
	formNone     form = iota // no data field at all (an empty tensor)
	formRaw                  // raw_data, little-endian, int4 packed two per byte
	formTyped                // float_data, int32_data, int64_data, ... per dtype
	formExternal             // data_location = EXTERNAL
)

func formOf(tp *onnxpb.TensorProto) form {
	switch {
	case tp.GetDataLocation() == onnxpb.TensorProto_EXTERNAL:
		return formExternal
	case tp.RawData != nil:
		return formRaw
	case len(tp.FloatData)+len(tp.Int32Data)+len(tp.StringData)+len(tp.Int64Data)+len(tp.DoubleData)+len(tp.Uint64Data) > 0:
		return formTyped
	}
	return formNone
}

// dtypeOf checks a TensorProto.DataType value against what ir models.
func dtypeOf(v int32, what string) (ir.DType, error) {
	dt := ir.DType(v)
	switch {
	case dt == ir.Undefined:
		return 0, formatErr("%s has no data type", what)
	case !dt.Valid():
		// FLOAT8 variants (17-20) and anything newer are valid ONNX that ir does not model.
		return 0, unsupportedErr("%s has element type %d", what, v)
	}
	return dt, nil
}

// shapeOf turns dims into an ir shape and its element count, rejecting negative dims and counts whose byte size
// overflows, before anything is allocated.
func shapeOf(dims []int64, dt ir.DType, what string) ([]int, int, error) {
	shape := make([]int, len(dims))
	n := int64(1)
	elem := int64(max(dt.Size(), 1))
	for i, d := range dims {
		if d < 0 {
			return nil, 0, formatErr("%s has negative dimension %d", what, d)
		}
		if d > 0 && n > math.MaxInt64/elem/d {
			return nil, 0, formatErr("%s claims %v elements, more than can be addressed", what, dims)
		}
		n *= d
		shape[i] = int(d)
	}
	return shape, int(n), nil
}

// packedLen is the on-disk byte count of n elements: int4/uint4 pack two per byte.
func packedLen(dt ir.DType, n int) int {
	if dt.Bits() == 4 {
		return (n + 1) / 2
	}
	return n * dt.Size()
}

func tensorWhat(tp *onnxpb.TensorProto) string {
	return fmt.Sprintf("tensor %q", tp.GetName())
}

// decodeTensor converts a dense TensorProto. Sizes are checked against the stored data before allocating, so a
// tensor claiming huge dims with little data fails cheaply.
func decodeTensor(tp *onnxpb.TensorProto, ext *extReader) (*ir.Tensor, error) {
	what := tensorWhat(tp)
	if tp.Segment != nil {
		return nil, unsupportedErr("%s is a segment of a larger tensor", what)
	}
	dt, err := dtypeOf(tp.GetDataType(), what)
	if err != nil {
		return nil, err
	}
	shape, n, err := shapeOf(tp.Dims, dt, what)
	if err != nil {
		return nil, err
	}
	f := formOf(tp)
	if dt == ir.String {
		if f == formRaw || f == formExternal {
			return nil, formatErr("%s: string tensors must use string_data", what)
		}
		if len(tp.StringData) != n {
			return nil, formatErr("%s of shape %v has %d strings", what, shape, len(tp.StringData))
		}
		t := ir.New(ir.String, shape...)
		for i, s := range tp.StringData {
			t.Strings[i] = string(s)
		}
		return t, nil
	}
	switch f {
	case formExternal:
		raw, err := ext.load(tp, packedLen(dt, n))
		if err != nil {
			return nil, err
		}
		return fromRaw(dt, shape, n, raw, what)
	case formRaw:
		return fromRaw(dt, shape, n, tp.RawData, what)
	}
	return fromTyped(tp, dt, shape, n, what)
}

// fromRaw wraps little-endian bytes, unpacking int4 to one element per byte as ir stores it.
func fromRaw(dt ir.DType, shape []int, n int, raw []byte, what string) (*ir.Tensor, error) {
	if want := packedLen(dt, n); len(raw) != want {
		return nil, formatErr("%s: %s of shape %v needs %d bytes, has %d", what, dt, shape, want, len(raw))
	}
	if dt.Bits() == 4 {
		t := ir.New(dt, shape...)
		unpack4(t.Bytes(), raw, dt == ir.Int4)
		return t, nil
	}
	t, err := ir.FromBytes(dt, shape, raw)
	if err != nil {
		return nil, formatErr("%s: %w", what, err)
	}
	return t, nil
}

// unpack4 spreads packed nibbles (element 2i in the low nibble of byte i, as ONNX specifies) into one byte each,
// sign-extending for int4.
func unpack4(dst, src []byte, signed bool) {
	for i := range dst {
		v := src[i/2] >> (4 * (i % 2)) & 0xf
		if signed && v&0x8 != 0 {
			v |= 0xf0
		}
		dst[i] = v
	}
}

// pack4 is unpack4's inverse; an odd count leaves the last high nibble zero.
func pack4(src []byte) []byte {
	dst := make([]byte, (len(src)+1)/2)
	for i, v := range src {
		dst[i/2] |= (v & 0xf) << (4 * (i % 2))
	}
	return dst
}

// typedLen is how many entries of the dtype's typed field n elements take.
func typedLen(dt ir.DType, n int) int {
	switch dt {
	case ir.Complex64, ir.Complex128:
		return 2 * n
	case ir.Int4, ir.Uint4:
		return (n + 1) / 2
	}
	return n
}

// fromTyped reads the per-dtype repeated field. Which field a dtype uses is fixed by onnx.proto's comments;
// data in any other field is a format error.
func fromTyped(tp *onnxpb.TensorProto, dt ir.DType, shape []int, n int, what string) (*ir.Tensor, error) {
	var have int
	var field string
	switch dt {
	case ir.Float32, ir.Complex64:
		have, field = len(tp.FloatData), "float_data"
	case ir.Float64, ir.Complex128:
		have, field = len(tp.DoubleData), "double_data"
	case ir.Int64:
		have, field = len(tp.Int64Data), "int64_data"
	case ir.Uint32, ir.Uint64:
		have, field = len(tp.Uint64Data), "uint64_data"
	default:
		have, field = len(tp.Int32Data), "int32_data"
	}
	total := len(tp.FloatData) + len(tp.DoubleData) + len(tp.Int64Data) + len(tp.Uint64Data) + len(tp.Int32Data) + len(tp.StringData)
	if total != have {
		return nil, formatErr("%s: %s data must be in %s", what, dt, field)
	}
	if want := typedLen(dt, n); have != want {
		return nil, formatErr("%s: %s of shape %v needs %d values in %s, has %d", what, dt, shape, want, field, have)
	}
	t := ir.New(dt, shape...)
	b := t.Bytes()
	le := binary.LittleEndian
	switch dt {
	case ir.Float32, ir.Complex64:
		for i, v := range tp.FloatData {
			le.PutUint32(b[4*i:], math.Float32bits(v))
		}
	case ir.Float64, ir.Complex128:
		for i, v := range tp.DoubleData {
			le.PutUint64(b[8*i:], math.Float64bits(v))
		}
	case ir.Int64:
		for i, v := range tp.Int64Data {
			le.PutUint64(b[8*i:], uint64(v))
		}
	case ir.Uint64:
		for i, v := range tp.Uint64Data {
			le.PutUint64(b[8*i:], v)
		}
	case ir.Uint32:
		for i, v := range tp.Uint64Data {
			le.PutUint32(b[4*i:], uint32(v))
		}
	case ir.Int32:
		for i, v := range tp.Int32Data {
			le.PutUint32(b[4*i:], uint32(v))
		}
	case ir.Int16, ir.Uint16, ir.Float16, ir.BFloat16:
		for i, v := range tp.Int32Data {
			le.PutUint16(b[2*i:], uint16(v))
		}
	case ir.Int8, ir.Uint8:
		for i, v := range tp.Int32Data {
			b[i] = byte(v)
		}
	case ir.Bool:
		for i, v := range tp.Int32Data {
			if v != 0 {
				b[i] = 1
			}
		}
	case ir.Int4, ir.Uint4:
		// Each int32 holds one packed byte, as raw_data would.
		packed := make([]byte, len(tp.Int32Data))
		for i, v := range tp.Int32Data {
			packed[i] = byte(v)
		}
		unpack4(b, packed, dt == ir.Int4)
	default:
		return nil, unsupportedErr("%s: no typed field for %s", what, dt)
	}
	return t, nil
}

// rawBytes is t's on-disk raw_data: shared with t, except int4 which is packed into a new slice.
func rawBytes(t *ir.Tensor) []byte {
	if t.DType.Bits() == 4 {
		return pack4(t.Bytes())
	}
	return t.Bytes()
}

// encodeTensor converts t into a TensorProto stored in form f (formRaw when unsure). hint, the tensor it was
// decoded from, supplies what ir does not keep: doc string, segment, unknown fields.
func encodeTensor(t *ir.Tensor, name string, hint *onnxpb.TensorProto, f form) (*onnxpb.TensorProto, error) {
	if t == nil {
		return nil, formatErr("tensor %q is nil", name)
	}
	if !t.DType.Valid() {
		return nil, unsupportedErr("tensor %q has element type %d", name, int32(t.DType))
	}
	n := ir.NumElements(t.Shape)
	if n < 0 {
		return nil, formatErr("tensor %q has negative dimension in %v", name, t.Shape)
	}
	tp := &onnxpb.TensorProto{DataType: proto.Int32(int32(t.DType)), Dims: make([]int64, len(t.Shape))}
	for i, d := range t.Shape {
		tp.Dims[i] = int64(d)
	}
	tp.Name = optString(name, hint.GetName(), hint != nil && hint.Name != nil)
	if hint != nil {
		tp.DocString = hint.DocString
		tp.ProtoReflect().SetUnknown(hint.ProtoReflect().GetUnknown())
	}
	if t.DType == ir.String {
		if len(t.Strings) != n {
			return nil, formatErr("tensor %q of shape %v has %d strings", name, t.Shape, len(t.Strings))
		}
		tp.StringData = make([][]byte, n)
		for i, s := range t.Strings {
			tp.StringData[i] = []byte(s)
		}
		return tp, nil
	}
	if t.NumBytes() != n*t.DType.Size() {
		return nil, formatErr("tensor %q: %s of shape %v holds %d bytes", name, t.DType, t.Shape, t.NumBytes())
	}
	switch {
	case f == formNone && n == 0:
	case f == formTyped:
		encodeTyped(tp, t)
	default:
		tp.RawData = rawBytes(t)
	}
	return tp, nil
}

// encodeTyped is fromTyped's inverse.
func encodeTyped(tp *onnxpb.TensorProto, t *ir.Tensor) {
	b := t.Bytes()
	le := binary.LittleEndian
	switch t.DType {
	case ir.Float32, ir.Complex64:
		tp.FloatData = make([]float32, len(b)/4)
		for i := range tp.FloatData {
			tp.FloatData[i] = math.Float32frombits(le.Uint32(b[4*i:]))
		}
	case ir.Float64, ir.Complex128:
		tp.DoubleData = make([]float64, len(b)/8)
		for i := range tp.DoubleData {
			tp.DoubleData[i] = math.Float64frombits(le.Uint64(b[8*i:]))
		}
	case ir.Int64:
		tp.Int64Data = make([]int64, len(b)/8)
		for i := range tp.Int64Data {
			tp.Int64Data[i] = int64(le.Uint64(b[8*i:]))
		}
	case ir.Uint64:
		tp.Uint64Data = make([]uint64, len(b)/8)
		for i := range tp.Uint64Data {
			tp.Uint64Data[i] = le.Uint64(b[8*i:])
		}
	case ir.Uint32:
		tp.Uint64Data = make([]uint64, len(b)/4)
		for i := range tp.Uint64Data {
			tp.Uint64Data[i] = uint64(le.Uint32(b[4*i:]))
		}
	case ir.Int32:
		tp.Int32Data = make([]int32, len(b)/4)
		for i := range tp.Int32Data {
			tp.Int32Data[i] = int32(le.Uint32(b[4*i:]))
		}
	case ir.Int16:
		tp.Int32Data = make([]int32, len(b)/2)
		for i := range tp.Int32Data {
			tp.Int32Data[i] = int32(int16(le.Uint16(b[2*i:])))
		}
	case ir.Uint16, ir.Float16, ir.BFloat16:
		tp.Int32Data = make([]int32, len(b)/2)
		for i := range tp.Int32Data {
			tp.Int32Data[i] = int32(le.Uint16(b[2*i:]))
		}
	case ir.Int8:
		tp.Int32Data = make([]int32, len(b))
		for i, v := range b {
			tp.Int32Data[i] = int32(int8(v))
		}
	case ir.Uint8, ir.Bool:
		tp.Int32Data = make([]int32, len(b))
		for i, v := range b {
			tp.Int32Data[i] = int32(v)
		}
	case ir.Int4, ir.Uint4:
		packed := pack4(b)
		tp.Int32Data = make([]int32, len(packed))
		for i, v := range packed {
			tp.Int32Data[i] = int32(v)
		}
	}
}

// decodeSparse densifies a SparseTensorProto. Indices are either [NNZ, rank] coordinates or [NNZ] linear
// offsets (onnx.proto's two layouts); the dense size is capped by MaxDenseBytes.
func decodeSparse(sp *onnxpb.SparseTensorProto, ext *extReader) (*ir.Tensor, error) {
	if sp.Values == nil {
		return nil, formatErr("sparse tensor has no values")
	}
	what := fmt.Sprintf("sparse tensor %q", sp.Values.GetName())
	vals, err := decodeTensor(sp.Values, ext)
	if err != nil {
		return nil, err
	}
	if vals.Rank() != 1 {
		return nil, formatErr("%s: values have shape %v, want [NNZ]", what, vals.Shape)
	}
	dt := vals.DType
	shape, n, err := shapeOf(sp.Dims, dt, what)
	if err != nil {
		return nil, err
	}
	if int64(n)*int64(max(dt.Size(), 1)) > MaxDenseBytes {
		return nil, unsupportedErr("%s of shape %v is larger than MaxDenseBytes (%d) when dense", what, shape, MaxDenseBytes)
	}
	nnz := vals.Len()
	var lin []int64
	if nnz > 0 || sp.Indices != nil {
		if sp.Indices == nil {
			return nil, formatErr("%s has values but no indices", what)
		}
		idx, err := decodeTensor(sp.Indices, ext)
		if err != nil {
			return nil, err
		}
		if idx.DType != ir.Int64 {
			return nil, formatErr("%s: indices are %s, want int64", what, idx.DType)
		}
		lin, err = linearIndices(idx, shape, nnz, n, what)
		if err != nil {
			return nil, err
		}
	}
	t := ir.New(dt, shape...)
	if dt == ir.String {
		for i, j := range lin {
			t.Strings[j] = vals.Strings[i]
		}
		return t, nil
	}
	size := dt.Size()
	src, dst := vals.Bytes(), t.Bytes()
	for i, j := range lin {
		copy(dst[int(j)*size:(int(j)+1)*size], src[i*size:(i+1)*size])
	}
	return t, nil
}

// linearIndices converts either index layout to linear offsets, checking bounds and ascending order (required
// by onnx.proto, and what keeps a round trip unambiguous).
func linearIndices(idx *ir.Tensor, shape []int, nnz, n int, what string) ([]int64, error) {
	v := idx.I64()
	lin := make([]int64, nnz)
	switch {
	case idx.Rank() == 1 && idx.Shape[0] == nnz:
		copy(lin, v)
	case idx.Rank() == 2 && idx.Shape[0] == nnz && idx.Shape[1] == len(shape):
		r := len(shape)
		for i := range nnz {
			var off int64
			for k := range r {
				c := v[i*r+k]
				if c < 0 || c >= int64(shape[k]) {
					return nil, formatErr("%s: index %d is out of range for dimension %d of %v", what, c, k, shape)
				}
				off = off*int64(shape[k]) + c
			}
			lin[i] = off
		}
	default:
		return nil, formatErr("%s: indices have shape %v, want [%d] or [%d,%d]", what, idx.Shape, nnz, nnz, len(shape))
	}
	for i, j := range lin {
		if j < 0 || j >= int64(n) {
			return nil, formatErr("%s: linear index %d is out of range [0,%d)", what, j, n)
		}
		if i > 0 && j <= lin[i-1] {
			return nil, formatErr("%s: indices are not strictly ascending", what)
		}
	}
	return lin, nil
}

// encodeSparse writes t back sparse. When hint (the source) densifies to exactly t it is reused as it was, so
// stored zeros and the index layout survive a round trip; otherwise the nonzeros are written with linear [NNZ]
// indices, or with [NNZ, rank] coordinates when the hint used those.
func encodeSparse(t *ir.Tensor, name string, hint *onnxpb.SparseTensorProto) (*onnxpb.SparseTensorProto, error) {
	if hint != nil {
		if d, err := decodeSparse(hint, &extReader{}); err == nil && sameTensor(d, t) {
			return hint, nil
		}
	}
	if t.DType == ir.String {
		return nil, unsupportedErr("sparse string tensor %q", name)
	}
	size := t.DType.Size()
	b := t.Bytes()
	var lin []int64
	for i := range t.Len() {
		for _, c := range b[i*size : (i+1)*size] {
			if c != 0 {
				lin = append(lin, int64(i))
				break
			}
		}
	}
	vals := ir.New(t.DType, len(lin))
	vb := vals.Bytes()
	for i, j := range lin {
		copy(vb[i*size:(i+1)*size], b[int(j)*size:(int(j)+1)*size])
	}
	// Linear [NNZ] indices cost 8 bytes per nonzero whatever the rank; [NNZ, rank] coordinates cost 8·rank (a
	// 4-D conv weight would pay 36 bytes per 4-byte value). onnx.proto allows both and its checker requires
	// int64 for either, so smaller index types are not an option. Coordinates are written only to keep a source
	// tensor's layout through a round trip.
	var idx *ir.Tensor
	coords := hint != nil && hint.Indices != nil && len(hint.Indices.Dims) == 2
	if !coords || t.Rank() == 0 {
		idx = ir.FromInt64([]int{len(lin)}, lin)
	} else {
		r := t.Rank()
		coords := make([]int64, len(lin)*r)
		for i, j := range lin {
			for k := r - 1; k >= 0; k-- {
				coords[i*r+k] = j % int64(t.Shape[k])
				j /= int64(t.Shape[k])
			}
		}
		idx = ir.FromInt64([]int{len(lin), r}, coords)
	}
	var vhint, ihint *onnxpb.TensorProto
	if hint != nil {
		vhint, ihint = hint.Values, hint.Indices
	}
	vp, err := encodeTensor(vals, name, vhint, formRaw)
	if err != nil {
		return nil, err
	}
	ip, err := encodeTensor(idx, ihint.GetName(), ihint, formRaw)
	if err != nil {
		return nil, err
	}
	sp := &onnxpb.SparseTensorProto{Values: vp, Indices: ip, Dims: make([]int64, t.Rank())}
	for i, d := range t.Shape {
		sp.Dims[i] = int64(d)
	}
	return sp, nil
}

// sameTensor reports whether two tensors have equal dtype, shape and bytes.
func sameTensor(a, b *ir.Tensor) bool {
	if a.DType != b.DType || len(a.Shape) != len(b.Shape) {
		return false
	}
	for i := range a.Shape {
		if a.Shape[i] != b.Shape[i] {
			return false
		}
	}
	if a.DType == ir.String {
		for i := range a.Strings {
			if a.Strings[i] != b.Strings[i] {
				return false
			}
		}
		return true
	}
	return string(a.Bytes()) == string(b.Bytes())
}

// optString returns the value to store for an optional proto2 string: absent when empty, unless the source had
// it present (so an explicit "" survives a round trip).
func optString(v, srcV string, srcHas bool) *string {
	if v == "" && !(srcHas && srcV == "") {
		return nil
	}
	return proto.String(v)
}

// optInt64 is optString for int64 fields.
func optInt64(v, srcV int64, srcHas bool) *int64 {
	if v == 0 && !(srcHas && srcV == 0) {
		return nil
	}
	return proto.Int64(v)
}
