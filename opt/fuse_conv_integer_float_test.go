package opt

import (
	"slices"
	"testing"

	"github.com/hone-ml/hone/internal/irtest"
	"github.com/hone-ml/hone/ir"
)

// convIntFloatGraph builds what ONNX Runtime's dynamic quantizer writes for a Conv with 3 output channels:
// DynamicQuantizeLinear(x) → ConvInteger(·, W uint8, x_zp, 128) → Cast(to) → Mul(·, scale) → Add(bias), the
// scale being Mul(x_scale, w_scale[3,1,1]) ("product"), x_scale alone ("scalar"), a per-channel constant
// ("channel"), or one along the last axis, which QConvFloat cannot express ("width"). noZP drops ConvInteger's
// zero points. The bias is bias's shape ([3, 1, 1] when nil; none when empty).
func convIntFloatGraph(form string, to ir.DType, noZP bool, bias []int) *ir.Graph {
	b := irtest.New("conv_int_float")
	x := b.Input("x", ir.Float32, 1, 2, 5, 3)
	q := b.OpN("DynamicQuantizeLinear", []string{x}, 3)
	w := ir.New(ir.Uint8, 3, 2, 3, 3)
	for i := range w.U8() {
		w.U8()[i] = uint8(128 + i%40 - 20)
	}
	zp := ir.New(ir.Uint8)
	zp.U8()[0] = 128
	in := []string{q[0], b.Init("wq", w), q[2], b.Init("wz", zp)}
	if noZP {
		in = in[:2]
	}
	prod := b.Op("ConvInteger", in, irtest.Ints("pads", 1, 1, 1, 1))
	cast := b.Op("Cast", []string{prod}, irtest.Int("to", int64(to)))
	var scale string
	switch form {
	case "product":
		scale = b.Op("Mul", []string{q[1], b.Init("ws", ir.FromFloat32([]int{3, 1, 1}, []float32{0.01, 0.02, 0.03}))})
	case "scalar":
		scale = q[1]
	case "channel":
		scale = b.Init("ws", ir.FromFloat32([]int{1, 3, 1, 1}, []float32{0.01, 0.02, 0.03}))
	case "width":
		scale = b.Init("ws", ir.FromFloat32([]int{1, 1, 1, 3}, []float32{0.01, 0.02, 0.03}))
	}
	y := b.Op("Mul", []string{cast, scale})
	if bias == nil {
		bias = []int{3, 1, 1}
	}
	if len(bias) > 0 {
		bt := ir.New(ir.Float32, bias...)
		for i := range bt.F32() {
			bt.F32()[i] = float32(i + 1)
		}
		y = b.Op("Add", []string{b.Init("bias", bt), y})
	}
	b.Output(y)
	return b.G
}

// TestFuseConvIntegerFloat checks that the chain becomes one QConvFloat (with x_scale, w_scale and both zero
// points in QLinearConv's order, constants where the chain had none, and the bias Add's constant as its float
// bias of one value per channel) for each scale and bias form the op can take, and is left alone when the Cast is
// not to float32 or the scale runs along another axis than the channels; a bias that is not per channel stays
// an Add after the fused op.
func TestFuseConvIntegerFloat(t *testing.T) {
	for _, c := range []struct {
		name    string
		form    string
		to      ir.DType
		noZP    bool
		bias    []int
		fused   bool
		addLeft bool
	}{
		{"x_scale·w_scale", "product", ir.Float32, false, nil, true, false},
		{"x_scale alone", "scalar", ir.Float32, false, nil, true, false},
		{"per-channel constant", "channel", ir.Float32, false, nil, true, false},
		{"no zero points", "product", ir.Float32, true, nil, true, false},
		{"bias [1, 3, 1, 1]", "product", ir.Float32, false, []int{1, 3, 1, 1}, true, false},
		{"one bias", "product", ir.Float32, false, []int{1}, true, false},
		{"no bias", "product", ir.Float32, false, []int{}, true, false},
		{"bias along the width", "product", ir.Float32, false, []int{1, 1, 1, 3}, true, true},
		{"bias broadcasting the batch", "product", ir.Float32, false, []int{2, 3, 1, 1}, true, true},
		{"scale along the width", "width", ir.Float32, false, nil, false, true},
		{"cast to double", "product", ir.Float64, false, nil, false, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			g := convIntFloatGraph(c.form, c.to, c.noZP, c.bias)
			if err := ir.InferGraph(g, map[string]int64{"": 13}); err != nil {
				t.Fatal(err)
			}
			n, err := runPass(g, map[string]int64{"": 13}, nil, fuseConvIntegerFloat)
			if err != nil {
				t.Fatal(err)
			}
			ops := irtest.OpCount(g)
			fused := n == 1 && ops[ir.OpQConvFloat] == 1 && ops["ConvInteger"] == 0 && ops["Cast"] == 0
			if fused != c.fused || (!c.fused && n != 0) || (ops["Add"] == 1) != c.addLeft {
				t.Fatalf("rewrites %d, ops %v, want fused=%v, Add left=%v", n, ops, c.fused, c.addLeft)
			}
			if err := g.Validate(); err != nil {
				t.Error(err)
			}
			if !c.fused {
				return
			}
			for _, nd := range g.Nodes {
				if nd.OpType != ir.OpQConvFloat {
					continue
				}
				want := 8 // x, w, no int32 bias, x_scale, x_zp, w_scale, w_zp, the float bias
				if c.addLeft || len(c.bias) == 0 && c.bias != nil {
					want = 7
				}
				if len(nd.Inputs) != want || nd.Inputs[0] == "" || nd.Inputs[2] != "" || nd.AttrInts("pads", nil) == nil {
					t.Fatalf("inputs %v, attrs %v: want x, w, no bias, x_scale, x_zp, w_scale, w_zp[, float bias] and the pads", nd.Inputs, nd.Attrs)
				}
				if want == 8 {
					fb := g.Initializers[nd.Inputs[7]]
					wantB := []float32{1, 2, 3}
					if len(c.bias) == 1 {
						wantB = []float32{1, 1, 1}
					}
					if fb == nil || fb.Rank() != 1 || !slices.Equal(fb.F32(), wantB) {
						t.Errorf("float bias %v, want %v", fb, wantB)
					}
				}
				for i, want := range map[int]ir.DType{3: ir.Float32, 4: ir.Uint8, 5: ir.Float32, 6: ir.Uint8} {
					if vt, ok := g.TypeOfValue(nd.Inputs[i]); !ok || vt.DType != want {
						t.Errorf("input %d (%s): %v, want %s", i, nd.Inputs[i], vt, want)
					}
				}
				if ws := g.Initializers[nd.Inputs[5]]; c.form == "channel" && (ws == nil || ws.Len() != 3) {
					t.Errorf("w_scale %v: want the 3 channel scales", ws)
				}
			}
		})
	}
}
