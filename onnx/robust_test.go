package onnx

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/hone-ml/hone/ir"
	"github.com/hone-ml/hone/onnx/onnxpb"
)

func f32(name string, dims []int64, vals ...float32) *onnxpb.TensorProto {
	return &onnxpb.TensorProto{Name: proto.String(name), DataType: proto.Int32(1), Dims: dims, FloatData: vals}
}

func node(name, op string, in, out []string) *onnxpb.NodeProto {
	return &onnxpb.NodeProto{Name: proto.String(name), OpType: proto.String(op), Input: in, Output: out}
}

func graphModel(g *onnxpb.GraphProto) []byte {
	if g.Name == nil {
		g.Name = proto.String("g")
	}
	b, _ := proto.Marshal(&onnxpb.ModelProto{IrVersion: proto.Int64(8), Graph: g})
	return b
}

func outputs(names ...string) []*onnxpb.ValueInfoProto {
	var vs []*onnxpb.ValueInfoProto
	for _, n := range names {
		vs = append(vs, &onnxpb.ValueInfoProto{Name: proto.String(n)})
	}
	return vs
}

// TestDecodeErrors feeds broken models and checks each fails with the right error type and a message that
// says where, without panicking or allocating what the input merely claims.
func TestDecodeErrors(t *testing.T) {
	cls, err := os.ReadFile(filepath.Join("..", ".cache", "assets", "ocr", "ch_ppocr_mobile_v2.0_cls_infer.onnx"))
	if err != nil {
		// Any real model does for truncation; fall back to one from the repository.
		cls, _ = os.ReadFile("testdata/external/model.onnx")
	}
	png := []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x10\x00\x00\x00\x10\x08\x06\x00\x00\x00")
	huge := f32("c", []int64{1 << 40, 1 << 40}, 1)
	tests := []struct {
		name        string
		data        []byte
		unsupported bool
		want        string // substring of the message
	}{
		{"truncated", cls[:len(cls)/2], false, ""},
		{"png", png, false, "not an ONNX model"},
		{"empty", nil, false, "no graph"},
		{"size mismatch", graphModel(&onnxpb.GraphProto{Initializer: []*onnxpb.TensorProto{f32("c", []int64{2, 3}, 1, 2)}, Node: []*onnxpb.NodeProto{node("n", "Identity", []string{"c"}, []string{"y"})}, Output: outputs("y")}), false, `tensor "c": float32 of shape [2 3] needs 6 values`},
		{"raw mismatch", graphModel(&onnxpb.GraphProto{Initializer: []*onnxpb.TensorProto{{Name: proto.String("c"), DataType: proto.Int32(7), Dims: []int64{2}, RawData: make([]byte, 9)}}, Output: outputs("c")}), false, "needs 16 bytes, has 9"},
		{"negative dim", graphModel(&onnxpb.GraphProto{Initializer: []*onnxpb.TensorProto{f32("c", []int64{-1}, 1)}, Output: outputs("c")}), false, "negative dimension"},
		{"huge dims", graphModel(&onnxpb.GraphProto{Initializer: []*onnxpb.TensorProto{huge}, Output: outputs("c")}), false, "more than can be addressed"},
		{"huge dims fits int64", graphModel(&onnxpb.GraphProto{Initializer: []*onnxpb.TensorProto{f32("c", []int64{1 << 20, 1 << 20}, 1)}, Output: outputs("c")}), false, "needs 1099511627776 values"},
		{"no dtype", graphModel(&onnxpb.GraphProto{Initializer: []*onnxpb.TensorProto{{Name: proto.String("c")}}, Output: outputs("c")}), false, "no data type"},
		{"float8", graphModel(&onnxpb.GraphProto{Initializer: []*onnxpb.TensorProto{{Name: proto.String("c"), DataType: proto.Int32(17), RawData: []byte{1}}}, Output: outputs("c")}), true, "element type 17"},
		{"wrong field", graphModel(&onnxpb.GraphProto{Initializer: []*onnxpb.TensorProto{{Name: proto.String("c"), DataType: proto.Int32(7), Int32Data: []int32{1}}}, Output: outputs("c")}), false, "must be in int64_data"},
		{"missing initializer", graphModel(&onnxpb.GraphProto{Node: []*onnxpb.NodeProto{node("conv", "Conv", []string{"x", "w"}, []string{"y"})}, Input: outputs("x"), Output: outputs("y")}), false, `node "conv" (Conv) reads "w"`},
		{"duplicate initializer", graphModel(&onnxpb.GraphProto{Initializer: []*onnxpb.TensorProto{f32("c", nil, 1), f32("c", nil, 2)}, Output: outputs("c")}), false, `duplicate initializer "c"`},
		{"duplicate input", graphModel(&onnxpb.GraphProto{Input: outputs("x", "x"), Output: outputs("x")}), false, `duplicate input "x"`},
		{"duplicate producer", graphModel(&onnxpb.GraphProto{Input: outputs("x"), Node: []*onnxpb.NodeProto{node("a", "Relu", []string{"x"}, []string{"y"}), node("b", "Neg", []string{"x"}, []string{"y"})}, Output: outputs("y")}), false, `both produce "y"`},
		{"output shadows input", graphModel(&onnxpb.GraphProto{Input: outputs("x"), Node: []*onnxpb.NodeProto{node("a", "Relu", []string{"x"}, []string{"x"})}, Output: outputs("x")}), false, `output "x" duplicates`},
		{"cycle", graphModel(&onnxpb.GraphProto{Input: outputs("x"), Node: []*onnxpb.NodeProto{node("a", "Add", []string{"x", "b"}, []string{"a"}), node("b", "Relu", []string{"a"}, []string{"b"})}, Output: outputs("b")}), false, "cycle"},
		{"output not computed", graphModel(&onnxpb.GraphProto{Input: outputs("x"), Output: outputs("z")}), false, `output "z" is not computed`},
		{"no op type", graphModel(&onnxpb.GraphProto{Input: outputs("x"), Node: []*onnxpb.NodeProto{{Name: proto.String("n"), Input: []string{"x"}, Output: []string{"y"}}}, Output: outputs("y")}), false, "no op_type"},
		{"duplicate attribute", graphModel(&onnxpb.GraphProto{Input: outputs("x"), Node: []*onnxpb.NodeProto{{Name: proto.String("n"), OpType: proto.String("Elu"), Input: []string{"x"}, Output: []string{"y"},
			Attribute: []*onnxpb.AttributeProto{{Name: proto.String("alpha"), F: proto.Float32(1)}, {Name: proto.String("alpha"), F: proto.Float32(2)}}}}, Output: outputs("y")}), false, `node "n" (Elu): duplicate attribute "alpha"`},
		{"bad subgraph", graphModel(&onnxpb.GraphProto{Input: outputs("x"), Node: []*onnxpb.NodeProto{{Name: proto.String("if"), OpType: proto.String("If"), Input: []string{"x"}, Output: []string{"y"},
			Attribute: []*onnxpb.AttributeProto{{Name: proto.String("then_branch"), Type: onnxpb.AttributeProto_GRAPH.Enum(), G: &onnxpb.GraphProto{Name: proto.String("then"),
				Node: []*onnxpb.NodeProto{node("inner", "Neg", []string{"nowhere"}, []string{"t"})}, Output: outputs("t")}}}}}, Output: outputs("y")}), false, `node "if" (If): attribute "then_branch": graph "then"`},
		{"huge sparse", graphModel(&onnxpb.GraphProto{SparseInitializer: []*onnxpb.SparseTensorProto{{Values: f32("s", []int64{1}, 1), Indices: &onnxpb.TensorProto{DataType: proto.Int32(7), Dims: []int64{1}, Int64Data: []int64{0}}, Dims: []int64{1 << 30, 1 << 30}}}, Output: outputs("s")}), true, "MaxDenseBytes"},
		{"sparse index out of range", graphModel(&onnxpb.GraphProto{SparseInitializer: []*onnxpb.SparseTensorProto{{Values: f32("s", []int64{1}, 1), Indices: &onnxpb.TensorProto{DataType: proto.Int32(7), Dims: []int64{1}, Int64Data: []int64{4}}, Dims: []int64{4}}}, Output: outputs("s")}), false, "out of range"},
		{"external without dir", graphModel(&onnxpb.GraphProto{Initializer: []*onnxpb.TensorProto{{Name: proto.String("c"), DataType: proto.Int32(1), Dims: []int64{1}, DataLocation: onnxpb.TensorProto_EXTERNAL.Enum(),
			ExternalData: []*onnxpb.StringStringEntryProto{{Key: proto.String("location"), Value: proto.String("w.bin")}}}}, Output: outputs("c")}), true, "needs the model's directory"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, err := Decode(tc.data, "")
			if err == nil {
				t.Fatalf("decoded %v without error", m.Graph)
			}
			var fe *FormatError
			var ue *UnsupportedError
			if tc.unsupported && !errors.As(err, &ue) || !tc.unsupported && !errors.As(err, &fe) {
				t.Fatalf("error %T %q has the wrong type", err, err)
			}
			if !strings.HasPrefix(err.Error(), "onnx: ") || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %q does not contain %q", err, tc.want)
			}
		})
	}
}

