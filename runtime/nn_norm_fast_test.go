package runtime

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/hone-ml/hone/ir"
	"github.com/hone-ml/hone/kernels"
)

// TestNNLayerNormRows checks LayerNormalization's three outputs over BERT-sized and odd rows, axes inside the
// shape, broadcast Scale and B, and no B. Y must be bit-identical to the unfused sequence it replaced
// (MulAddScalar(inv, −mean·inv), Mul(Scale), Add(B)) on the same statistics, and within float32 rounding of a
// float64 evaluation of the definition; Mean and InvStdDev within float32 rounding of float64 ones.
func TestNNLayerNormRows(t *testing.T) {
	cases := []struct {
		x           []int
		axis        int64
		scale, bias []int // nil bias: no B input
		offset, eps float32
	}{
		{x: []int{1, 128, 128}, axis: -1, scale: []int{128}, bias: []int{128}, eps: 1e-12},
		{x: []int{2, 7, 33}, axis: 2, scale: []int{33}, eps: 1e-5},
		{x: []int{2, 3, 4, 5}, axis: 1, scale: []int{4, 5}, bias: []int{5}, offset: 100, eps: 1e-5},
		{x: []int{64, 1003}, axis: -1, scale: []int{1003}, bias: []int{1003}, eps: 1e-5}, // parallel rows
		{x: []int{3, 1}, axis: 1, scale: []int{1}, bias: []int{1}, eps: 1e-5},            // variance 0
	}
	for _, c := range cases {
		t.Run(fmt.Sprintf("%v/axis=%d/bias=%v", c.x, c.axis, c.bias != nil), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(uint64(len(c.x)), uint64(c.axis+10)))
			fill := func(shape []int, lo, hi float32) *ir.Tensor {
				tt := ir.New(ir.Float32, shape...)
				for i := range tt.F32() {
					tt.F32()[i] = lo + (hi-lo)*rng.Float32()
				}
				return tt
			}
			x := fill(c.x, c.offset-3, c.offset+3)
			consts := map[string]*ir.Tensor{"s": fill(c.scale, -2, 2)}
			inputs := []string{"x", "s"}
			if c.bias != nil {
				consts["b"] = fill(c.bias, -1, 1)
				inputs = append(inputs, "b")
			}
			n := nnNode("LayerNormalization", inputs, []string{"y", "mean", "inv"}, nnAInt("axis", c.axis),
				nnAFloat("epsilon", c.eps))
			got, err := nnRun(17, n, consts, map[string]*ir.Tensor{"x": x})
			if err != nil {
				t.Fatal(err)
			}
			ax, _ := nnAxis(c.axis, len(c.x))
			inner := nnProd(c.x[ax:])
			scale, _ := nnBroadcastF32(consts["s"], c.x[ax:])
			var bias []float32
			if c.bias != nil {
				bias, _ = nnBroadcastF32(consts["b"], c.x[ax:])
			}
			xf, y, means, invs := x.F32(), got["y"].F32(), got["mean"].F32(), got["inv"].F32()
			unfused := make([]float32, inner)
			for r := range len(xf) / inner {
				row, yr := xf[r*inner:(r+1)*inner], y[r*inner:(r+1)*inner]
				mean, v := kernels.MeanVar(row)
				inv := 1 / math.Sqrt(v+float64(c.eps))
				kernels.MulAddScalar(unfused, row, float32(inv), float32(-mean*inv))
				kernels.Mul(unfused, unfused, scale)
				if bias != nil {
					kernels.Add(unfused, unfused, bias)
				}
				// float64 definition, from the sequential statistics
				var s, s2 float64
				for _, e := range row {
					s += float64(e)
				}
				m64 := s / float64(inner)
				for _, e := range row {
					s2 += (float64(e) - m64) * (float64(e) - m64)
				}
				inv64 := 1 / math.Sqrt(s2/float64(inner)+float64(c.eps))
				nnNear(t, fmt.Sprintf("row %d mean", r), means[r:r+1], []float32{float32(m64)}, 1e-7)
				nnNear(t, fmt.Sprintf("row %d inv", r), invs[r:r+1], []float32{float32(inv64)}, 1e-7)
				for i := range yr {
					if math.Float32bits(yr[i]) != math.Float32bits(unfused[i]) {
						t.Fatalf("row %d: y[%d] = %v, unfused sequence %v", r, i, yr[i], unfused[i])
					}
					// float32 rounds x·inv, −mean·inv, their sum, ·scale and + B: a few ulps of each magnitude.
					want := (float64(row[i])-m64)*inv64*float64(scale[i]) + float64(nnAt(bias, i))
					scaled := (math.Abs(float64(row[i]))+math.Abs(m64))*inv64*math.Abs(float64(scale[i])) +
						math.Abs(want)
					if math.Abs(float64(yr[i])-want) > 0x1p-21*scaled {
						t.Fatalf("row %d: y[%d] = %v, float64 definition %v", r, i, yr[i], want)
					}
				}
			}
		})
	}
}

// nnAt returns s[i], or 0 for a nil s.
func nnAt(s []float32, i int) float32 {
	if s == nil {
		return 0
	}
	return s[i]
}
