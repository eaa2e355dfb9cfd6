package api

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"math"
	"strconv"
)

// DecodeInferRequest parses an inference request body. headerLen is the value of the
// Inference-Header-Content-Length header, or -1 when absent (then the whole body is JSON). With the binary
// extension each input carrying parameters.binary_data_size takes its bytes, in input order, from the part
// of the body after the JSON; the sizes must add up to exactly that part. Shapes are checked against
// maxElements so no declared size can make the server allocate more than the body holds. Every error
// wraps ErrBadRequest.
func DecodeInferRequest(body []byte, headerLen int64, maxElements int64) (*InferRequest, error) {
	jsonPart, binPart := body, []byte(nil)
	if headerLen >= 0 {
		if headerLen > int64(len(body)) {
			return nil, badf("%s is %d but the body has %d bytes", HeaderContentLength, headerLen, len(body))
		}
		jsonPart, binPart = body[:headerLen], body[headerLen:]
	}
	var req InferRequest
	dec := json.NewDecoder(bytes.NewReader(jsonPart))
	dec.UseNumber()
	if err := dec.Decode(&req); err != nil {
		return nil, badf("request JSON: %v", err)
	}
	if dec.More() {
		return nil, badf("request JSON: trailing data after the object")
	}
	if len(req.Inputs) == 0 {
		return nil, badf("request has no inputs")
	}
	seen := map[string]bool{}
	for i := range req.Inputs {
		in := &req.Inputs[i]
		if in.Name == "" {
			return nil, badf("input %d has no name", i)
		}
		if seen[in.Name] {
			return nil, badf("input %q given twice", in.Name)
		}
		seen[in.Name] = true
		size, ok := DatatypeSize(in.Datatype)
		if !ok {
			return nil, badf("input %q: unknown datatype %q", in.Name, in.Datatype)
		}
		n, err := NumElements(in.Shape, maxElements)
		if err != nil {
			return nil, badf("input %q: %v", in.Name, err)
		}
		bsize, hasBin, err := binarySize(in.Parameters)
		if err != nil {
			return nil, badf("input %q: %v", in.Name, err)
		}
		if !hasBin {
			if len(in.Data) == 0 || string(in.Data) == "null" {
				return nil, badf("input %q has neither data nor %s", in.Name, ParamBinarySize)
			}
			continue
		}
		if len(in.Data) != 0 && string(in.Data) != "null" {
			return nil, badf("input %q has both data and %s", in.Name, ParamBinarySize)
		}
		if headerLen < 0 {
			return nil, badf("input %q has %s but the request has no %s header", in.Name, ParamBinarySize, HeaderContentLength)
		}
		if bsize > int64(len(binPart)) {
			return nil, badf("input %q: %s %d exceeds the %d binary bytes left in the body", in.Name, ParamBinarySize, bsize, len(binPart))
		}
		if size > 0 && bsize != n*int64(size) {
			return nil, badf("input %q: %s %d does not match %s%v (%d bytes)", in.Name, ParamBinarySize, bsize, in.Datatype, in.Shape, n*int64(size))
		}
		in.Raw, binPart = binPart[:bsize:bsize], binPart[bsize:]
		in.Data = nil
	}
	if len(binPart) != 0 {
		return nil, badf("%d bytes of binary data are not claimed by any input", len(binPart))
	}
	for i := range req.Outputs {
		if req.Outputs[i].Name == "" {
			return nil, badf("requested output %d has no name", i)
		}
	}
	return &req, nil
}

func binarySize(p Parameters) (int64, bool, error) {
	v, ok := p[ParamBinarySize]
	if !ok {
		return 0, false, nil
	}
	var n int64
	switch v := v.(type) {
	case json.Number:
		i, err := v.Int64()
		if err != nil {
			return 0, false, badf("%s %q is not an integer", ParamBinarySize, v)
		}
		n = i
	case float64:
		if v != math.Trunc(v) {
			return 0, false, badf("%s %v is not an integer", ParamBinarySize, v)
		}
		n = int64(v)
	default:
		return 0, false, badf("%s is %T, not an integer", ParamBinarySize, v)
	}
	if n < 0 {
		return 0, false, badf("%s %d is negative", ParamBinarySize, n)
	}
	return n, true, nil
}