// TestCycleIsErrCycle checks that the cycle error still matches ir's sentinel through the wrapping.
func TestCycleIsErrCycle(t *testing.T) {
	_, err := Decode(graphModel(&onnxpb.GraphProto{Input: outputs("x"), Node: []*onnxpb.NodeProto{node("a", "Add", []string{"x", "b"}, []string{"a"}), node("b", "Relu", []string{"a"}, []string{"b"})}, Output: outputs("b")}), "")
	if !errors.Is(err, ir.ErrCycle) {
		t.Fatalf("got %v, want ir.ErrCycle", err)
	}
}

// TestUnsortedGraphIsSorted accepts nodes stored out of order (some exporters do) and puts them in order.
func TestUnsortedGraphIsSorted(t *testing.T) {
	m, err := Decode(graphModel(&onnxpb.GraphProto{Input: outputs("x"), Node: []*onnxpb.NodeProto{node("b", "Neg", []string{"a"}, []string{"y"}), node("a", "Relu", []string{"x"}, []string{"a"})}, Output: outputs("y")}), "")
	if err != nil {
		t.Fatal(err)
	}
	if m.Graph.Nodes[0].Name != "a" {
		t.Fatalf("order %s, %s", m.Graph.Nodes[0], m.Graph.Nodes[1])
	}
}

