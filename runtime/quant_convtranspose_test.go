package runtime

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/hone-ml/hone/internal/irtest"
	"github.com/hone-ml/hone/ir"
	"github.com/hone-ml/hone/kernels"
)

// TestQConvTransposeExact checks QConvTranspose against its definition computed here from exact integer sums,
// S = Σ_c (x − zx)·(w − zw) + B for each output pixel's one input pixel and tap: requantized with QRequantize
// (multiplier x_scale·w_scale/y_scale in float32) for int8 and uint8 outputs, and float32(S)·(x_scale·w_scale) bit
// for bit for the float output. Cases: 2×2 (two interleaved taps), 3×1 and 1×3 kernels, channel counts that are
// not multiples of 4, odd widths, batches, per-tensor and per-channel weights, with and without bias.
func TestQConvTransposeExact(t *testing.T) {
	r := rand.New(rand.NewPCG(41, 42))
	for _, c := range []struct {
		n, ch, h, w, m, kh, kw int
		xdt, ydt               ir.DType // ydt Float32: no y_scale
		perChannel, bias       bool
	}{
		{1, 24, 5, 7, 6, 2, 2, ir.Int8, ir.Int8, true, true},
		{2, 5, 3, 9, 3, 2, 2, ir.Uint8, ir.Uint8, false, false},
		{1, 8, 4, 4, 1, 2, 2, ir.Int8, ir.Float32, true, true},
		{1, 6, 3, 5, 4, 3, 1, ir.Int8, ir.Uint8, true, true},
		{1, 4, 2, 11, 2, 1, 3, ir.Uint8, ir.Float32, false, true},
		// Several bands of input rows (qConvBandBytes), as det's 24→24 and 24→1 upsamplings have them.
		{1, 24, 120, 50, 24, 2, 2, ir.Int8, ir.Int8, true, true},
		{1, 24, 120, 300, 1, 2, 2, ir.Int8, ir.Float32, true, true},
	} {
		t.Run(fmt.Sprintf("%dx%dx%dx%d_to%d_k%dx%d_%s_%s", c.n, c.ch, c.h, c.w, c.m, c.kh, c.kw, c.xdt, c.ydt), func(t *testing.T) {
			x, w := qRandInt(r, c.xdt, c.n, c.ch, c.h, c.w), qRandInt(r, ir.Int8, c.ch, c.m, c.kh, c.kw)
			zx := qRandInt(r, c.xdt)
			xs := float32(0.01 + 0.02*r.Float64())
			nw := 1
			if c.perChannel {
				nw = c.m
			}
			ws := make([]float32, nw)
			for i := range ws {
				ws[i] = float32(0.002 + 0.01*r.Float64())
			}
			bias := make([]int32, c.m)
			consts := map[string]*ir.Tensor{"w": w, "xs": ir.Scalar(xs), "zx": zx, "ws": ir.FromFloat32([]int{nw}, ws), "zw": ir.New(ir.Int8, nw)}
			in := []string{"x", "w", "", "xs", "zx", "ws", "zw"}
			if c.bias {
				for i := range bias {
					bias[i] = int32(r.IntN(4000) - 2000)
				}
				consts["b"], in[2] = ir.FromInt32([]int{c.m}, bias), "b"
			}
			ys, zy := float32(0.05), int32(0)
			if c.ydt != ir.Float32 {
				yz := qRandInt(r, c.ydt)
				zy = int32(yz.Float64s()[0])
				consts["ys"], consts["yz"] = ir.Scalar(ys), yz
				in = append(in, "ys", "yz")
			}
			node := &ir.Node{Name: "n0", OpType: ir.OpQConvTranspose, Domain: ir.DomainHone, Inputs: in, Outputs: []string{"y"},
				Attrs: []*ir.Attr{nnAInts("strides", int64(c.kh), int64(c.kw))}}
			out, err := nnRun(13, node, consts, map[string]*ir.Tensor{"x": x})
			if err != nil {
				t.Fatal(err)
			}
			y := out["y"]
			OH, OW := c.h*c.kh, c.w*c.kw
			if fmt.Sprint(y.Shape) != fmt.Sprint([]int{c.n, c.m, OH, OW}) || y.DType != c.ydt {
				t.Fatalf("output %s, want %s[%d %d %d %d]", y, c.ydt, c.n, c.m, OH, OW)
			}
			xv, wv, zxv := x.Float64s(), w.Float64s(), zx.Float64s()[0]
			lo, hi := int32(-128), int32(127)
			if c.ydt == ir.Uint8 {
				lo, hi = 0, 255
			}
			got := y.Float64s()
			for b := 0; b < c.n; b++ {
				for m := 0; m < c.m; m++ {
					for oh := 0; oh < OH; oh++ {
						for ow := 0; ow < OW; ow++ {
							ih, a, iw, k := oh/c.kh, oh%c.kh, ow/c.kw, ow%c.kw
							s := bias[m]
							for ch := 0; ch < c.ch; ch++ {
								xi := xv[((b*c.ch+ch)*c.h+ih)*c.w+iw] - zxv
								s += int32(xi * wv[((ch*c.m+m)*c.kh+a)*c.kw+k])
							}
							scale := xs * ws[min(m, nw-1)]
							var want float64
							if c.ydt == ir.Float32 {
								want = float64(float32(s) * scale)
							} else {
								want = float64(kernels.QRequantize(s, scale/ys, zy, lo, hi))
							}
							if i := ((b*c.m+m)*OH+oh)*OW + ow; got[i] != want || math.IsNaN(got[i]) {
								t.Fatalf("y[%d,%d,%d,%d] = %v, want %v (sum %d)", b, m, oh, ow, got[i], want, s)
							}
						}
					}
				}
			}
		})
	}
}

