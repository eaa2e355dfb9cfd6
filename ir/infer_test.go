package ir_test

import (
	"testing"

	"github.com/hone-ml/hone/internal/irtest"
	"github.com/hone-ml/hone/ir"
)

func symType(dt ir.DType, dims ...any) ir.Type {
	t := ir.Type{DType: dt, HasShape: true}
	for _, d := range dims {
		switch d := d.(type) {
		case int:
			t.Shape = append(t.Shape, ir.DimOf(int64(d)))
		case string:
			t.Shape = append(t.Shape, ir.SymDim(d))
		default:
			t.Shape = append(t.Shape, ir.Dim{Size: -1})
		}
	}
	return t
}

// TestInferSymbolic checks symbolic dims against what NumPy/ONNX semantics dictate for each op.
func TestInferSymbolic(t *testing.T) {
	for _, tc := range []struct {
		name  string
		build func(b *irtest.Builder) string
		want  string
	}{
		{"broadcast keeps symbol", func(b *irtest.Builder) string {
			x := b.InputT("x", symType(ir.Float32, "N", 1, 5))
			y := b.InputT("y", symType(ir.Float32, 4, 1))
			return b.Op("Add", []string{x, y})
		}, "float32[N,4,5]"},
		{"conv arithmetic", func(b *irtest.Builder) string {
			x := b.InputT("x", symType(ir.Float32, "N", 3, 17, "W"))
			return b.Op("Conv", []string{x, b.Init("w", ir.New(ir.Float32, 8, 3, 3, 3))},
				irtest.Ints("strides", 2, 2), irtest.Ints("pads", 1, 1, 1, 1))
		}, "float32[N,8,9,?]"}, // floor((17+2-3)/2)+1 = 9
		{"pool ceil", func(b *irtest.Builder) string {
			x := b.InputT("x", symType(ir.Float32, 1, 2, 6, 7))
			return b.Op("MaxPool", []string{x}, irtest.Ints("kernel_shape", 2, 2), irtest.Ints("strides", 2, 2), irtest.Int("ceil_mode", 1))
		}, "float32[1,2,3,4]"},
		{"shape gather concat reshape", func(b *irtest.Builder) string {
			x := b.InputT("x", symType(ir.Float32, "N", 3, 4))
			s := b.Op("Shape", []string{x})
			n := b.Op("Gather", []string{s, b.Init("i", ir.FromInt64([]int{1}, []int64{0}))})
			shp := b.Op("Concat", []string{n, b.Init("m", irtest.I64(-1))}, irtest.Int("axis", 0))
			return b.Op("Reshape", []string{x, shp})
		}, "float32[N,12]"},
		{"reshape -1 recovers symbol", func(b *irtest.Builder) string {
			x := b.InputT("x", symType(ir.Float32, "N", 3, 4))
			return b.Op("Reshape", []string{x, b.Init("s", irtest.I64(-1, 4))})
		}, "float32[?,4]"},
		{"reshape -1 symbol cancels", func(b *irtest.Builder) string {
			x := b.InputT("x", symType(ir.Float32, "N", 3, 4))
			return b.Op("Reshape", []string{x, b.Init("s", irtest.I64(0, -1))})
		}, "float32[N,12]"},
		{"matmul batch", func(b *irtest.Builder) string {
			x := b.InputT("x", symType(ir.Float32, "B", "T", 5))
			return b.Op("MatMul", []string{x, b.Init("w", ir.New(ir.Float32, 5, 7))})
		}, "float32[B,T,7]"},
		{"slice constant", func(b *irtest.Builder) string {
			x := b.InputT("x", symType(ir.Float32, "N", 10))
			return b.Op("Slice", []string{x, b.Init("st", irtest.I64(1)), b.Init("en", irtest.I64(-1)),
				b.Init("ax", irtest.I64(1)), b.Init("sp", irtest.I64(3))})
		}, "float32[N,3]"}, // indices 1,4,7
		{"reduce keepdims", func(b *irtest.Builder) string {
			x := b.InputT("x", symType(ir.Float32, "N", 3, 4))
			return b.Op("ReduceMean", []string{x}, irtest.Ints("axes", -1))
		}, "float32[N,3,1]"},
		{"unknown stays unknown", func(b *irtest.Builder) string {
			x := b.InputT("x", symType(ir.Float32, "N", 3))
			s := b.Input("s", ir.Int64, 2)
			return b.Op("Reshape", []string{x, s})
		}, "float32[?,?]"},
		{"resize scales", func(b *irtest.Builder) string {
			x := b.InputT("x", symType(ir.Float32, "N", 3, 5, 7))
			return b.Op("Resize", []string{x, "", b.Init("sc", irtest.F32([]int{4}, 1, 1, 2, 0.5))})
		}, "float32[N,3,10,3]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := irtest.New("g")
			out := tc.build(b)
			b.Output(out)
			if err := ir.InferShapes(b.Model(17)); err != nil {
				t.Fatal(err)
			}
			got, _ := b.G.TypeOfValue(out)
			if got.String() != tc.want {
				t.Errorf("got %s, want %s", got, tc.want)
			}
		})
	}
}

// TestInferErrors checks contradictory graphs are errors naming the node.
func TestInferErrors(t *testing.T) {
	b := irtest.New("g")
	x := b.Input("x", ir.Float32, 3)
	y := b.Input("y", ir.Float32, 4)
	b.Output(b.Op("Add", []string{x, y}))
	err := ir.InferShapes(b.Model(17))
	if err == nil || err.Error() != `ir: node "Add1" (Add): cannot broadcast [3] with [4]` {
		t.Errorf("got %v", err)
	}
}

func TestInferFlattenNegativeAxis(t *testing.T) {
	b := irtest.New("g")
	x := b.Input("x", ir.Float32, 2, 3, 4)
	y := b.Op("Flatten", []string{x}, irtest.Int("axis", -1)) // ONNX: [2*3, 4]
	b.Output(y)
	if err := ir.InferShapes(b.Model(17)); err != nil {
		t.Fatal(err)
	}
	if got, _ := b.G.TypeOfValue(y); got.String() != "float32[6,4]" {
		t.Errorf("got %s", got)
	}
}

// TestInferDynamicQuantizeLinear checks the three outputs the ONNX spec gives DynamicQuantizeLinear: y uint8 of
// x's shape, y_scale a float32 scalar, y_zero_point a uint8 scalar.
func TestInferDynamicQuantizeLinear(t *testing.T) {
	b := irtest.New("g")
	x := b.Input("x", ir.Float32, 2, 5)
	out := b.OpN("DynamicQuantizeLinear", []string{x}, 3)
	b.Output(out...)
	if err := ir.InferShapes(b.Model(11)); err != nil {
		t.Fatal(err)
	}
	for i, want := range []string{"uint8[2,5]", "float32[]", "uint8[]"} {
		if got, _ := b.G.TypeOfValue(out[i]); got.String() != want {
			t.Errorf("output %d: %s, want %s", i, got, want)
		}
	}
}
