package api

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"strconv"
	"testing"
)

func TestDecodeJSONData(t *testing.T) {
	for _, tc := range []struct {
		name, dt, data string
		shape          []int64
		want           []byte // little-endian
		bad            bool
	}{
		{"fp32 nested", "FP32", `[[1, -2.5], [3e2, 0]]`, []int64{2, 2}, f32le(1, -2.5, 300, 0), false},
		{"fp32 flat", "FP32", `[1,2,3,4]`, []int64{2, 2}, f32le(1, 2, 3, 4), false},
		{"int8 range", "INT8", `[-128,127]`, []int64{2}, []byte{0x80, 0x7f}, false},
		{"int8 overflow", "INT8", `[128]`, []int64{1}, nil, true},
		{"uint16", "UINT16", `[65535]`, []int64{1}, []byte{0xff, 0xff}, false},
		{"uint negative", "UINT32", `[-1]`, []int64{1}, nil, true},
		{"int64 fraction", "INT64", `[1.5]`, []int64{1}, nil, true},
		{"bool", "BOOL", `[true,false]`, []int64{2}, []byte{1, 0}, false},
		{"bool as number", "BOOL", `[1]`, []int64{1}, nil, true},
		{"count short", "FP32", `[1]`, []int64{2}, nil, true},
		{"count long", "FP32", `[1,2,3]`, []int64{2}, nil, true},
		{"scalar shape", "FP64", `[7]`, []int64{}, binary.LittleEndian.AppendUint64(nil, math.Float64bits(7)), false},
		{"empty", "FP32", `[]`, []int64{0}, []byte{}, false},
		{"garbage", "FP32", `[1,,2]`, []int64{2}, nil, true},
		{"unterminated", "FP32", `[1,2`, []int64{2}, nil, true},
		{"trailing", "FP32", `[1,2] x`, []int64{2}, nil, true},
		{"fp16 json", "FP16", `[1, -0.5]`, []int64{2}, []byte{0x00, 0x3c, 0x00, 0xb8}, false},
		{"fp16 overflow", "FP16", `[65520]`, []int64{1}, nil, true},
		{"bf16 json", "BF16", `[1, -2]`, []int64{2}, []byte{0x80, 0x3f, 0x00, 0xc0}, false},
		{"bf16 overflow", "BF16", `[3.4e38]`, []int64{1}, nil, true},
		{"fp32 overflow", "FP32", `[1e39]`, []int64{1}, nil, true},
		// 1 + 2^-24 + 10^-29 is just above the float32 tie at 1 + 2^-24, so correct rounding gives 1 + 2^-23;
		// rounding to float64 first would land on the tie and then go to even, 1.0.
		{"fp32 rounds once", "FP32", `[1.00000005960464477539062500001]`, []int64{1}, f32le(1.0000001), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := RequestInput{Name: "x", Datatype: tc.dt, Shape: tc.shape, Data: RawJSON(tc.data)}
			got, _, err := in.Tensor(1 << 20)
			if tc.bad {
				if !errors.Is(err, ErrBadRequest) {
					t.Fatalf("got %v, want ErrBadRequest", err)
				}
				return
			}
			if err != nil || !bytes.Equal(got, tc.want) {
				t.Fatalf("got %v %v, want %v", got, err, tc.want)
			}
		})
	}
}

func f32le(v ...float32) []byte {
	var b []byte
	for _, x := range v {
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(x))
	}
	return b
}