// Tensor returns an input's elements as little-endian bytes (fixed-size datatypes) or as one byte string
// per element (BYTES), whichever form the request used, after checking the element count against the shape.
func (in *RequestInput) Tensor(maxElements int64) (data []byte, strs [][]byte, err error) {
	size, ok := DatatypeSize(in.Datatype)
	if !ok {
		return nil, nil, badf("input %q: unknown datatype %q", in.Name, in.Datatype)
	}
	n, err := NumElements(in.Shape, maxElements)
	if err != nil {
		return nil, nil, badf("input %q: %v", in.Name, err)
	}
	if in.Raw != nil {
		if size > 0 {
			if int64(len(in.Raw)) != n*int64(size) {
				return nil, nil, badf("input %q: %d bytes for %s%v", in.Name, len(in.Raw), in.Datatype, in.Shape)
			}
			return in.Raw, nil, nil
		}
		strs, err := splitBytes(in.Raw, n)
		if err != nil {
			return nil, nil, badf("input %q: %v", in.Name, err)
		}
		return nil, strs, nil
	}
	data, strs, err = parseData(in.Data, in.Datatype, size, n)
	if err != nil {
		return nil, nil, badf("input %q: %v", in.Name, err)
	}
	return data, strs, nil
}

// splitBytes cuts a binary BYTES tensor: each element is a 4-byte little-endian length and that many bytes.
func splitBytes(b []byte, n int64) ([][]byte, error) {
	if n > int64(len(b))/4 {
		return nil, badf("%d bytes cannot hold %d BYTES elements", len(b), n)
	}
	out := make([][]byte, 0, n)
	for len(b) > 0 {
		if len(b) < 4 {
			return nil, badf("truncated BYTES length prefix")
		}
		l := binary.LittleEndian.Uint32(b)
		b = b[4:]
		if uint64(l) > uint64(len(b)) {
			return nil, badf("BYTES element of %d bytes overruns the tensor", l)
		}
		out = append(out, b[:l:l])
		b = b[l:]
	}
	if int64(len(out)) != n {
		return nil, badf("%d BYTES elements for a shape of %d", len(out), n)
	}
	return out, nil
}

// parseData flattens a (possibly nested) JSON array of elements into little-endian bytes. It allocates as
// the elements are read, so the JSON's own length bounds memory whatever the shape claims.
func parseData(raw []byte, dt string, size int, n int64) ([]byte, [][]byte, error) {
	s := scanner{b: raw}
	var out []byte
	var strs [][]byte
	if size > 0 && n <= int64(len(raw)) {
		out = make([]byte, 0, n*int64(size))
	}
	var count int64
	elem := func(tok []byte, kind byte) error {
		count++
		if count > n {
			return badf("more than the %d elements the shape holds", n)
		}
		var err error
		switch dt {
		case "BYTES":
			if kind != '"' {
				return badf("BYTES element %s is not a string", tok)
			}
			var str string
			if err := json.Unmarshal(tok, &str); err != nil {
				return badf("BYTES element: %v", err)
			}
			strs = append(strs, []byte(str))
			return nil
		case "BOOL":
			switch string(tok) {
			case "true":
				out = append(out, 1)
			case "false":
				out = append(out, 0)
			default:
				return badf("BOOL element %s is not true or false", tok)
			}
			return nil
		}
		if kind != '0' {
			return badf("%s element %s is not a number", dt, tok)
		}
		out, err = appendNumber(out, dt, string(tok))
		return err
	}
	if err := s.value(elem, 0); err != nil {
		return nil, nil, err
	}
	if s.skipSpace(); s.i != len(s.b) {
		return nil, nil, badf("trailing data after tensor data")
	}
	if count != n {
		return nil, nil, badf("%d elements for a shape of %d", count, n)
	}
	if out == nil && size > 0 {
		out = []byte{}
	}
	return out, strs, nil
}

