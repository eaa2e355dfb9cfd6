package onnx

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"github.com/hone-ml/hone/ir"
	"github.com/hone-ml/hone/onnx/onnxpb"
)

// TestLoadExternal reads a model whose weights the onnx Python package saved externally.
func TestLoadExternal(t *testing.T) {
	m, err := Load("testdata/external/model.onnx")
	if err != nil {
		t.Fatal(err)
	}
	w := m.Graph.Initializers["w"].F32()
	for i, v := range w {
		if v != float32(i)/8 {
			t.Fatalf("w[%d] = %v, want %v", i, v, float32(i)/8)
		}
	}
	if b := m.Graph.Initializers["b"].I64(); !slices.Equal(b, []int64{-1, 2, -3, 4}) {
		t.Fatalf("b = %v", b)
	}
	if got := m.Graph.Inputs[0].Type.Shape[0]; got != ir.SymDim("n") {
		t.Fatalf("input dim 0 = %v, want symbolic n", got)
	}

	// Saved again externally, the model equals the original except for where the bytes sit in the data file.
	dir := t.TempDir()
	out := filepath.Join(dir, "m.onnx")
	if err := Save(m, out, WithExternalData("w.bin", 0)); err != nil {
		t.Fatal(err)
	}
	want, got := readProto(t, "testdata/external/model.onnx"), readProto(t, out)
	for _, g := range []*onnxpb.ModelProto{want, got} {
		for _, tp := range g.Graph.Initializer {
			if tp.GetDataLocation() != onnxpb.TensorProto_EXTERNAL {
				t.Fatalf("%s not external", tp.GetName())
			}
			tp.ExternalData = nil
		}
	}
	if !proto.Equal(want, got) {
		t.Fatalf("differs:\n%s", diffProto(want, got))
	}
	m2, err := Load(out)
	if err != nil {
		t.Fatal(err)
	}
	for name, x := range m.Graph.Initializers {
		if !sameTensor(x, m2.Graph.Initializers[name]) {
			t.Fatalf("%s changed through external save", name)
		}
	}
	// Below the threshold, tensors stay inline.
	out2 := filepath.Join(dir, "m2.onnx")
	if err := Save(m, out2, WithExternalData("w2.bin", 64)); err != nil {
		t.Fatal(err)
	}
	p := readProto(t, out2)
	if p.Graph.Initializer[0].GetDataLocation() != onnxpb.TensorProto_DEFAULT || p.Graph.Initializer[1].GetDataLocation() != onnxpb.TensorProto_DEFAULT {
		t.Fatal("tensors under the threshold were moved out")
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if filepath.Ext(e.Name()) != ".onnx" && filepath.Ext(e.Name()) != ".bin" {
			t.Errorf("left behind %s", e.Name())
		}
	}
}

// TestExternalPathEscape rejects locations outside the model directory, including through a symlink.
func TestExternalPathEscape(t *testing.T) {
	dir := t.TempDir()
	outside := t.TempDir()
	os.WriteFile(filepath.Join(outside, "secret"), make([]byte, 16), 0o644)
	os.Symlink(filepath.Join(outside, "secret"), filepath.Join(dir, "link"))
	for _, loc := range []string{"../secret", "/etc/passwd", filepath.Join(outside, "secret"), "a/../../secret", "link", "missing", ""} {
		t.Run(loc, func(t *testing.T) {
			mp := tinyModel(&onnxpb.TensorProto{
				Name: proto.String("c"), DataType: proto.Int32(1), Dims: []int64{4},
				DataLocation: onnxpb.TensorProto_EXTERNAL.Enum(),
				ExternalData: []*onnxpb.StringStringEntryProto{{Key: proto.String("location"), Value: proto.String(loc)}},
			})
			data, _ := proto.Marshal(mp)
			_, err := Decode(data, dir)
			var fe *FormatError
			if !errors.As(err, &fe) {
				t.Fatalf("got %v, want a FormatError", err)
			}
			t.Log(err)
		})
	}
}

// tinyModel is Identity(c) with c an initializer.
func tinyModel(c *onnxpb.TensorProto) *onnxpb.ModelProto {
	return &onnxpb.ModelProto{
		IrVersion:   proto.Int64(8),
		OpsetImport: []*onnxpb.OperatorSetIdProto{{Domain: proto.String(""), Version: proto.Int64(13)}},
		Graph: &onnxpb.GraphProto{
			Name:        proto.String("g"),
			Initializer: []*onnxpb.TensorProto{c},
			Node:        []*onnxpb.NodeProto{{Name: proto.String("id"), OpType: proto.String("Identity"), Input: []string{c.GetName()}, Output: []string{"y"}}},
			Output:      []*onnxpb.ValueInfoProto{{Name: proto.String("y")}},
		},
	}
}

// TestSaveOverwrite refuses to replace the file a model came from (also through a hard link) unless asked.
func TestSaveOverwrite(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "m.onnx")
	data, _ := proto.Marshal(tinyModel(&onnxpb.TensorProto{Name: proto.String("c"), DataType: proto.Int32(1), Dims: []int64{1}, FloatData: []float32{1}}))
	os.WriteFile(src, data, 0o644)
	m, err := Load(src)
	if err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "link.onnx")
	if err := os.Link(src, link); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{src, link, filepath.Join(dir, ".", "m.onnx")} {
		if err := Save(m, p); !errors.Is(err, ErrOverwriteSource) {
			t.Fatalf("Save to %s: got %v, want ErrOverwriteSource", p, err)
		}
	}
	if err := Save(m, src, AllowOverwrite()); err != nil {
		t.Fatal(err)
	}
	if err := Save(m, filepath.Join(dir, "other.onnx")); err != nil {
		t.Fatal(err)
	}
	if got := readProto(t, src); !proto.Equal(got, readProto(t, filepath.Join(dir, "other.onnx"))) {
		t.Fatal("overwritten model differs")
	}
}

