package opt

import (
	"testing"

	"github.com/hone-ml/hone/internal/irtest"
	"github.com/hone-ml/hone/ir"
)

// TestFoldQDQCast folds the Casts hone's static quantizer writes in front of DequantizeLinear (float16 weight
// scales, int16 and int8 biases) into constants equal to the exact conversions, after which fold_qdq_scale folds
// the bias scale's Mul; it leaves a Cast alone when its result is also read as data, and a Cast that is not an
// exact widening.
func TestFoldQDQCast(t *testing.T) {
	half := []float32{0.013, 0.0021, 1.7e-5} // float16 rounds them; the fold must give the float16 values exactly
	for _, c := range []struct {
		name      string
		bias      *ir.Tensor
		to        ir.DType // the bias Cast's target
		dataRead  bool
		wantFolds int
	}{
		{"int16 bias", ir.FromInt32([]int{3}, []int32{-500, 7, 32767}), ir.Int32, false, 2},
		{"int8 bias", ir.FromInt32([]int{3}, []int32{-128, 7, 127}), ir.Int32, false, 2},
		{"scale also read as data", ir.FromInt32([]int{3}, []int32{-500, 7, 1}), ir.Int32, true, 1},
		{"not a widening", ir.FromInt32([]int{3}, []int32{-500, 7, 1}), ir.Int16, false, 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			b := irtest.New("s")
			x := b.Input("x", ir.Float32, 3)
			h := ir.New(ir.Float16, 3)
			for i, v := range half {
				h.Bits16()[i] = ir.FloatToHalf(v)
			}
			wq := b.Init("wq", ir.FromInt32([]int{3}, []int32{1, -2, 3}))
			sW := b.Op("Cast", []string{b.Init("swh", h)}, irtest.Int("to", int64(ir.Float32)))
			w := b.Op("DequantizeLinear", []string{wq, sW}, irtest.Int("axis", 0))
			narrow := ir.New(ir.Int16, 3)
			if c.name == "int8 bias" {
				narrow = ir.New(ir.Int8, 3)
			}
			for i, v := range c.bias.I32() {
				if narrow.DType == ir.Int8 {
					narrow.I8()[i] = int8(v)
				} else {
					narrow.I16()[i] = int16(v)
				}
			}
			bq := b.Op("Cast", []string{b.Init("bn", narrow)}, irtest.Int("to", int64(c.to)))
			s := b.Op("Mul", []string{b.Init("sin", ir.Scalar(0.0371)), sW})
			d := b.Op("DequantizeLinear", []string{bq, s}, irtest.Int("axis", 0))
			if c.dataRead {
				w = b.Op("Add", []string{w, sW})
			}
			b.Output(b.Op("Add", []string{b.Op("Add", []string{x, d}), w}))
			n, err := runPass(b.G, map[string]int64{"": 13}, nil, foldQDQCast)
			if err != nil {
				t.Fatal(err)
			}
			if n != c.wantFolds || irtest.OpCount(b.G)["Cast"] != 2-c.wantFolds {
				t.Fatalf("folds %d, ops %v", n, irtest.OpCount(b.G))
			}
			if err := b.G.Validate(); err != nil {
				t.Fatal(err)
			}
			if bt := b.G.Initializers[bq]; c.to == ir.Int32 {
				if bt == nil || bt.DType != ir.Int32 {
					t.Fatalf("bias not folded to int32: %v", bt)
				}
				for i, v := range c.bias.I32() {
					if bt.I32()[i] != v {
						t.Errorf("bias[%d] = %d, want %d", i, bt.I32()[i], v)
					}
				}
			} else if bt != nil {
				t.Errorf("Cast to %s folded", c.to)
			}
			st := b.G.Initializers[sW]
			if c.dataRead {
				if st != nil {
					t.Error("scale read as data folded")
				}
				return
			}
			for i, v := range half {
				if want := ir.HalfToFloat(ir.FloatToHalf(v)); st == nil || st.F32()[i] != want {
					t.Fatalf("scale %v, want [%d] = %g", st, i, want)
				}
			}
			// fold_qdq_scale now sees two constants and folds the bias scale's Mul.
			if n, err := runPass(b.G, map[string]int64{"": 13}, nil, foldQDQScale); err != nil || n != 1 {
				t.Errorf("fold_qdq_scale after the Cast folds: %d folds, %v", n, err)
			}
		})
	}
}
