package opt

import (
	"testing"

	"github.com/hone-ml/hone/internal/irtest"
	"github.com/hone-ml/hone/ir"
)

// qdqBinaryGraph builds DQ(Q(a)), DQ(Q(b)) → op → Q; with perAxis, b's DQ has one scale per channel (axis 1),
// which QLinearAdd/QLinearMul cannot express.
func qdqBinaryGraph(op string, perAxis bool) *ir.Graph {
	b := irtest.New("qdq_binary")
	a := b.Input("a", ir.Float32, 1, 3, 4, 4)
	x := b.Input("b", ir.Float32, 1, 3, 1, 1)
	s := b.Init("s", ir.Scalar(0.05))
	z := b.Init("z", ir.New(ir.Int8))
	ad := b.Op("DequantizeLinear", []string{b.Op("QuantizeLinear", []string{a, s, z}), s, z})
	bs, bz := s, z
	if perAxis {
		bs = b.Init("bs", ir.FromFloat32([]int{3}, []float32{0.01, 0.02, 0.03}))
		bz = b.Init("bz", ir.New(ir.Int8, 3))
	}
	bd := b.Op("DequantizeLinear", []string{b.Op("QuantizeLinear", []string{x, bs, bz}, irtest.Int("axis", 1)), bs, bz}, irtest.Int("axis", 1))
	y := b.Op(op, []string{ad, bd})
	b.Output(b.Op("QuantizeLinear", []string{y, b.Init("ys", ir.Scalar(0.1)), z}))
	return b.G
}

// TestFuseQDQBinary checks that Add and Mul between per-tensor 8-bit operands become QLinearAdd/QLinearMul, and
// that a per-channel operand is left alone.
func TestFuseQDQBinary(t *testing.T) {
	for _, c := range []struct {
		name, op string
		perAxis  bool
		fused    bool
	}{{"add", "Add", false, true}, {"mul", "Mul", false, true}, {"per-channel operand", "Mul", true, false}} {
		t.Run(c.name, func(t *testing.T) {
			g := qdqBinaryGraph(c.op, c.perAxis)
			if err := ir.InferGraph(g, map[string]int64{"": 13}); err != nil {
				t.Fatal(err)
			}
			n, err := runPass(g, map[string]int64{"": 13}, nil, fuseQDQBinary)
			if err != nil {
				t.Fatal(err)
			}
			ops := irtest.OpCount(g)
			if c.fused != (n == 1) || c.fused != (ops["QLinear"+c.op] == 1 && ops[c.op] == 0 && ops["QuantizeLinear"] == 2) {
				t.Errorf("rewrites %d, ops %v, want fused=%v", n, ops, c.fused)
			}
			if err := g.Validate(); err != nil {
				t.Error(err)
			}
		})
	}
}
