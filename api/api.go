// Package api holds the Open Inference Protocol v2 (KServe/Triton) REST types that hone's server speaks,
// the decoder for request bodies (JSON tensors and the binary tensor data extension), and a small client.
// It imports only the standard library, so that clients can use it without pulling in the runtime.
package api

import (
	"encoding/json"
	"errors"
	"fmt"
)

// Parameters are the free-form "parameters" objects of the protocol.
type Parameters map[string]any

// ServerMetadata is the body of GET /v2.
type ServerMetadata struct {
	Name       string   `json:"name"`
	Version    string   `json:"version"`
	Extensions []string `json:"extensions"`
}

// TensorMetadata describes one model input or output; -1 marks a variable-size dimension.
type TensorMetadata struct {
	Name     string  `json:"name"`
	Datatype string  `json:"datatype"`
	Shape    []int64 `json:"shape"`
}

// ModelMetadata is the body of GET /v2/models/{name}[/versions/{v}].
type ModelMetadata struct {
	Name     string           `json:"name"`
	Versions []string         `json:"versions,omitempty"`
	Platform string           `json:"platform"`
	Inputs   []TensorMetadata `json:"inputs"`
	Outputs  []TensorMetadata `json:"outputs"`
}

// ModelReady is the body of GET /v2/models/{name}/ready.
type ModelReady struct {
	Name  string `json:"name"`
	Ready bool   `json:"ready"`
}

// InferRequest is the body of POST …/infer.
type InferRequest struct {
	ID         string          `json:"id,omitempty"`
	Parameters Parameters      `json:"parameters,omitempty"`
	Inputs     []RequestInput  `json:"inputs"`
	Outputs    []RequestOutput `json:"outputs,omitempty"`
}

// RequestInput is one input tensor. Its elements are in Data (JSON) or, with the binary extension, in Raw.
type RequestInput struct {
	Name       string     `json:"name"`
	Shape      []int64    `json:"shape"`
	Datatype   string     `json:"datatype"`
	Parameters Parameters `json:"parameters,omitempty"`
	Data       RawJSON    `json:"data,omitempty"`
	// Raw holds the tensor's bytes when they came in the binary part of the body: little-endian elements,
	// or for BYTES a 4-byte little-endian length before each element. Set by DecodeInferRequest.
	Raw []byte `json:"-"`
}

// RequestOutput names an output the caller wants; parameters.binary_data asks for it in binary form.
type RequestOutput struct {
	Name       string     `json:"name"`
	Parameters Parameters `json:"parameters,omitempty"`
}

// InferResponse is the body of a successful inference.
type InferResponse struct {
	ModelName    string           `json:"model_name"`
	ModelVersion string           `json:"model_version,omitempty"`
	ID           string           `json:"id,omitempty"`
	Parameters   Parameters       `json:"parameters,omitempty"`
	Outputs      []ResponseOutput `json:"outputs"`
}

// ResponseOutput is one output tensor: its elements are in Data, or in Raw when sent as binary.
type ResponseOutput struct {
	Name       string     `json:"name"`
	Shape      []int64    `json:"shape"`
	Datatype   string     `json:"datatype"`
	Parameters Parameters `json:"parameters,omitempty"`
	Data       RawJSON    `json:"data,omitempty"`
	Raw        []byte     `json:"-"`
}

// Error is the body of every failed request.
type Error struct {
	Error string `json:"error"`
}

// RawJSON is json.RawMessage that encodes as nothing when empty (so omitempty drops it).
type RawJSON []byte

// MarshalJSON returns the bytes as they are.
func (r RawJSON) MarshalJSON() ([]byte, error) {
	if len(r) == 0 {
		return []byte("null"), nil
	}
	return r, nil
}

// UnmarshalJSON keeps a copy of the bytes.
func (r *RawJSON) UnmarshalJSON(b []byte) error {
	*r = append((*r)[:0], b...)
	return nil
}

// ErrBadRequest is wrapped by every error caused by a malformed request (an HTTP 400).
var ErrBadRequest = errors.New("bad request")

func badf(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrBadRequest, fmt.Sprintf(format, args...))
}

// Header names of the binary tensor data extension.
const (
	// HeaderContentLength is the length of the JSON part of a body that has binary tensors after it.
	HeaderContentLength = "Inference-Header-Content-Length"
	// ParamBinarySize is the input/output parameter giving the byte size of a binary tensor.
	ParamBinarySize = "binary_data_size"
	// ParamBinaryData on a requested output asks for it in binary form.
	ParamBinaryData = "binary_data"
	// ParamBinaryOutput at request level asks for every output in binary form.
	ParamBinaryOutput = "binary_data_output"
)

// Bool reads a boolean parameter; absent or non-boolean values are false.
func (p Parameters) Bool(name string) bool {
	v, ok := p[name].(bool)
	return ok && v
}

// Int reads an integer parameter (JSON numbers decode as float64); ok is false when absent or not an integer.
func (p Parameters) Int(name string) (int64, bool) {
	switch v := p[name].(type) {
	case json.Number:
		i, err := v.Int64()
		return i, err == nil
	case float64:
		if v != float64(int64(v)) {
			return 0, false
		}
		return int64(v), true
	case int64:
		return v, true
	case int:
		return int64(v), true
	}
	return 0, false
}
