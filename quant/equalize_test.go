package quant

import (
	"math"
	"slices"
	"testing"

	"github.com/hone-ml/hone/internal/irtest"
	"github.com/hone-ml/hone/ir"
	"github.com/hone-ml/hone/runtime"
)

// eqGraph is pointwise Conv → act → depthwise Conv → Relu → pointwise Conv (grouped in two), with channel ranges
// spread over three orders of magnitude so equalization has something to move.
func eqGraph(act string) *ir.Model {
	b := irtest.New("eq")
	x := b.Input("x", ir.Float32, 1, 3, 6, 6)
	w1 := irtest.Rand(1, 8, 3, 1, 1)
	for i, v := range w1.F32() {
		w1.F32()[i] = v * float32(math.Pow(10, float64(i/3%8)/3-1))
	}
	y := b.Op("Conv", []string{x, b.Init("w1", w1), b.Init("b1", irtest.Rand(2, 8))})
	y = b.Op(act, []string{y})
	y = b.Op("Conv", []string{y, b.Init("w2", irtest.Rand(3, 8, 1, 3, 3)), b.Init("b2", irtest.Rand(4, 8))},
		irtest.Int("group", 8), irtest.Ints("pads", 1, 1, 1, 1))
	y = b.Op("Relu", []string{y})
	y = b.Op("Conv", []string{y, b.Init("w3", irtest.Rand(5, 4, 4, 1, 1))}, irtest.Int("group", 2))
	b.Output(y)
	return b.Model(13)
}

func maxRelDiff(a, b []float32) float64 {
	var d, s float64
	for i := range a {
		d = max(d, math.Abs(float64(a[i]-b[i])))
		s = max(s, math.Abs(float64(a[i])))
	}
	return d / s
}

// TestEqualizeKeepsFunction checks that cross-layer equalization leaves a float model's outputs as they were (to
// float32 rounding), that it balances the ranges it should, and that it leaves a HardSigmoid-joined pair alone.
func TestEqualizeKeepsFunction(t *testing.T) {
	for _, tc := range []struct {
		act   string
		pairs int
	}{{"Relu", 2}, {"Identity", 2}, {"LeakyRelu", 2}, {"HardSigmoid", 1}} {
		t.Run(tc.act, func(t *testing.T) {
			m := eqGraph(tc.act)
			in := map[string]*ir.Tensor{"x": irtest.Rand(9, 1, 3, 6, 6)}
			want := runHone(t, m, in)[m.Graph.Outputs[0].Name].F32()
			e := m.Clone()
			if n := equalize(e.Graph); n != tc.pairs {
				t.Fatalf("%d pairs, want %d", n, tc.pairs)
			}
			got := runHone(t, e, in)[e.Graph.Outputs[0].Name].F32()
			if d := maxRelDiff(want, got); d > 1e-5 {
				t.Errorf("outputs moved by %.3g of their range", d)
			}
			if m.Graph.Initializers["w1"].F32()[0] != eqGraph(tc.act).Graph.Initializers["w1"].F32()[0] {
				t.Error("the source model's weights were changed")
			}
			// w1's per-channel ranges spread ~1000×; after equalization with w2 they must be closer.
			spread := func(w *ir.Tensor) float64 {
				lo, hi := math.Inf(1), 0.0
				for c := 0; c < w.Shape[0]; c++ {
					var r float64
					for _, v := range w.F32()[c*3 : (c+1)*3] {
						r = max(r, math.Abs(float64(v)))
					}
					lo, hi = min(lo, r), max(hi, r)
				}
				return hi / lo
			}
			before, after := spread(m.Graph.Initializers["w1"]), spread(e.Graph.Initializers["w1"])
			if tc.pairs == 2 && after > before/10 {
				t.Errorf("w1 channel range spread %.1f → %.1f, want it reduced", before, after)
			}
			if tc.pairs == 1 && after != before {
				t.Errorf("w1 changed through %s (not positively homogeneous)", tc.act)
			}
		})
	}
}

