//go:build ort

package ort

import (
	"maps"
	"slices"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/hone-ml/hone/internal/irtest"
	"github.com/hone-ml/hone/ir"
	"github.com/hone-ml/hone/onnx"
)

// shapesModel serializes a model with three outputs: Reshape(x, shape) declared with no shape ("y", whose rank
// even ONNX Runtime's shape inference cannot know: it is the length of the input shape), Relu(x) declared with its
// shape ("z") and a scalar ("s", a ReduceSum to rank 0); an initializer precedes them, which the scan must skip.
func shapesModel(t *testing.T) []byte {
	t.Helper()
	b := irtest.New("shapes")
	x := b.Input("x", ir.Float32, 6)
	shape := b.Input("shape", ir.Int64, -1)
	w := b.Init("w", irtest.Rand(1, 64, 64))
	y := b.Op("Reshape", []string{x, shape})
	z := b.Op("Relu", []string{x})
	s := b.Op("ReduceSum", []string{z}, irtest.Int("keepdims", 0))
	b.Op("Identity", []string{w})
	b.G.Outputs = []*ir.ValueInfo{
		{Name: y, Type: ir.Type{DType: ir.Float32}},
		{Name: z, Type: irtest.Type(ir.Float32, 6)},
		{Name: s, Type: irtest.Type(ir.Float32)},
	}
	return marshalModel(t, b.Model(13))
}

// marshalModel serializes m as a ModelProto.
func marshalModel(t *testing.T, m *ir.Model) []byte {
	t.Helper()
	mp, err := onnx.ToProto(m)
	if err != nil {
		t.Fatal(err)
	}
	data, err := proto.Marshal(mp)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// TestShapelessOutputs reads which outputs a model declares without a shape, and rejects a truncated model.
func TestShapelessOutputs(t *testing.T) {
	data := shapesModel(t)
	got, err := shapelessOutputs(data)
	if err != nil {
		t.Fatal(err)
	}
	out := shapeNames(t, data)
	want := map[string]bool{out[0]: true, out[1]: false, out[2]: false}
	if !maps.Equal(got, want) {
		t.Errorf("shapeless outputs %v, want %v", got, want)
	}
	if _, err := shapelessOutputs(data[:len(data)-3]); err == nil {
		t.Error("truncated model accepted")
	}
}

// shapeNames lists the model's output names as hone reads them.
func shapeNames(t *testing.T, data []byte) []string {
	t.Helper()
	m, err := onnx.Decode(data, "")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, o := range m.Graph.Outputs {
		names = append(names, o.Name)
	}
	return names
}

// TestRunShapelessOutput runs the model: the output of unknown rank comes back as ONNX Runtime computed it, [2 3],
// not as the scalar its missing dimensions look like (which failed the run), and the scalar output still works.
func TestRunShapelessOutput(t *testing.T) {
	data := shapesModel(t)
	names := shapeNames(t, data)
	s, err := NewSessionFromBytes("shapes", data, Options{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if o := s.Outputs(); !o[0].UnknownRank || o[1].UnknownRank || o[2].UnknownRank {
		t.Errorf("outputs %+v: only the first has an unknown rank", o)
	}
	x := []float32{-1, 2, -3, 4, 0.5, -6}
	res, err := s.Run(map[string]*ir.Tensor{"x": ir.FromFloat32([]int{6}, x), "shape": irtest.I64(2, 3)})
	if err != nil {
		t.Fatal(err)
	}
	if y := res[names[0]]; y == nil || y.Rank() != 2 || y.Shape[0] != 2 || y.Shape[1] != 3 || !slices.Equal(y.F32(), x) {
		t.Errorf("reshaped = %v, want x as [2 3]", y)
	}
	if z := res[names[1]]; z == nil || !slices.Equal(z.F32(), []float32{0, 2, 0, 4, 0.5, 0}) {
		t.Errorf("relu = %v", z)
	}
	if sum := res[names[2]]; sum == nil || sum.Rank() != 0 || sum.F32()[0] != 6.5 {
		t.Errorf("sum = %v, want scalar 6.5", sum)
	}
}

// TestRunShapelessScalar runs a model whose scalar output is declared without a shape. ONNX Runtime allocates it
// and onnxruntime_go cannot wrap a rank-0 result (it used to leave a typed nil output that the cleanup
// dereferenced: a panic; then an error), so Run runs again with a scalar buffer for it: the sum must come back.
// With a second shapeless output of a rank ORT cannot infer and that is not a scalar, ORT rejects that buffer,
// and the first run's error stands.
func TestRunShapelessScalar(t *testing.T) {
	if err := Init(""); err != nil {
		t.Fatal(err)
	}
	for _, mixed := range []bool{false, true} {
		b := irtest.New("scalar")
		x := b.Input("x", ir.Float32, 6)
		s := b.Op("ReduceSum", []string{x}, irtest.Int("keepdims", 0))
		b.G.Outputs = []*ir.ValueInfo{{Name: s, Type: ir.Type{DType: ir.Float32}}}
		feeds := map[string]*ir.Tensor{"x": irtest.F32([]int{6}, 1, 2, 3, 4, 5, -6)}
		if mixed { // a Reshape to a runtime shape: a rank ORT cannot know before running
			b.G.Outputs = append(b.G.Outputs, &ir.ValueInfo{Name: b.Op("Reshape", []string{x, b.Input("shape", ir.Int64, 2)}), Type: ir.Type{DType: ir.Float32}})
			feeds["shape"] = irtest.I64(2, 3)
		}
		sess, err := NewSessionFromBytes("scalar", marshalModel(t, b.Model(13)), Options{})
		if err != nil {
			t.Fatal(err)
		}
		out, err := sess.Run(feeds)
		sess.Close()
		if mixed {
			if err == nil || !strings.Contains(err.Error(), "no dimensions") {
				t.Errorf("mixed: %v, %v; want the rank-0 wrapping error", out, err)
			}
			continue
		}
		if err != nil || out[s] == nil || out[s].Rank() != 0 || out[s].F32()[0] != 9 {
			t.Errorf("sum = %v, %v; want scalar 9", out[s], err)
		}
	}
}