// FuzzDecode checks that no input panics, and that whatever decodes also encodes and decodes again.
func FuzzDecode(f *testing.F) {
	for _, name := range []string{"node/test_add", "node/test_if", "node/test_loop11", "node/test_scan9_sum", "node/test_constant", "node/test_cast_FLOAT_to_FLOAT16", "node/test_range_float_type_positive_delta_expanded"} {
		if data, err := os.ReadFile(filepath.Join(backendData, name, "model.onnx")); err == nil {
			f.Add(data)
		}
	}
	sparse := graphModel(&onnxpb.GraphProto{SparseInitializer: []*onnxpb.SparseTensorProto{{Values: f32("s", []int64{2}, 1, 2), Indices: &onnxpb.TensorProto{DataType: proto.Int32(7), Dims: []int64{2, 2}, Int64Data: []int64{0, 1, 1, 0}}, Dims: []int64{2, 2}}}, Output: outputs("s")})
	f.Add(sparse)
	f.Add([]byte{})
	// Fuzzed dims may claim anything; keep densified sparse tensors small so workers do not run out of memory.
	old := MaxDenseBytes
	MaxDenseBytes = 1 << 20
	defer func() { MaxDenseBytes = old }()
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := Decode(data, "")
		if err != nil {
			var fe *FormatError
			var ue *UnsupportedError
			if !errors.As(err, &fe) && !errors.As(err, &ue) {
				t.Fatalf("untyped error %T: %v", err, err)
			}
			return
		}
		mp, err := ToProto(m)
		if err != nil {
			t.Fatalf("decoded model does not encode: %v", err)
		}
		b, err := proto.Marshal(mp)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := Decode(b, ""); err != nil {
			t.Fatalf("re-encoded model does not decode: %v", err)
		}
	})
}