func TestBinaryRoundTrip(t *testing.T) {
	req := &InferRequest{ID: "7", Inputs: []RequestInput{
		{Name: "a", Datatype: "FP32", Shape: []int64{2}, Raw: f32le(1.5, -2)},
		{Name: "b", Datatype: "INT64", Shape: []int64{1}, Data: RawJSON(`[5]`)},
		{Name: "c", Datatype: "BYTES", Shape: []int64{2}, Raw: EncodeBytesTensor([][]byte{[]byte("hi"), {}})},
	}}
	body, hl, err := EncodeInferRequest(req)
	if err != nil || hl < 0 {
		t.Fatal(hl, err)
	}
	got, err := DecodeInferRequest(body, int64(hl), 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	a, _, err := got.Inputs[0].Tensor(1 << 20)
	if err != nil || !bytes.Equal(a, f32le(1.5, -2)) {
		t.Errorf("a: %v %v", a, err)
	}
	b, _, err := got.Inputs[1].Tensor(1 << 20)
	if err != nil || !bytes.Equal(b, binary.LittleEndian.AppendUint64(nil, 5)) {
		t.Errorf("b: %v %v", b, err)
	}
	_, c, err := got.Inputs[2].Tensor(1 << 20)
	if err != nil || len(c) != 2 || string(c[0]) != "hi" || len(c[1]) != 0 {
		t.Errorf("c: %q %v", c, err)
	}
	resp := &InferResponse{ModelName: "m", Outputs: []ResponseOutput{{Name: "y", Datatype: "FP32", Shape: []int64{2}, Raw: f32le(3, 4)}}}
	rb, rhl, err := EncodeInferResponse(resp)
	if err != nil {
		t.Fatal(err)
	}
	back, err := DecodeInferResponse(rb, int64(rhl))
	if err != nil || !bytes.Equal(back.Outputs[0].Raw, f32le(3, 4)) {
		t.Fatalf("response: %v %v", back, err)
	}
}

func TestEncodeDataMatchesStrconv(t *testing.T) {
	got, err := EncodeData("FP32", f32le(0.1, float32(math.NaN()), -3), nil)
	if err != nil || string(got) != "[0.1,null,-3]" {
		t.Fatalf("%s %v", got, err)
	}
	// FP16 1.0 is 0x3c00, the smallest subnormal 0x0001 is 2^-24.
	got, _ = EncodeData("FP16", []byte{0x00, 0x3c, 0x01, 0x00}, nil)
	if string(got) != "[1,"+strconv.FormatFloat(math.Pow(2, -24), 'g', -1, 32)+"]" {
		t.Fatalf("fp16: %s", got)
	}
}

// FuzzDecodeInferRequest feeds arbitrary bodies and header lengths to the decoder and the element decoder:
// they may reject anything but must never panic, and what they accept must be self-consistent.
func FuzzDecodeInferRequest(f *testing.F) {
	f.Add([]byte(`{"inputs":[{"name":"x","shape":[2],"datatype":"FP32","data":[1,2]}]}`), int64(-1))
	f.Add([]byte(`{"inputs":[{"name":"x","shape":[2],"datatype":"INT8","parameters":{"binary_data_size":2}}]}ab`), int64(86))
	f.Add([]byte(`{"inputs":[{"name":"s","shape":[1],"datatype":"BYTES","data":["a\"b"]}]}`), int64(-1))
	f.Add([]byte(`{"inputs":[{"name":"x","shape":[1,1],"datatype":"BOOL","data":[[true]]}]}`), int64(-1))
	f.Fuzz(func(t *testing.T, body []byte, headerLen int64) {
		req, err := DecodeInferRequest(body, headerLen, 1<<16)
		if err != nil {
			if !errors.Is(err, ErrBadRequest) {
				t.Fatalf("error not wrapping ErrBadRequest: %v", err)
			}
			return
		}
		for i := range req.Inputs {
			data, strs, err := req.Inputs[i].Tensor(1 << 16)
			if err != nil {
				continue
			}
			n, _ := NumElements(req.Inputs[i].Shape, 1<<16)
			size, _ := DatatypeSize(req.Inputs[i].Datatype)
			if size > 0 && int64(len(data)) != n*int64(size) {
				t.Fatalf("input %q: %d bytes for %d elements of %d", req.Inputs[i].Name, len(data), n, size)
			}
			if size == 0 && int64(len(strs)) != n {
				t.Fatalf("input %q: %d strings for %d elements", req.Inputs[i].Name, len(strs), n)
			}
		}
	})
}

// TestJSONHalfMatchesNumPyAndTorch checks JSON numbers coerced to FP16 and BF16 against the reference
// libraries, bit for bit, including ties, the FP16 subnormals and the largest finite FP16. Generated with
// /usr/bin/python3 (numpy 1.x, torch 1.13):
//
//	np.array([float(s)], np.float64).astype(np.float16).view(np.uint16)
//	torch.tensor([float(s)], dtype=torch.float32).to(torch.bfloat16).view(torch.int16)
func TestJSONHalfMatchesNumPyAndTorch(t *testing.T) {
	for _, tc := range []struct {
		text       string
		fp16, bf16 uint16
	}{
		{"0", 0x0000, 0x0000},
		{"-0", 0x8000, 0x8000},
		{"1", 0x3c00, 0x3f80},
		{"0.1", 0x2e66, 0x3dcd},
		{"-3.14159", 0xc248, 0xc049},
		{"1.00048828125", 0x3c00, 0x3f80}, // FP16 tie (1 + 2^-11): to even, down
		{"1.00146484375", 0x3c02, 0x3f80}, // FP16 tie (1 + 3·2^-11): to even, up
		{"65504", 0x7bff, 0x4780},
		{"65519", 0x7bff, 0x4780}, // just below the FP16 overflow threshold 65520
		{"60000.5", 0x7b53, 0x476a},
		{"5.960464477539063e-08", 0x0001, 0x3380},   // 2^-24, the smallest FP16 subnormal
		{"2.98023223876953125e-08", 0x0000, 0x3300}, // 2^-25: tie between 0 and 2^-24, to even
		{"3e-08", 0x0001, 0x3301},
		{"6.1e-05", 0x03ff, 0x3880}, // largest FP16 subnormal
		{"1e-10", 0x0000, 0x2edc},
		{"-2.5e-06", 0x802a, 0xb628},
		{"1234.5678", 0x64d3, 0x449a},
		{"1.00390625", 0x3c04, 0x3f80}, // BF16 tie (1 + 2^-8): to even, down
		{"1.01171875", 0x3c0c, 0x3f82}, // BF16 tie (1 + 3·2^-8): to even, up
		{"3.0e38", 0, 0x7f62},
		{"-1e38", 0, 0xfe96},
	} {
		t.Run(tc.text, func(t *testing.T) {
			for _, c := range []struct {
				dt   string
				want uint16
			}{{"FP16", tc.fp16}, {"BF16", tc.bf16}} {
				in := RequestInput{Name: "x", Datatype: c.dt, Shape: []int64{1}, Data: RawJSON("[" + tc.text + "]")}
				got, _, err := in.Tensor(1 << 20)
				if c.dt == "FP16" && (tc.text == "3.0e38" || tc.text == "-1e38") {
					if !errors.Is(err, ErrBadRequest) {
						t.Errorf("FP16 %s: got %v, want an out-of-range error", tc.text, err)
					}
					continue
				}
				if err != nil {
					t.Fatalf("%s: %v", c.dt, err)
				}
				if h := binary.LittleEndian.Uint16(got); h != c.want {
					t.Errorf("%s %s: got %#04x, want %#04x", c.dt, tc.text, h, c.want)
				}
			}
		})
	}
}
