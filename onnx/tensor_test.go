package onnx

import (
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/hone-ml/hone/ir"
	"github.com/hone-ml/hone/onnx/onnxpb"
)

// TestReadTensorReference decodes TensorProtos written by the onnx Python package (testdata/gen_tensors.py) in
// both raw and typed form and compares them with NumPy's bytes for the same arrays. It then re-encodes each in
// its source form and requires the original message back.
func TestReadTensorReference(t *testing.T) {
	data, err := os.ReadFile("testdata/tensors/expected.json")
	if err != nil {
		t.Fatal(err)
	}
	var want map[string]struct {
		DType   int32
		Dims    []int
		Hex     string
		Strings []string
	}
	if err := json.Unmarshal(data, &want); err != nil {
		t.Fatal(err)
	}
	if len(want) < 30 {
		t.Fatalf("only %d reference tensors", len(want))
	}
	for name, w := range want {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join("testdata/tensors", name+".pb")
			x, err := ReadTensor(path)
			if err != nil {
				t.Fatal(err)
			}
			if x.DType != ir.DType(w.DType) || !slices.Equal(x.Shape, w.Dims) && !(len(x.Shape) == 0 && len(w.Dims) == 0) {
				t.Fatalf("got %s%v, want %s%v", x.DType, x.Shape, ir.DType(w.DType), w.Dims)
			}
			if x.DType == ir.String {
				if !slices.Equal(x.Strings, w.Strings) {
					t.Fatalf("strings %q, want %q", x.Strings, w.Strings)
				}
			} else if got := hex.EncodeToString(x.Bytes()); got != w.Hex {
				t.Fatalf("bytes %s, want %s", got, w.Hex)
			}
			raw, _ := os.ReadFile(path)
			orig := &onnxpb.TensorProto{}
			if err := proto.Unmarshal(raw, orig); err != nil {
				t.Fatal(err)
			}
			back, err := encodeTensor(x, orig.GetName(), orig, formOf(orig))
			if err != nil {
				t.Fatal(err)
			}
			if !proto.Equal(orig, back) {
				t.Fatalf("re-encoded differs:\n%s", diffProto(orig, back))
			}
		})
	}
}

// TestInt4 checks the packing ONNX specifies for INT4/UINT4 (and ONNX Runtime's Int4x2 implements): element 2i
// in the low nibble of byte i, 2i+1 in the high nibble, an odd tail padded with zero.
func TestInt4(t *testing.T) {
	tests := []struct {
		name   string
		dt     ir.DType
		packed []byte
		want   []int // unpacked values
	}{
		{"int4 odd", ir.Int4, []byte{0xe1, 0x87, 0x03}, []int{1, -2, 7, -8, 3}},
		{"int4 even", ir.Int4, []byte{0xff, 0x00}, []int{-1, -1, 0, 0}},
		{"uint4", ir.Uint4, []byte{0xf0, 0x0a}, []int{0, 15, 10}},
		{"empty", ir.Uint4, []byte{}, []int{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dims := []int64{int64(len(tc.want))}
			for _, f := range []form{formRaw, formTyped} {
				tp := &onnxpb.TensorProto{Name: proto.String("q"), DataType: proto.Int32(int32(tc.dt)), Dims: dims}
				if f == formRaw {
					tp.RawData = tc.packed
				} else {
					for _, b := range tc.packed {
						tp.Int32Data = append(tp.Int32Data, int32(b))
					}
				}
				data, _ := proto.Marshal(tp)
				x, err := DecodeTensor(data)
				if err != nil {
					t.Fatal(err)
				}
				got := make([]int, x.Len())
				for i := range got {
					if tc.dt == ir.Int4 {
						got[i] = int(x.I8()[i])
					} else {
						got[i] = int(x.U8()[i])
					}
				}
				if !slices.Equal(got, tc.want) {
					t.Fatalf("form %d: got %v, want %v", f, got, tc.want)
				}
				back, err := encodeTensor(x, "q", tp, f)
				if err != nil {
					t.Fatal(err)
				}
				if f == formRaw && len(tc.want) == 0 {
					tp.RawData = []byte{}
				}
				if !proto.Equal(tp, back) {
					t.Fatalf("form %d: re-encoded differs:\n%s", f, diffProto(tp, back))
				}
			}
		})
	}
}

