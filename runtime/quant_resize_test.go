package runtime

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/hone-ml/hone/internal/irtest"
	"github.com/hone-ml/hone/ir"
)

// TestQResizeNearestFusion compiles DQ → Resize(nearest) → Q with the Q on the input's own parameters: the
// optimizer must leave one Resize on the integers (no DequantizeLinear) with the chain's output exactly, for a
// 2×, 4× and 8× upsamples (rows copied, bytes repeated), non-integer scales and sizes, and each coordinate and rounding mode the byte path
// serves. A linear Resize must stay float.
func TestQResizeNearestFusion(t *testing.T) {
	r := rand.New(rand.NewPCG(13, 14))
	for i, c := range []struct {
		in          []int64
		scales      []float32
		sizes       []int64
		coord, near string
		mode        string
	}{
		{[]int64{1, 5, 7, 9}, []float32{1, 1, 2, 2}, nil, "asymmetric", "floor", "nearest"},
		{[]int64{2, 3, 5, 6}, []float32{1, 1, 4, 4}, nil, "asymmetric", "floor", "nearest"},
		{[]int64{1, 3, 3, 5}, []float32{1, 1, 8, 8}, nil, "asymmetric", "floor", "nearest"},
		{[]int64{2, 3, 6, 5}, []float32{1, 1, 1.7, 0.6}, nil, "half_pixel", "round_prefer_floor", "nearest"},
		{[]int64{1, 2, 5, 4}, nil, []int64{1, 2, 9, 11}, "align_corners", "round_prefer_ceil", "nearest"},
		{[]int64{3, 8, 8}, []float32{1, 2, 1}, nil, "pytorch_half_pixel", "ceil", "nearest"},
		{[]int64{1, 2, 4, 4}, []float32{1, 1, 2, 2}, nil, "asymmetric", "floor", "linear"},
	} {
		t.Run(fmt.Sprint(i, c.mode, c.coord), func(t *testing.T) {
			dt := []ir.DType{ir.Int8, ir.Uint8}[i%2]
			p := qParam(r, dt)
			b := irtest.New("resize")
			x := b.Input("x", dt, c.in...)
			s, z := b.Init("s", p[0]), b.Init("z", p[1])
			in := []string{b.Op("DequantizeLinear", []string{x, s, z}), b.Init("roi", ir.New(ir.Float32, 0))}
			if c.scales != nil {
				in = append(in, b.Init("scales", ir.FromFloat32([]int{len(c.scales)}, c.scales)))
			} else {
				in = append(in, b.Init("scales", ir.New(ir.Float32, 0)), b.Init("sizes", ir.FromInt64([]int{len(c.sizes)}, c.sizes)))
			}
			y := b.Op("Resize", in, nnAStr("mode", c.mode), nnAStr("coordinate_transformation_mode", c.coord), nnAStr("nearest_mode", c.near))
			b.Output(b.Op("QuantizeLinear", []string{y, s, z}))
			m := &ir.Model{Graph: b.G, Opsets: []ir.OpsetImport{{Domain: "", Version: 13}}}
			shape := make([]int, len(c.in))
			for j, d := range c.in {
				shape[j] = int(d)
			}
			feeds := map[string]*ir.Tensor{"x": qRandInt(r, dt, shape...)}
			sim, fused := qCompileBoth(t, m, 2, 2)
			ops := irtest.OpCount(fused.Graph)
			if want := c.mode == "nearest"; (ops["Resize"] == 1 && ops["DequantizeLinear"] == 0 && ops["QuantizeLinear"] == 0) != want {
				t.Fatalf("compiled ops %v, want fused=%v", ops, want)
			}
			want, got := qRunBoth(t, sim, fused, feeds)
			gy, wy := got[b.G.Outputs[0].Name], want[b.G.Outputs[0].Name]
			if fmt.Sprint(gy.Shape) != fmt.Sprint(wy.Shape) || fmt.Sprint(gy.Float64s()) != fmt.Sprint(wy.Float64s()) {
				t.Fatalf("fused %v %v, chain %v %v", gy.Shape, gy.Float64s(), wy.Shape, wy.Float64s())
			}
		})
	}
}
