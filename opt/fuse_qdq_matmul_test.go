package opt

import (
	"testing"

	"github.com/hone-ml/hone/internal/irtest"
	"github.com/hone-ml/hone/ir"
)

// qdqMatMulGraph builds Q(a) → DQ → MatMul(·, B) → Q, where B is DQ of a constant int8 [4,3] matrix with a
// per-column scale on axis wAxis, or, when act is set, DQ(Q(b)) of a second activation.
func qdqMatMulGraph(act bool, wAxis int64) *ir.Graph {
	b := irtest.New("qdq_matmul")
	a := b.Input("a", ir.Float32, 2, 4)
	s := b.Init("s", ir.Scalar(0.05))
	z := b.Init("z", ir.New(ir.Int8))
	ad := b.Op("DequantizeLinear", []string{b.Op("QuantizeLinear", []string{a, s, z}), s, z})
	var wd string
	if act {
		x := b.Input("b", ir.Float32, 4, 3)
		wd = b.Op("DequantizeLinear", []string{b.Op("QuantizeLinear", []string{x, s, z}), s, z})
	} else {
		w := ir.New(ir.Int8, 4, 3)
		for i := range w.I8() {
			w.I8()[i] = int8(i*9 - 50)
		}
		wd = b.Op("DequantizeLinear", []string{b.Init("wq", w), b.Init("ws", ir.FromFloat32([]int{3}, []float32{0.01, 0.02, 0.03}))},
			irtest.Int("axis", wAxis))
	}
	y := b.Op("MatMul", []string{ad, wd})
	b.Output(b.Op("QuantizeLinear", []string{y, b.Init("ys", ir.Scalar(0.1)), z}))
	return b.G
}

// TestFuseQDQMatMul checks the rewrite for constant per-column weights and for two activations, and that it
// does not fire when the weight scale runs along K (axis 0), which QLinearMatMul cannot express.
func TestFuseQDQMatMul(t *testing.T) {
	for _, c := range []struct {
		name  string
		act   bool
		axis  int64
		fused bool
	}{{"weights per column", false, 1, true}, {"two activations", true, 1, true}, {"weights per row", false, 0, false}} {
		t.Run(c.name, func(t *testing.T) {
			g := qdqMatMulGraph(c.act, c.axis)
			if err := ir.InferGraph(g, map[string]int64{"": 13}); err != nil {
				t.Fatal(err)
			}
			n, err := runPass(g, map[string]int64{"": 13}, nil, fuseQDQMatMul)
			if err != nil {
				t.Fatal(err)
			}
			ops := irtest.OpCount(g)
			if c.fused != (n == 1) || c.fused != (ops["QLinearMatMul"] == 1 && ops["MatMul"] == 0) {
				t.Errorf("rewrites %d, ops %v, want fused=%v", n, ops, c.fused)
			}
			if err := g.Validate(); err != nil {
				t.Error(err)
			}
		})
	}
}