// TestEqualizeOCR checks that equalization keeps the PP-OCR models' float outputs on rendered text (≤ 1e-5 of their
// range; det's 5e-5 is float32 rounding of the rescaled weights carried through its 62 convolutions, measured
// 1.3e-5) and logs how many pairs qualify in each as loaded (rec 2 of 38, det 14 of 62, cls 9 of 53 — HardSwish
// joins most of rec's pairs, and it is not positively homogeneous).
func TestEqualizeOCR(t *testing.T) {
	cases := ocrCases(t)
	for _, name := range []string{"det", "rec", "cls"} {
		c := cases[name]
		t.Run(name, func(t *testing.T) {
			m := c.load(t)
			e := m.Clone()
			n := equalize(e.Graph)
			convs := irtest.OpCount(e.Graph)["Conv"]
			t.Logf("%s: %d of %d Conv pairs qualify", name, n, convs)
			x, err := c.pre.Apply(c.eval[0])
			if err != nil {
				t.Fatal(err)
			}
			in := map[string]*ir.Tensor{"x": x}
			want := runHone(t, m, in)[m.Graph.Outputs[0].Name].F32()
			got := runHone(t, e, in)[e.Graph.Outputs[0].Name].F32()
			tol := 1e-5
			if name == "det" {
				tol = 5e-5
			}
			if d := maxRelDiff(want, got); d > tol {
				t.Errorf("outputs moved by %.3g of their range", d)
			}
		})
	}
}

// TestEqualizeDepthwise checks the activation-driven equalization of Conv → Relu → depthwise Conv: the float
// outputs stay as they were (to float32 rounding), the source model is untouched, and afterwards every channel of
// the depthwise input reaches the same largest |value| over the data (t_i = r_max/r_i applied exactly), where
// before they spread over three orders of magnitude. Through a HardSigmoid there is no pair to rescale.
func TestEqualizeDepthwise(t *testing.T) {
	data := BatchSamples{"x": irtest.Rand(7, 6, 3, 6, 6)}
	dwInput := func(m *ir.Model) []float64 { // per-channel largest |value| of the first Relu's output over data
		var first string
		for _, n := range m.Graph.Nodes {
			if n.OpType == "Relu" && first == "" {
				first = n.Outputs[0]
			}
		}
		p, err := runtime.Compile(m, runtime.Options{NoOptimize: true})
		if err != nil {
			t.Fatal(err)
		}
		r := make([]float64, 8)
		for i := 0; i < data.Len(); i++ {
			in, _ := data.Sample(i)
			if _, err := p.RunHook(in, func(n *ir.Node, _, outs []*ir.Tensor, _, _ int64) {
				if n.OpType != "Relu" || n.Outputs[0] != first {
					return
				}
				for k, v := range outs[0].F32() {
					r[k/36%8] = max(r[k/36%8], math.Abs(float64(v)))
				}
			}); err != nil {
				t.Fatal(err)
			}
		}
		return r
	}
	m := eqGraph("Relu")
	e := m.Clone()
	if n, err := equalizeDepthwise(e, data); err != nil || n != 1 {
		t.Fatalf("%d pairs (%v), want 1", n, err)
	}
	in, _ := data.Sample(0)
	want := runHone(t, m, in)[m.Graph.Outputs[0].Name].F32()
	if d := maxRelDiff(want, runHone(t, e, in)[e.Graph.Outputs[0].Name].F32()); d > 1e-5 {
		t.Errorf("outputs moved by %.3g of their range", d)
	}
	if m.Graph.Initializers["w1"].F32()[0] != eqGraph("Relu").Graph.Initializers["w1"].F32()[0] {
		t.Error("the source model's weights were changed")
	}
	before, after := dwInput(m), dwInput(e)
	top := slices.Max(before)
	for c, r := range after {
		if before[c] > 0 && math.Abs(r-top) > 1e-5*top {
			t.Errorf("channel %d: |max| %.4g → %.4g, want %.4g (all channels at the widest's range); before %v", c, before[c], r, top, before)
		}
	}
	if n, err := equalizeDepthwise(eqGraph("HardSigmoid"), data); err != nil || n != 0 {
		t.Errorf("through HardSigmoid: %d pairs (%v), want 0", n, err)
	}
}
