package runtime

import (
	"math"
	"testing"

	"github.com/hone-ml/hone/internal/irtest"
	"github.com/hone-ml/hone/ir"
)

func halfTensor(shape []int, v []float32) *ir.Tensor { return tensor16(ir.Float16, shape, v) }

// tensor16 rounds v to the 16-bit float type dt.
func tensor16(dt ir.DType, shape []int, v []float32) *ir.Tensor {
	t := ir.New(dt, shape...)
	for i, x := range v {
		if dt == ir.BFloat16 {
			t.Bits16()[i] = ir.FloatToBFloat16(x)
		} else {
			t.Bits16()[i] = ir.FloatToHalf(x)
		}
	}
	return t
}

// TestWidenHalf compiles a float16 and a bfloat16 graph (MatMul with a 16-bit weight, Add of a 16-bit Constant,
// Relu, a Cast to the 16-bit type) and checks the widened plan: no 16-bit initializer or Cast to the 16-bit type is
// left inside, the output keeps its type, and each value equals the 16-bit rounding of the exact result computed in
// float64 from the 16-bit inputs, within one step of the type (2⁻¹⁰ or 2⁻⁷ relative; the float32 accumulation adds
// far less than that).
func TestWidenHalf(t *testing.T) {
	for _, dt := range []ir.DType{ir.Float16, ir.BFloat16} {
		t.Run(dt.String(), func(t *testing.T) {
			b := irtest.New("h")
			x := b.Input("x", dt, 3, 5)
			wv := irtest.Rand(1, 5, 4).F32()
			w := b.Init("w", tensor16(dt, []int{5, 4}, wv))
			cv := []float32{0.5, -0.25, 1.5, -3}
			c := b.Op("Constant", nil, irtest.TensorAttr("value", tensor16(dt, []int{4}, cv)))
			y := b.Op("Cast", []string{b.Op("Relu", []string{b.Op("Add", []string{b.Op("MatMul", []string{x, w}), c})})},
				irtest.Int("to", int64(dt)))
			b.Output(y)
			b.G.Outputs[0].Type = irtest.Type(dt, 3, 4)
			m := b.Model(17)
			xv := irtest.Rand(2, 3, 5).F32()
			p, err := Compile(m, Options{Threads: 1})
			if err != nil {
				t.Fatal(err)
			}
			for name, init := range p.Graph.Initializers {
				if init.DType == dt {
					t.Errorf("initializer %q is still %s in the plan", name, dt)
				}
			}
			casts := 0
			for _, n := range p.Graph.Nodes {
				if n.OpType == "Cast" && n.AttrInt("to", 0) == int64(dt) {
					casts++
				}
			}
			if casts != 1 {
				t.Errorf("%d Casts to %s in the plan, want only the one before the output", casts, dt)
			}
			out, err := p.Run(map[string]*ir.Tensor{"x": tensor16(dt, []int{3, 5}, xv)})
			if err != nil {
				t.Fatal(err)
			}
			got := out[y]
			if got.DType != dt {
				t.Fatalf("output is %s, want %s", got.DType, dt)
			}
			to32, from32, ulp := ir.HalfToFloat, ir.FloatToHalf, 1024.0
			if dt == ir.BFloat16 {
				to32, from32, ulp = ir.BFloat16ToFloat, ir.FloatToBFloat16, 128
			}
			h := func(v float32) float64 { return float64(to32(from32(v))) }
			for i := 0; i < 3; i++ {
				for j := 0; j < 4; j++ {
					s := h(cv[j])
					for k := 0; k < 5; k++ {
						s += h(xv[i*5+k]) * h(wv[k*4+j])
					}
					want := h(float32(math.Max(s, 0)))
					g := float64(to32(got.Bits16()[i*4+j]))
					if step := math.Max(math.Abs(want), 6.1e-5) / ulp; math.Abs(g-want) > step {
						t.Errorf("y[%d,%d] = %g, want %g", i, j, g, want)
					}
				}
			}
		})
	}
}

// TestWidenHalfLeavesOthers checks that graphs without float16 and graphs with subgraphs are left as they are.
func TestWidenHalfLeavesOthers(t *testing.T) {
	b := irtest.New("f")
	b.Output(b.Op("Relu", []string{b.Input("x", ir.Float32, 2)}))
	if widenHalf(b.G, map[string]int64{"": 17}) {
		t.Error("a float32 graph was rewritten")
	}
	body := irtest.New("body")
	body.Output(body.Op("Identity", []string{body.Init("k", halfTensor([]int{1}, []float32{1}))}))
	b = irtest.New("s")
	cond := b.Input("c", ir.Bool)
	b.Output(b.Op("If", []string{cond}, irtest.GraphAttr("then_branch", body.G), irtest.GraphAttr("else_branch", body.G)),
		b.Op("Relu", []string{b.Input("x", ir.Float16, 2)}))
	if widenHalf(b.G, map[string]int64{"": 17}) || b.G.Inputs[1].Type.DType != ir.Float16 {
		t.Error("a graph with subgraphs was rewritten")
	}
}
