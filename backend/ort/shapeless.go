//go:build ort

package ort

import (
	"errors"
	"fmt"

	"google.golang.org/protobuf/encoding/protowire"
)

// Field numbers in onnx.proto on the path from a model to its outputs' shapes.
const (
	modelGraph      = 7  // ModelProto.graph
	graphOutput     = 12 // GraphProto.output
	valueInfoName   = 1  // ValueInfoProto.name
	valueInfoType   = 2  // ValueInfoProto.type
	typeTensor      = 1  // TypeProto.tensor_type
	tensorTypeShape = 2  // TypeProto.Tensor.shape
)

// shapelessOutputs returns the names of the graph outputs of the serialized ModelProto data that are tensors
// declared without a shape (rank unknown). It walks the wire format along the path above and skips the rest
// (the weights, above all) unread.
func shapelessOutputs(data []byte) (map[string]bool, error) {
	out := map[string]bool{}
	graph, err := fields(data, modelGraph)
	if err != nil {
		return nil, fmt.Errorf("model: %w", err)
	}
	for _, g := range graph {
		outputs, err := fields(g, graphOutput)
		if err != nil {
			return nil, fmt.Errorf("graph: %w", err)
		}
		for _, vi := range outputs {
			names, err := fields(vi, valueInfoName)
			if err != nil {
				return nil, fmt.Errorf("graph output: %w", err)
			}
			if len(names) == 0 {
				return nil, errors.New("a graph output has no name")
			}
			types, err := fields(vi, valueInfoType)
			if err != nil {
				return nil, fmt.Errorf("output %q: %w", names[0], err)
			}
			for _, t := range types {
				tensors, err := fields(t, typeTensor)
				if err != nil {
					return nil, fmt.Errorf("output %q: %w", names[0], err)
				}
				for _, tt := range tensors {
					shapes, err := fields(tt, tensorTypeShape)
					if err != nil {
						return nil, fmt.Errorf("output %q: %w", names[0], err)
					}
					out[string(names[len(names)-1])] = len(shapes) == 0
				}
			}
		}
	}
	return out, nil
}

// fields returns the payloads of the length-delimited fields numbered num in the message b, in order.
func fields(b []byte, num protowire.Number) ([][]byte, error) {
	var out [][]byte
	for len(b) > 0 {
		n, typ, k := protowire.ConsumeTag(b)
		if k < 0 {
			return nil, fmt.Errorf("malformed protobuf: %w", protowire.ParseError(k))
		}
		b = b[k:]
		if n == num && typ == protowire.BytesType {
			v, k := protowire.ConsumeBytes(b)
			if k < 0 {
				return nil, fmt.Errorf("malformed protobuf: %w", protowire.ParseError(k))
			}
			out = append(out, v)
			b = b[k:]
			continue
		}
		k = protowire.ConsumeFieldValue(n, typ, b)
		if k < 0 {
			return nil, fmt.Errorf("malformed protobuf: %w", protowire.ParseError(k))
		}
		b = b[k:]
	}
	return out, nil
}
