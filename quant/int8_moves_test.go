package quant

import (
	"testing"

	"github.com/hone-ml/hone/internal/irtest"
	"github.com/hone-ml/hone/ir"
	"github.com/hone-ml/hone/runtime"
)

// TestMoveInt8 checks that DQ → MaxPool → Flatten → Q with one scale and zero point becomes MaxPool → Flatten on
// the integers, computing the same integers (the reference is the original graph run as written), and that the
// rewrite does not fire when Q's scale differs or when another node reads the float value inside the chain.
func TestMoveInt8(t *testing.T) {
	for _, c := range []struct {
		name       string
		otherScale bool
		sideRead   bool
		moved      bool
	}{{"same params", false, false, true}, {"other scale", true, false, false}, {"float value read", false, true, false}} {
		t.Run(c.name, func(t *testing.T) {
			b := irtest.New("m")
			x := b.Input("x", ir.Float32, 1, 2, 6, 6)
			zp := ir.New(ir.Int8)
			zp.I8()[0] = -10
			s, z := b.Init("s", ir.Scalar(0.05)), b.Init("z", zp)
			s2 := s
			if c.otherScale {
				s2 = b.Init("s2", ir.Scalar(0.07))
			}
			d := b.Op("DequantizeLinear", []string{b.Op("QuantizeLinear", []string{x, s, z}), s, z})
			p := b.Op("MaxPool", []string{d}, irtest.Ints("kernel_shape", 2, 2), irtest.Ints("strides", 2, 2))
			f := b.Op("Flatten", []string{p})
			y := b.Op("QuantizeLinear", []string{f, s2, z})
			b.Output(y)
			if c.sideRead {
				b.Output(b.Op("Relu", []string{p}))
			}
			m := b.Model(13)
			in := map[string]*ir.Tensor{"x": irtest.Rand(3, 1, 2, 6, 6)}
			want := run(t, m, in)[y]
			moveInt8(m.Graph)
			m.Graph.RemoveUnused()
			ops := irtest.OpCount(m.Graph)
			if got := ops["QuantizeLinear"] == 1 && ops["DequantizeLinear"] == 0; got != c.moved {
				t.Fatalf("ops %v, want moved=%v", ops, c.moved)
			}
			if err := m.Graph.Validate(); err != nil {
				t.Fatal(err)
			}
			got := run(t, m, in)[y]
			if got.DType != ir.Int8 || string(got.Bytes()) != string(want.Bytes()) {
				t.Errorf("integers differ after the rewrite: %v vs %v", got.I8(), want.I8())
			}
		})
	}
}

func run(t *testing.T, m *ir.Model, in map[string]*ir.Tensor) map[string]*ir.Tensor {
	t.Helper()
	p, err := runtime.Compile(m, runtime.Options{Threads: 1, NoOptimize: true})
	if err != nil {
		t.Fatal(err)
	}
	out, err := p.Run(in)
	if err != nil {
		t.Fatal(err)
	}
	return out
}