// TestQDQConvTransposeFusion compiles DQ(x), DQ(w), DQ(b) → ConvTranspose → Relu → Q (PP-OCR det's first head
// upsampling as hone's quantizer writes it) and the same without the Relu and Q (its second, read by Sigmoid in
// float): the optimizer must turn each into one QConvTranspose, and the outputs must equal the op-by-op simulation
// to within one quantization step (the simulation rounds its float sums; the fused op's sums are exact), and
// within float32 rounding of each output for the float form. A ConvTranspose whose taps overlap stays as it is.
func TestQDQConvTransposeFusion(t *testing.T) {
	r := rand.New(rand.NewPCG(43, 44))
	for _, c := range []struct {
		name      string
		quantOut  bool
		k, stride int64
		fused     bool
	}{{"requantized", true, 2, 2, true}, {"float out", false, 2, 2, true}, {"overlapping taps", true, 3, 2, false}} {
		t.Run(c.name, func(t *testing.T) {
			const C, M = 8, 4
			b := irtest.New("qconvt")
			x := b.Input("x", ir.Int8, 1, C, 5, 6)
			xs, zx := b.Init("xs", ir.Scalar(0.02)), b.Init("zx", qInt8Scalar(-3))
			wsv := make([]float32, M)
			bsv := make([]float32, M)
			for i := range wsv {
				wsv[i] = float32(0.002 + 0.01*r.Float64())
				bsv[i] = float32(float64(float32(0.02)) * float64(wsv[i]))
			}
			wd := b.Op("DequantizeLinear", []string{b.Init("w", qRandInt(r, ir.Int8, C, M, int(c.k), int(c.k))), b.Init("ws", ir.FromFloat32([]int{M}, wsv))},
				irtest.Int("axis", 1))
			bias := make([]int32, M)
			for i := range bias {
				bias[i] = int32(r.IntN(2000) - 1000)
			}
			bd := b.Op("DequantizeLinear", []string{b.Init("b", ir.FromInt32([]int{M}, bias)), b.Init("bs", ir.FromFloat32([]int{M}, bsv))},
				irtest.Int("axis", 0))
			y := b.Op("ConvTranspose", []string{b.Op("DequantizeLinear", []string{x, xs, zx}), wd, bd}, irtest.Ints("strides", c.stride, c.stride))
			if c.quantOut {
				y = b.Op("QuantizeLinear", []string{b.Op("Relu", []string{y}), b.Init("ys", ir.Scalar(0.04)), b.Init("yz", qInt8Scalar(-128))})
			}
			b.Output(y)
			sim, fused := qCompileBoth(t, b.Model(13), 1, 1)
			ops := irtest.OpCount(fused.Graph)
			if (ops[ir.OpQConvTranspose] == 1 && ops["ConvTranspose"] == 0) != c.fused {
				t.Fatalf("compiled ops %v, want fused %v", ops, c.fused)
			}
			want, got := qRunBoth(t, sim, fused, map[string]*ir.Tensor{"x": qRandInt(r, ir.Int8, 1, C, 5, 6)})
			for name, wt := range want {
				wf, gf := wt.Float64s(), got[name].Float64s()
				differ := 0
				for i := range wf {
					d := math.Abs(wf[i] - gf[i])
					tol := 1e-5 * (1 + math.Abs(wf[i]))
					if c.quantOut {
						tol = 1
					}
					if d > tol {
						t.Fatalf("%s[%d] = %g, simulation %g", name, i, gf[i], wf[i])
					}
					if d != 0 {
						differ++
					}
				}
				if c.quantOut && differ > len(wf)/100 {
					t.Errorf("%d of %d integers differ from the simulation by a step", differ, len(wf))
				}
			}
		})
	}
}