// appendUnknown adds a field number no onnx.proto version uses to a message's unknown fields.
func appendUnknown(m proto.Message, num protowire.Number, s string) {
	r := m.ProtoReflect()
	b := protowire.AppendTag(r.GetUnknown(), num, protowire.BytesType)
	r.SetUnknown(protowire.AppendString(b, s))
}

// TestUnknownFieldsSurvive injects unknown fields at every level and a local function, then checks a
// load/save/reload keeps them all, and that a rewrite of the IR shows in the output while they stay.
func TestUnknownFieldsSurvive(t *testing.T) {
	mp := readProto(t, filepath.Join(backendData, "node/test_if/model.onnx"))
	mp.Graph.Initializer = append(mp.Graph.Initializer, &onnxpb.TensorProto{Name: proto.String("extra"), DataType: proto.Int32(1), Dims: []int64{2}, FloatData: []float32{1, 2}})
	appendUnknown(mp, 900, "model")
	appendUnknown(mp.Graph, 901, "graph")
	appendUnknown(mp.Graph.Node[0], 902, "node")
	appendUnknown(mp.Graph.Node[0].Attribute[0], 903, "attr")
	appendUnknown(mp.Graph.Node[0].Attribute[0].G, 904, "subgraph")
	appendUnknown(mp.Graph.Node[0].Attribute[0].G.Node[0], 905, "subnode")
	appendUnknown(mp.Graph.Input[0], 906, "input")
	appendUnknown(mp.Graph.Initializer[0], 907, "initializer")
	mp.Functions = []*onnxpb.FunctionProto{{Name: proto.String("f"), Domain: proto.String("local"), Input: []string{"a"}, Output: []string{"b"},
		Node: []*onnxpb.NodeProto{{OpType: proto.String("Neg"), Input: []string{"a"}, Output: []string{"b"}}}}}
	dir := t.TempDir()
	data, _ := proto.Marshal(mp)
	in := filepath.Join(dir, "in.onnx")
	os.WriteFile(in, data, 0o644)
	m, err := Load(in)
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out.onnx")
	if err := Save(m, out); err != nil {
		t.Fatal(err)
	}
	if got := readProto(t, out); !proto.Equal(mp, got) {
		t.Fatalf("round trip lost something:\n%s", diffProto(mp, got))
	}

	// Rewrite: rename the If node and replace the extra initializer. Everything else must stay as it was.
	m.Graph.Nodes[0].Name = "renamed"
	m.Graph.SetInitializer("extra", ir.FromFloat32([]int{1}, []float32{5}))
	if err := Save(m, out); err != nil {
		t.Fatal(err)
	}
	mp.Graph.Node[0].Name = proto.String("renamed")
	ex := mp.Graph.Initializer[len(mp.Graph.Initializer)-1]
	ex.Dims, ex.FloatData = []int64{1}, []float32{5}
	if got := readProto(t, out); !proto.Equal(mp, got) {
		t.Fatalf("rewritten model differs:\n%s", diffProto(mp, got))
	}
}

// TestSaveOver2GiB saves a model whose weights pass protobuf's 2 GiB limit: Save must move them to external
// data by itself, and a reload must give back every byte.
func TestSaveOver2GiB(t *testing.T) {
	if testing.Short() {
		t.Skip("writes 2.25 GiB; run without -short")
	}
	start := time.Now()
	g := ir.NewGraph("big")
	const n = 3 << 28 // bytes per tensor: 3 tensors of 768 MiB
	var names []string
	for i := range 3 {
		x := ir.New(ir.Float32, n/4)
		f := x.F32()
		for j := 0; j < len(f); j += 4099 {
			f[j] = float32(i*len(f) + j)
		}
		name := "w" + string(rune('0'+i))
		g.SetInitializer(name, x)
		names = append(names, name)
	}
	g.Nodes = []*ir.Node{{Name: "s", OpType: "Sum", Inputs: names, Outputs: []string{"y"}}}
	g.Outputs = []*ir.ValueInfo{{Name: "y", Type: ir.Type{DType: ir.Float32, HasShape: true, Shape: []ir.Dim{ir.DimOf(n / 4)}}}}
	m := &ir.Model{Graph: g, Opsets: []ir.OpsetImport{{Version: 13}}}
	dir := t.TempDir()
	path := filepath.Join(dir, "big.onnx")
	if err := Save(m, path); err != nil {
		t.Fatal(err)
	}
	saved := time.Since(start)
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	dt, err := os.Stat(path + ".data")
	if err != nil {
		t.Fatal(err)
	}
	if st.Size() > 1<<20 || dt.Size() < 3*n {
		t.Fatalf("model %d bytes, data %d bytes: weights not moved out", st.Size(), dt.Size())
	}
	m2, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range names {
		if !sameTensor(g.Initializers[name], m2.Graph.Initializers[name]) {
			t.Fatalf("%s differs after reload", name)
		}
	}
	t.Logf("saved %.2f GiB in %v, round trip %v", float64(dt.Size())/(1<<30), saved, time.Since(start))
}
