package opt

import (
	"testing"

	"github.com/hone-ml/hone/internal/irtest"
	"github.com/hone-ml/hone/ir"
)

// qdqConvGraph builds Q(x) → DQ → Conv(DQ(w), DQ(bias)) → Relu → Q with the output zero point yz.
func qdqConvGraph(yz int8) *ir.Graph {
	b := irtest.New("qdq")
	x := b.Input("x", ir.Float32, 1, 2, 4, 4)
	s := b.Init("s", ir.Scalar(0.05))
	z := b.Init("z", ir.New(ir.Int8))
	w := ir.New(ir.Int8, 3, 2, 1, 1)
	for i := range w.I8() {
		w.I8()[i] = int8(i*7 - 20)
	}
	wq := b.Init("wq", w)
	ws := b.Init("ws", ir.FromFloat32([]int{3}, []float32{0.01, 0.02, 0.03}))
	bq := b.Init("bq", ir.New(ir.Int32, 3))
	bs := b.Init("bs", ir.FromFloat32([]int{3}, []float32{0.05 * 0.01, 0.05 * 0.02, 0.05 * 0.03}))
	ys := b.Init("ys", ir.Scalar(0.1))
	yzt := ir.New(ir.Int8)
	yzt.I8()[0] = yz
	yzn := b.Init("yz", yzt)
	xd := b.Op("DequantizeLinear", []string{b.Op("QuantizeLinear", []string{x, s, z}), s, z})
	wd := b.Op("DequantizeLinear", []string{wq, ws}, irtest.Int("axis", 0))
	bd := b.Op("DequantizeLinear", []string{bq, bs})
	y := b.Op("Relu", []string{b.Op("Conv", []string{xd, wd, bd})})
	b.Output(b.Op("QuantizeLinear", []string{y, ys, yzn}))
	return b.G
}

// TestFuseQDQConv checks the rewrite on a hand-built QDQ Conv, and that it does not fire when the Relu is not
// redundant (the output zero point is above qmin, so Relu's clamp at 0 would be lost).
func TestFuseQDQConv(t *testing.T) {
	for _, c := range []struct {
		name  string
		yz    int8
		fused bool
	}{{"relu folded into saturation", -128, true}, {"relu not redundant", 0, false}} {
		t.Run(c.name, func(t *testing.T) {
			g := qdqConvGraph(c.yz)
			if err := ir.InferGraph(g, map[string]int64{"": 13}); err != nil {
				t.Fatal(err)
			}
			n, err := runPass(g, map[string]int64{"": 13}, nil, fuseQDQConv)
			if err != nil {
				t.Fatal(err)
			}
			ops := irtest.OpCount(g)
			if c.fused != (n == 1) || c.fused != (ops["QLinearConv"] == 1 && ops["Conv"] == 0 && ops["Relu"] == 0) {
				t.Errorf("rewrites %d, ops %v, want fused=%v", n, ops, c.fused)
			}
			if err := g.Validate(); err != nil {
				t.Error(err)
			}
		})
	}
}
