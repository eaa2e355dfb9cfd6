package opt

import (
	"testing"

	"github.com/hone-ml/hone/internal/irtest"
	"github.com/hone-ml/hone/ir"
)

// TestFoldQDQScale folds a bias scale written as Mul(s_in, s_w) into a constant equal to the float32 products,
// and leaves a Mul alone when its product is also read as data.
func TestFoldQDQScale(t *testing.T) {
	for _, c := range []struct {
		name      string
		dataRead  bool
		wantFolds int
	}{{"scale only", false, 1}, {"product also read as data", true, 0}} {
		t.Run(c.name, func(t *testing.T) {
			b := irtest.New("s")
			x := b.Input("x", ir.Float32, 3)
			sIn := b.Init("sin", ir.Scalar(0.0371))
			sW := b.Init("sw", ir.FromFloat32([]int{3}, []float32{0.013, 0.0021, 1.7e-5}))
			bq := b.Init("bq", ir.FromInt32([]int{3}, []int32{-500, 7, 123456}))
			s := b.Op("Mul", []string{sIn, sW})
			d := b.Op("DequantizeLinear", []string{bq, s}, irtest.Int("axis", 0))
			if c.dataRead {
				d = b.Op("Add", []string{d, s})
			}
			b.Output(b.Op("Add", []string{x, d}))
			n, err := runPass(b.G, map[string]int64{"": 13}, nil, foldQDQScale)
			if err != nil {
				t.Fatal(err)
			}
			if n != c.wantFolds || irtest.OpCount(b.G)["Mul"] != 1-c.wantFolds {
				t.Fatalf("folds %d, ops %v", n, irtest.OpCount(b.G))
			}
			if n == 0 {
				return
			}
			got := b.G.Initializers[s].F32()
			for i, w := range []float32{0.013, 0.0021, 1.7e-5} {
				// The reference is the float64 product rounded once, which the float32 product must equal.
				if want := float32(float64(float32(0.0371)) * float64(w)); got[i] != want {
					t.Errorf("scale[%d] = %g, want %g", i, got[i], want)
				}
			}
			if err := b.G.Validate(); err != nil {
				t.Error(err)
			}
		})
	}
}
