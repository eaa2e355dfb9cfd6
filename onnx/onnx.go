// Package onnx converts ONNX models and tensors between their protobuf encoding and hone's ir.
//
// Decode keeps the original ModelProto (minus initializer data) in ir.Model.Source and each NodeProto in
// ir.Node.Source, so Save writes back what the IR does not model (functions, training info, unknown fields,
// the storage form of every tensor) while taking the graph itself from the possibly rewritten IR.
package onnx

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"google.golang.org/protobuf/proto"

	"github.com/hone-ml/hone/ir"
	"github.com/hone-ml/hone/onnx/onnxpb"
)

// FormatError reports input that is not a valid ONNX model or tensor: bad protobuf bytes, inconsistent tensor
// sizes, a broken graph.
type FormatError struct{ Err error }

func (e *FormatError) Error() string { return "onnx: " + e.Err.Error() }
func (e *FormatError) Unwrap() error { return e.Err }

// UnsupportedError reports valid ONNX that hone cannot represent, such as an element type ir lacks.
type UnsupportedError struct{ Err error }

func (e *UnsupportedError) Error() string { return "onnx: unsupported: " + e.Err.Error() }
func (e *UnsupportedError) Unwrap() error { return e.Err }

func formatErr(format string, args ...any) error {
	return &FormatError{Err: fmt.Errorf(format, args...)}
}

func unsupportedErr(format string, args ...any) error {
	return &UnsupportedError{Err: fmt.Errorf(format, args...)}
}

// wrap prefixes a decoding error with where it happened, keeping its type so the message reads
// `onnx: graph "g": node "c3" (Conv): …` from the outside in.
func wrap(ctx string, err error) error {
	var fe *FormatError
	var ue *UnsupportedError
	switch {
	case errors.As(err, &fe) && fe == err:
		return &FormatError{Err: fmt.Errorf("%s: %w", ctx, fe.Err)}
	case errors.As(err, &ue) && ue == err:
		return &UnsupportedError{Err: fmt.Errorf("%s: %w", ctx, ue.Err)}
	}
	return fmt.Errorf("%s: %w", ctx, err)
}

// MaxDenseBytes bounds the dense size of a sparse tensor, which claims its dims without storing them: without a
// bound a few bytes of input could demand any allocation.
var MaxDenseBytes int64 = 4 << 30

// maxGraphDepth bounds nested subgraphs (If inside Loop inside ...) so hostile input cannot exhaust the stack.
const maxGraphDepth = 64

// source is what ir.Model.Source holds for a model decoded here.
type source struct {
	pb *onnxpb.ModelProto
	// path is the absolute file Load read ("" after Decode); files are the external data files read.
	path  string
	files []string
	// forms records how each initializer stored its data, since its bytes are dropped from pb after decoding
	// (the IR tensor holds them; keeping both would double the memory of a large model).
	forms map[*onnxpb.TensorProto]form
}

// Load reads an ONNX model file. External data is resolved relative to the file's directory.
func Load(path string) (*ir.Model, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("onnx: %w", err)
	}
	m, err := Decode(data, filepath.Dir(path))
	if err != nil {
		return nil, err
	}
	if abs, err := filepath.Abs(path); err == nil {
		m.Source.(*source).path = abs
	}
	return m, nil
}

// Decode parses a serialized ModelProto. dir is the directory external data locations are relative to; with
// dir == "" a model that uses external data is rejected.
func Decode(data []byte, dir string) (*ir.Model, error) {
	mp := &onnxpb.ModelProto{}
	if err := proto.Unmarshal(data, mp); err != nil {
		return nil, &FormatError{Err: fmt.Errorf("not an ONNX model: %w", err)}
	}
	return FromProto(mp, dir)
}

// FromProto converts a parsed ModelProto. mp becomes the model's Source and must not be modified afterwards;
// its initializers lose their data to the IR tensors.
func FromProto(mp *onnxpb.ModelProto, dir string) (*ir.Model, error) {
	d := &decoder{ext: &extReader{dir: dir}, src: &source{pb: mp, forms: map[*onnxpb.TensorProto]form{}}}
	defer d.ext.close()
	m, err := d.model(mp)
	if err != nil {
		return nil, err
	}
	d.src.files = d.ext.read
	m.Source = d.src
	return m, nil
}

// DecodeTensor parses a serialized TensorProto, as found in ONNX's test data (input_0.pb). External data is
// rejected: there is no directory to resolve it against.
func DecodeTensor(data []byte) (*ir.Tensor, error) {
	return decodeTensorIn(data, "")
}

// ReadTensor reads a serialized TensorProto file; external data is resolved relative to its directory.
func ReadTensor(path string) (*ir.Tensor, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("onnx: %w", err)
	}
	return decodeTensorIn(data, filepath.Dir(path))
}

func decodeTensorIn(data []byte, dir string) (*ir.Tensor, error) {
	tp := &onnxpb.TensorProto{}
	if err := proto.Unmarshal(data, tp); err != nil {
		return nil, &FormatError{Err: fmt.Errorf("not an ONNX tensor: %w", err)}
	}
	ext := &extReader{dir: dir}
	defer ext.close()
	return decodeTensor(tp, ext)
}

// EncodeTensor serializes t as a TensorProto with raw data (strings use string_data).
func EncodeTensor(t *ir.Tensor, name string) ([]byte, error) {
	tp, err := encodeTensor(t, name, nil, formRaw)
	if err != nil {
		return nil, err
	}
	return proto.Marshal(tp)
}

// ErrOverwriteSource is returned (wrapped) by Save when the target is a file the model was read from.
var ErrOverwriteSource = errors.New("refusing to overwrite a file the model was read from")
