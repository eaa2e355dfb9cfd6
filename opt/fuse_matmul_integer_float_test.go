package opt

import (
	"testing"

	"github.com/hone-ml/hone/internal/irtest"
	"github.com/hone-ml/hone/ir"
)

// intFloatGraph builds what ONNX Runtime's dynamic quantizer writes for a MatMul with a bias:
// DynamicQuantizeLinear(x) → MatMulInteger(·, B) → Cast(to) → Mul(·, scale) → Add(bias), where scale is
// Mul(a_scale, b_scale) (form "product"), a_scale alone ("scalar"), a per-column constant ("column") or a
// per-row one that MatMulIntegerToFloat cannot express ("row"); extra adds a second reader of the Cast.
func intFloatGraph(form string, to ir.DType, extra bool) *ir.Graph {
	b := irtest.New("int_float")
	x := b.Input("x", ir.Float32, 2, 4)
	q := b.OpN("DynamicQuantizeLinear", []string{x}, 3)
	w := ir.New(ir.Int8, 4, 3)
	for i := range w.I8() {
		w.I8()[i] = int8(i*9 - 50)
	}
	prod := b.Op("MatMulInteger", []string{q[0], b.Init("wq", w), q[2], b.Init("wz", ir.New(ir.Int8, 3))})
	cast := b.Op("Cast", []string{prod}, irtest.Int("to", int64(to)))
	var scale string
	switch form {
	case "product":
		scale = b.Op("Mul", []string{q[1], b.Init("ws", ir.FromFloat32([]int{3}, []float32{0.01, 0.02, 0.03}))})
	case "scalar":
		scale = q[1]
	case "column":
		scale = b.Init("ws", ir.FromFloat32([]int{1, 3}, []float32{0.01, 0.02, 0.03}))
	case "row":
		scale = b.Init("ws", ir.FromFloat32([]int{2, 1}, []float32{0.01, 0.02}))
	}
	y := b.Op("Add", []string{b.Op("Mul", []string{cast, scale}), b.Init("bias", ir.FromFloat32([]int{3}, []float32{1, 2, 3}))})
	b.Output(y)
	if extra {
		b.Output(b.Op("Neg", []string{cast}))
	}
	return b.G
}

// TestFuseMatMulIntegerFloat checks that the chain becomes one MatMulIntegerToFloat that absorbs the bias for
// each scale form the op can take, and that it is left alone when the Cast is not to float32, when another node
// reads the Cast, or when the scale runs along the rows.
func TestFuseMatMulIntegerFloat(t *testing.T) {
	for _, c := range []struct {
		name  string
		form  string
		to    ir.DType
		extra bool
		fused bool
	}{
		{"a_scale·b_scale", "product", ir.Float32, false, true},
		{"a_scale alone", "scalar", ir.Float32, false, true},
		{"per-column constant", "column", ir.Float32, false, true},
		{"per-row constant", "row", ir.Float32, false, false},
		{"cast to double", "product", ir.Float64, false, false},
		{"cast read twice", "product", ir.Float32, true, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			g := intFloatGraph(c.form, c.to, c.extra)
			if err := ir.InferGraph(g, map[string]int64{"": 13}); err != nil {
				t.Fatal(err)
			}
			n, err := runPass(g, map[string]int64{"": 13}, nil, fuseMatMulIntegerFloat)
			if err != nil {
				t.Fatal(err)
			}
			ops := irtest.OpCount(g)
			fused := n == 1 && ops["MatMulIntegerToFloat"] == 1 && ops["MatMulInteger"] == 0 && ops["Cast"] == 0 && ops["Add"] == 0
			if fused != c.fused || (!c.fused && n != 0) {
				t.Fatalf("rewrites %d, ops %v, want fused=%v", n, ops, c.fused)
			}
			if err := g.Validate(); err != nil {
				t.Error(err)
			}
			if !c.fused {
				return
			}
			for _, nd := range g.Nodes {
				if nd.OpType != "MatMulIntegerToFloat" {
					continue
				}
				if len(nd.Inputs) != 7 || nd.Inputs[6] != "bias" {
					t.Errorf("inputs %v: want A, B, a_scale, b_scale, a_zero_point, b_zero_point, bias", nd.Inputs)
				}
				if bs := g.Initializers[nd.Inputs[3]]; c.form == "column" && (bs == nil || bs.Rank() != 1 || bs.Len() != 3) {
					t.Errorf("b_scale %v: want the [3] column scales", bs)
				}
			}
		})
	}
}
