package api

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"math"
	"strconv"
)

// EncodeData writes tensor elements as a flat JSON array: data holds little-endian elements of a fixed-size
// datatype, strs the elements of a BYTES tensor. JSON has no NaN or infinity, so those become null; callers
// who need them exactly ask for binary outputs.
func EncodeData(dt string, data []byte, strs [][]byte) (RawJSON, error) {
	if dt == "BYTES" {
		ss := make([]string, len(strs))
		for i, s := range strs {
			ss[i] = string(s)
		}
		b, err := json.Marshal(ss)
		return b, err
	}
	size, ok := DatatypeSize(dt)
	if !ok {
		return nil, badf("unknown datatype %q", dt)
	}
	if len(data)%size != 0 {
		return nil, badf("%d bytes are not whole %s elements", len(data), dt)
	}
	out := make([]byte, 0, 2+len(data)/size*12)
	out = append(out, '[')
	for i := 0; i < len(data); i += size {
		if i > 0 {
			out = append(out, ',')
		}
		e := data[i : i+size]
		switch dt {
		case "FP32":
			out = appendFloat(out, float64(math.Float32frombits(binary.LittleEndian.Uint32(e))), 32)
		case "FP64":
			out = appendFloat(out, math.Float64frombits(binary.LittleEndian.Uint64(e)), 64)
		case "FP16":
			out = appendFloat(out, float64(halfToFloat(binary.LittleEndian.Uint16(e))), 32)
		case "BF16":
			out = appendFloat(out, float64(math.Float32frombits(uint32(binary.LittleEndian.Uint16(e))<<16)), 32)
		case "BOOL":
			out = strconv.AppendBool(out, e[0] != 0)
		case "INT8":
			out = strconv.AppendInt(out, int64(int8(e[0])), 10)
		case "INT16":
			out = strconv.AppendInt(out, int64(int16(binary.LittleEndian.Uint16(e))), 10)
		case "INT32":
			out = strconv.AppendInt(out, int64(int32(binary.LittleEndian.Uint32(e))), 10)
		case "INT64":
			out = strconv.AppendInt(out, int64(binary.LittleEndian.Uint64(e)), 10)
		case "UINT8":
			out = strconv.AppendUint(out, uint64(e[0]), 10)
		case "UINT16":
			out = strconv.AppendUint(out, uint64(binary.LittleEndian.Uint16(e)), 10)
		case "UINT32":
			out = strconv.AppendUint(out, uint64(binary.LittleEndian.Uint32(e)), 10)
		case "UINT64":
			out = strconv.AppendUint(out, binary.LittleEndian.Uint64(e), 10)
		}
	}
	return append(out, ']'), nil
}

func appendFloat(out []byte, f float64, bits int) []byte {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return append(out, "null"...)
	}
	return strconv.AppendFloat(out, f, 'g', -1, bits)
}

// halfToFloat widens an IEEE 754 binary16 bit pattern.
func halfToFloat(h uint16) float32 {
	sign := uint32(h>>15) << 31
	exp := uint32(h>>10) & 0x1f
	man := uint32(h) & 0x3ff
	switch {
	case exp == 0x1f:
		return math.Float32frombits(sign | 0x7f800000 | man<<13)
	case exp == 0:
		// Subnormal (or zero): value is man · 2^-24.
		f := float32(man) * (1.0 / (1 << 24))
		if sign != 0 {
			f = -f
		}
		return f
	}
	return math.Float32frombits(sign | (exp+112)<<23 | man<<13)
}

// EncodeBytesTensor packs BYTES elements for the binary extension: a 4-byte little-endian length before each.
func EncodeBytesTensor(strs [][]byte) []byte {
	var out []byte
	for _, s := range strs {
		out = binary.LittleEndian.AppendUint32(out, uint32(len(s)))
		out = append(out, s...)
	}
	return out
}

// EncodeInferResponse writes a response body. Outputs whose Raw is set go into the binary part, with
// parameters.binary_data_size set; headerLen is then the JSON part's length (for the
// Inference-Header-Content-Length header), else -1.
func EncodeInferResponse(resp *InferResponse) (body []byte, headerLen int, err error) {
	var bin [][]byte
	for i := range resp.Outputs {
		o := &resp.Outputs[i]
		if o.Raw == nil {
			continue
		}
		if o.Parameters == nil {
			o.Parameters = Parameters{}
		}
		o.Parameters[ParamBinarySize] = len(o.Raw)
		o.Data = nil
		bin = append(bin, o.Raw)
	}
	return encodeWithBinary(resp, bin)
}

// EncodeInferRequest writes a request body the same way: inputs with Raw set travel as binary.
func EncodeInferRequest(req *InferRequest) (body []byte, headerLen int, err error) {
	var bin [][]byte
	for i := range req.Inputs {
		in := &req.Inputs[i]
		if in.Raw == nil {
			continue
		}
		p := Parameters{}
		for k, v := range in.Parameters {
			p[k] = v
		}
		p[ParamBinarySize] = len(in.Raw)
		in.Parameters = p
		in.Data = nil
		bin = append(bin, in.Raw)
	}
	return encodeWithBinary(req, bin)
}

func encodeWithBinary(v any, bin [][]byte) ([]byte, int, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, 0, err
	}
	buf.Truncate(buf.Len() - 1) // Encode's trailing newline would be counted in the header length
	if len(bin) == 0 {
		return buf.Bytes(), -1, nil
	}
	headerLen := buf.Len()
	for _, b := range bin {
		buf.Write(b)
	}
	return buf.Bytes(), headerLen, nil
}

// DecodeInferResponse parses a response body (headerLen -1 when the header was absent), moving binary
// outputs into Raw.
func DecodeInferResponse(body []byte, headerLen int64) (*InferResponse, error) {
	jsonPart, binPart := body, []byte(nil)
	if headerLen >= 0 {
		if headerLen > int64(len(body)) {
			return nil, badf("%s is %d but the body has %d bytes", HeaderContentLength, headerLen, len(body))
		}
		jsonPart, binPart = body[:headerLen], body[headerLen:]
	}
	var resp InferResponse
	dec := json.NewDecoder(bytes.NewReader(jsonPart))
	dec.UseNumber()
	if err := dec.Decode(&resp); err != nil {
		return nil, badf("response JSON: %v", err)
	}
	for i := range resp.Outputs {
		o := &resp.Outputs[i]
		n, has, err := binarySize(o.Parameters)
		if err != nil {
			return nil, err
		}
		if !has {
			continue
		}
		if n > int64(len(binPart)) {
			return nil, badf("output %q: %s %d overruns the body", o.Name, ParamBinarySize, n)
		}
		o.Raw, binPart = binPart[:n:n], binPart[n:]
	}
	return &resp, nil
}