// TestSparseInitializer builds a model with sparse initializers in both index layouts, as onnx.proto defines
// them, and checks the dense values and that Save writes them back sparse and unchanged.
func TestSparseInitializer(t *testing.T) {
	vals := &onnxpb.TensorProto{Name: proto.String("w"), DataType: proto.Int32(int32(ir.Float32)), Dims: []int64{3},
		FloatData: []float32{1, 2, 3}}
	coord := &onnxpb.TensorProto{DataType: proto.Int32(int32(ir.Int64)), Dims: []int64{3, 2}, Int64Data: []int64{0, 1, 1, 0, 1, 2}}
	vals2 := &onnxpb.TensorProto{Name: proto.String("v"), DataType: proto.Int32(int32(ir.Float32)), Dims: []int64{2},
		FloatData: []float32{5, 0}}
	linear := &onnxpb.TensorProto{DataType: proto.Int32(int32(ir.Int64)), Dims: []int64{2}, Int64Data: []int64{1, 3}}
	mp := &onnxpb.ModelProto{
		IrVersion: proto.Int64(8),
		Graph: &onnxpb.GraphProto{
			Name: proto.String("g"),
			SparseInitializer: []*onnxpb.SparseTensorProto{
				{Values: vals, Indices: coord, Dims: []int64{2, 3}},
				{Values: vals2, Indices: linear, Dims: []int64{4}},
			},
			Node:   []*onnxpb.NodeProto{{OpType: proto.String("Add"), Input: []string{"w", "w"}, Output: []string{"y"}}},
			Output: []*onnxpb.ValueInfoProto{{Name: proto.String("y")}},
		},
	}
	data, err := proto.Marshal(mp)
	if err != nil {
		t.Fatal(err)
	}
	m, err := Decode(data, "")
	if err != nil {
		t.Fatal(err)
	}
	g := m.Graph
	if got := g.Initializers["w"].F32(); !slices.Equal(got, []float32{0, 1, 0, 2, 0, 3}) {
		t.Fatalf("w = %v", got)
	}
	if got := g.Initializers["v"].F32(); !slices.Equal(got, []float32{0, 5, 0, 0}) {
		t.Fatalf("v = %v", got)
	}
	if !g.SparseInitializers["w"] || !g.SparseInitializers["v"] {
		t.Fatal("sparse initializers not remembered")
	}
	got, err := ToProto(m)
	if err != nil {
		t.Fatal(err)
	}
	want := &onnxpb.ModelProto{}
	proto.Unmarshal(data, want)
	if !proto.Equal(want, got) {
		t.Fatalf("round trip differs:\n%s", diffProto(want, got))
	}
	// A rewritten tensor is stored sparse again, from its nonzeros, in the source's index layout.
	w := g.Initializers["w"].Clone()
	w.F32()[0] = 9
	g.SetInitializer("w", w)
	v := g.Initializers["v"].Clone()
	v.F32()[2] = 7
	g.SetInitializer("v", v)
	got, err = ToProto(m)
	if err != nil {
		t.Fatal(err)
	}
	sp := got.Graph.SparseInitializer
	if len(sp) != 2 || len(got.Graph.Initializer) != 0 {
		t.Fatalf("got %d sparse, %d dense initializers", len(sp), len(got.Graph.Initializer))
	}
	if ix := sp[0].Indices; !slices.Equal(ix.Dims, []int64{4, 2}) {
		t.Fatalf("w indices dims %v, want coordinates [4 2]", ix.Dims)
	}
	if ix := sp[1].Indices; !slices.Equal(ix.Dims, []int64{2}) {
		t.Fatalf("v indices dims %v, want linear [2]", ix.Dims)
	}
	data, _ = proto.Marshal(got)
	m2, err := Decode(data, "")
	if err != nil {
		t.Fatal(err)
	}
	if !sameTensor(m2.Graph.Initializers["w"], w) || !sameTensor(m2.Graph.Initializers["v"], v) {
		t.Fatal("rewritten sparse tensors changed through save")
	}
}
