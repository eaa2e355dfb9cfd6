package runtime

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/hone-ml/hone/internal/irtest"
	"github.com/hone-ml/hone/ir"
)

// TestQConvFloatVsSimulation builds DQ(x), DQ(w), DQ(bias) → Conv with a float output (no Q after it), which the
// optimizer turns into QConvFloat, and compares it with the op-by-op simulation (dequantize, then a float
// convolution). The integer sums are exact, so the two differ only by float32 rounding: the simulation rounds
// every dequantized product and partial sum, QConvFloat rounds S + bias once and multiplies once. The bound is
// a few ulps of the sum of |terms| per output, taken as 1e-5 of the output's largest magnitude times the taps.
func TestQConvFloatVsSimulation(t *testing.T) {
	r := rand.New(rand.NewPCG(21, 22))
	for _, c := range []struct {
		cin, cout, k, group, stride int
		perChannel                  bool
	}{{8, 12, 3, 1, 1, true}, {3, 16, 3, 1, 2, false}, {16, 16, 3, 16, 1, true}, {12, 20, 1, 1, 1, true}} {
		t.Run(fmt.Sprintf("%dto%d_k%d_g%d_s%d", c.cin, c.cout, c.k, c.group, c.stride), func(t *testing.T) {
			b := irtest.New("qconvfloat")
			x := b.Input("x", ir.Int8, 2, int64(c.cin), 11, 13)
			xs, xz := b.Init("xs", ir.Scalar(0.021)), b.Init("xz", qInt8Scalar(-5))
			w := qRandInt(r, ir.Int8, c.cout, c.cin/c.group, c.k, c.k)
			wsv := make([]float32, c.cout)
			bsv := make([]float32, c.cout)
			bias := make([]int32, c.cout)
			for i := range wsv {
				wsv[i] = float32(0.002 + 0.01*r.Float64())
				if !c.perChannel {
					wsv[i] = 0.004
				}
				bsv[i] = float32(float64(float32(0.021)) * float64(wsv[i]))
				bias[i] = int32(r.IntN(20000) - 10000)
			}
			wsN := 1
			if c.perChannel {
				wsN = c.cout
			}
			ws := b.Init("ws", ir.FromFloat32([]int{wsN}, wsv[:wsN]))
			bs := b.Init("bs", ir.FromFloat32([]int{wsN}, bsv[:wsN]))
			var wattrs, battrs []*ir.Attr
			if c.perChannel {
				wattrs, battrs = []*ir.Attr{irtest.Int("axis", 0)}, []*ir.Attr{irtest.Int("axis", 0)}
			}
			xd := b.Op("DequantizeLinear", []string{x, xs, xz})
			wd := b.Op("DequantizeLinear", []string{b.Init("w", w), ws}, wattrs...)
			bd := b.Op("DequantizeLinear", []string{b.Init("b", ir.FromInt32([]int{c.cout}, bias)), bs}, battrs...)
			p := int64(c.k / 2)
			b.Output(b.Op("Conv", []string{xd, wd, bd}, irtest.Int("group", int64(c.group)), nnAInts("pads", p, p, p, p),
				nnAInts("strides", int64(c.stride), int64(c.stride))))
			m := b.Model(13)
			sim, fused := qCompileBoth(t, m, 1, 2)
			if ops := irtest.OpCount(fused.Graph); ops[ir.OpQConvFloat] != 1 || ops["Conv"] != 0 {
				t.Fatalf("compiled ops %v, want one QConvFloat", ops)
			}
			feeds := map[string]*ir.Tensor{"x": qRandInt(r, ir.Int8, 2, c.cin, 11, 13)}
			want, got := qRunBoth(t, sim, fused, feeds)
			for name, wt := range want {
				wf, gf := wt.F32(), got[name].F32()
				var peak float64
				for _, v := range wf {
					peak = max(peak, math.Abs(float64(v)))
				}
				tol := 1e-5 * peak * float64(c.k*c.k*c.cin/c.group)
				for i := range wf {
					if d := math.Abs(float64(wf[i] - gf[i])); d > tol {
						t.Fatalf("element %d = %g, simulation %g (|Δ| %g > %g)", i, gf[i], wf[i], d, tol)
					}
				}
			}
		})
	}
}

// TestQConvFloatDepthwiseExact checks QConvFloat's depthwise path (the float32 depthwise kernel on exact integer
// sums) bit for bit against its definition, float32(S + bias)·(x_scale·w_scale), with S from ConvInteger.
func TestQConvFloatDepthwiseExact(t *testing.T) {
	r := rand.New(rand.NewPCG(23, 24))
	for _, c := range []struct{ ch, k, stride, h, w int }{{24, 3, 1, 17, 40}, {16, 5, 2, 21, 19}} {
		t.Run(fmt.Sprintf("c%d_k%d_s%d", c.ch, c.k, c.stride), func(t *testing.T) {
			x, w := qRandInt(r, ir.Int8, 2, c.ch, c.h, c.w), qRandInt(r, ir.Int8, c.ch, 1, c.k, c.k)
			zx, zw := qInt8Scalar(-7), ir.New(ir.Int8, c.ch)
			wsv, bias := make([]float32, c.ch), make([]int32, c.ch)
			for i := range wsv {
				wsv[i], bias[i] = float32(0.001+0.01*r.Float64()), int32(r.IntN(20000)-10000)
			}
			xs := float32(0.019)
			p := int64(c.k / 2)
			attrs := []*ir.Attr{nnAInt("group", int64(c.ch)), nnAInts("pads", p, p, p, p), nnAInts("strides", int64(c.stride), int64(c.stride))}
			sums, err := nnRun(13, nnNode("ConvInteger", []string{"x", "w", "zx", "zw"}, []string{"y"}, attrs...),
				map[string]*ir.Tensor{"w": w, "zx": zx, "zw": zw}, map[string]*ir.Tensor{"x": x})
			if err != nil {
				t.Fatal(err)
			}
			n := &ir.Node{Name: "n0", OpType: ir.OpQConvFloat, Domain: ir.DomainHone, Inputs: []string{"x", "w", "b", "xs", "zx", "ws", "zw"},
				Outputs: []string{"y"}, Attrs: attrs}
			out, err := nnRun(13, n, map[string]*ir.Tensor{"w": w, "b": ir.FromInt32([]int{c.ch}, bias), "xs": ir.Scalar(xs), "zx": zx,
				"ws": ir.FromFloat32([]int{c.ch}, wsv), "zw": zw}, map[string]*ir.Tensor{"x": x})
			if err != nil {
				t.Fatal(err)
			}
			s, got := sums["y"].I32(), out["y"].F32()
			per := len(s) / (2 * c.ch)
			for i := range s {
				ch := i / per % c.ch
				if want := float32(s[i]+bias[ch]) * (xs * wsv[ch]); math.Float32bits(got[i]) != math.Float32bits(want) {
					t.Fatalf("element %d = %g, want %g", i, got[i], want)
				}
			}
		})
	}
}