func appendNumber(out []byte, dt, tok string) ([]byte, error) {
	switch dt {
	case "FP32":
		// bitSize 32 rounds the decimal once, straight to float32 (parsing as float64 first would round twice).
		f, err := strconv.ParseFloat(tok, 32)
		if err != nil {
			return nil, badf("%s element %s: %v", dt, tok, err)
		}
		return binary.LittleEndian.AppendUint32(out, math.Float32bits(float32(f))), nil
	case "FP64":
		f, err := strconv.ParseFloat(tok, 64)
		if err != nil {
			return nil, badf("%s element %s: %v", dt, tok, err)
		}
		return binary.LittleEndian.AppendUint64(out, math.Float64bits(f)), nil
	case "FP16":
		// The protocol leaves coercing JSON numbers to FP16/BF16 to the server ("the server can decide to
		// coerce each element to the required type"); hone rounds to nearest even, as NumPy and PyTorch do.
		f, err := strconv.ParseFloat(tok, 64)
		if err != nil {
			return nil, badf("%s element %s: %v", dt, tok, err)
		}
		h, ok := float64ToHalf(f)
		if !ok {
			return nil, badf("%s element %s is outside the FP16 range (±65504)", dt, tok)
		}
		return binary.LittleEndian.AppendUint16(out, h), nil
	case "BF16":
		f, err := strconv.ParseFloat(tok, 32)
		if err != nil {
			return nil, badf("%s element %s: %v", dt, tok, err)
		}
		h, ok := float32ToBFloat16(float32(f))
		if !ok {
			return nil, badf("%s element %s is outside the BF16 range", dt, tok)
		}
		return binary.LittleEndian.AppendUint16(out, h), nil
	case "INT8", "INT16", "INT32", "INT64":
		bits := datatypeSize[dt] * 8
		v, err := strconv.ParseInt(tok, 10, bits)
		if err != nil {
			return nil, badf("%s element %s: not an integer in range", dt, tok)
		}
		return appendLE(out, uint64(v), bits/8), nil
	case "UINT8", "UINT16", "UINT32", "UINT64":
		bits := datatypeSize[dt] * 8
		v, err := strconv.ParseUint(tok, 10, bits)
		if err != nil {
			return nil, badf("%s element %s: not an unsigned integer in range", dt, tok)
		}
		return appendLE(out, v, bits/8), nil
	}
	return nil, badf("unknown datatype %q", dt)
}

func appendLE(out []byte, v uint64, size int) []byte {
	for i := 0; i < size; i++ {
		out = append(out, byte(v>>(8*i)))
	}
	return out
}

// maxDepth bounds array nesting in tensor data (a tensor of rank 64 is already absurd).
const maxDepth = 64

// scanner walks JSON tensor data: nested arrays whose leaves are numbers, booleans or strings.
type scanner struct {
	b []byte
	i int
}

func (s *scanner) skipSpace() {
	for s.i < len(s.b) && (s.b[s.i] == ' ' || s.b[s.i] == '\t' || s.b[s.i] == '\n' || s.b[s.i] == '\r') {
		s.i++
	}
}

// value reads one JSON value, calling leaf for each scalar with its kind: '0' number, 'b' boolean, '"' string.
func (s *scanner) value(leaf func(tok []byte, kind byte) error, depth int) error {
	if depth > maxDepth {
		return badf("tensor data nested deeper than %d", maxDepth)
	}
	s.skipSpace()
	if s.i >= len(s.b) {
		return badf("tensor data ends early")
	}
	switch c := s.b[s.i]; {
	case c == '[':
		s.i++
		s.skipSpace()
		if s.i < len(s.b) && s.b[s.i] == ']' {
			s.i++
			return nil
		}
		for {
			if err := s.value(leaf, depth+1); err != nil {
				return err
			}
			s.skipSpace()
			if s.i >= len(s.b) {
				return badf("tensor data ends inside an array")
			}
			switch s.b[s.i] {
			case ',':
				s.i++
			case ']':
				s.i++
				return nil
			default:
				return badf("unexpected %q in tensor data", s.b[s.i])
			}
		}
	case c == '"':
		start := s.i
		s.i++
		for s.i < len(s.b) && s.b[s.i] != '"' {
			if s.b[s.i] == '\\' {
				s.i++
			}
			s.i++
		}
		if s.i >= len(s.b) {
			return badf("unterminated string in tensor data")
		}
		s.i++
		return leaf(s.b[start:s.i], '"')
	case c == 't' || c == 'f':
		start := s.i
		for s.i < len(s.b) && s.b[s.i] >= 'a' && s.b[s.i] <= 'z' {
			s.i++
		}
		return leaf(s.b[start:s.i], 'b')
	case c == '-' || (c >= '0' && c <= '9'):
		start := s.i
		for s.i < len(s.b) {
			c := s.b[s.i]
			if !(c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E' || (c >= '0' && c <= '9')) {
				break
			}
			s.i++
		}
		return leaf(s.b[start:s.i], '0')
	default:
		return badf("unexpected %q in tensor data", c)
	}
}
