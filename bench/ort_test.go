//go:build ort

package bench

import (
	"math"
	"path/filepath"
	"testing"

	"github.com/hone-ml/hone/internal/irtest"
	"github.com/hone-ml/hone/ir"
	"github.com/hone-ml/hone/onnx"
)

// TestORTInt8Backend runs a QDQ convolution (int8 activations, per-channel int8 weights, int32 bias) on hone and on
// both ONNX Runtime backends. With its int8 fusions on, ORT computes the integers hone's QLinearConv does, so the
// outputs are equal; on its default x86 path (float Conv between the DequantizeLinear and QuantizeLinear) a value
// may round one output step the other way.
func TestORTInt8Backend(t *testing.T) {
	b := irtest.New("qconv")
	x := b.Input("x", ir.Float32, 1, 4, 9, 9)
	i8 := func(v int8) *ir.Tensor { z := ir.New(ir.Int8); z.I8()[0] = v; return z }
	xs, ys := float32(0.02), float32(0.05)
	q := b.Op("QuantizeLinear", []string{x, b.Init("xs", ir.Scalar(xs)), b.Init("xz", i8(3))})
	dx := b.Op("DequantizeLinear", []string{q, "xs", "xz"})
	w, ws, bias := ir.New(ir.Int8, 8, 4, 3, 3), make([]float32, 8), ir.New(ir.Int32, 8)
	for i := range w.I8() {
		w.I8()[i] = int8((i*37)%255 - 127)
	}
	for c := range ws {
		ws[c] = 0.001 * float32(c+1)
		bias.I32()[c] = int32(c*41 - 150)
	}
	bs := make([]float32, 8)
	for c := range bs {
		bs[c] = xs * ws[c]
	}
	dw := b.Op("DequantizeLinear", []string{b.Init("w", w), b.Init("ws", ir.FromFloat32([]int{8}, ws))}, irtest.Int("axis", 0))
	db := b.Op("DequantizeLinear", []string{b.Init("b", bias), b.Init("bs", ir.FromFloat32([]int{8}, bs))}, irtest.Int("axis", 0))
	y := b.Op("Conv", []string{dx, dw, db}, irtest.Ints("pads", 1, 1, 1, 1))
	qy := b.Op("QuantizeLinear", []string{y, b.Init("ys", ir.Scalar(ys)), b.Init("yz", i8(-2))})
	b.Output(b.Op("DequantizeLinear", []string{qy, "ys", "yz"}))
	m := b.Model(13)
	m.Graph.Outputs[0].Type = irtest.Type(ir.Float32, 1, 8, 9, 9)
	path := filepath.Join(t.TempDir(), "qconv.onnx")
	if err := onnx.Save(m, path); err != nil {
		t.Fatal(err)
	}
	in := map[string]*ir.Tensor{"x": irtest.Rand(5, 1, 4, 9, 9)}
	out := map[string][]float32{}
	for _, backend := range []string{"hone", "ort", "ort-int8"} {
		s, err := Open(backend, path, 1)
		if err != nil {
			t.Fatal(err)
		}
		r, err := s.Run(in)
		s.Close()
		if err != nil {
			t.Fatalf("%s: %v", backend, err)
		}
		out[backend] = r[m.Graph.Outputs[0].Name].F32()
	}
	steps := func(a, b []float32) (differ int, worst float64) {
		for i := range a {
			if d := math.Abs(float64(a[i]-b[i])) / float64(ys); d > 1e-3 {
				differ++
				worst = max(worst, d)
			}
		}
		return differ, worst
	}
	d8, w8 := steps(out["hone"], out["ort-int8"])
	df, wf := steps(out["hone"], out["ort"])
	t.Logf("hone vs ort-int8: %d of %d values differ (max %.2g steps); vs ort: %d (max %.2g steps)", d8, len(out["hone"]), w8, df, wf)
	if d8 != 0 {
		t.Errorf("ort-int8 differs from hone in %d values", d8)
	}
	if wf > 1.001 {
		t.Errorf("ort differs from hone by %.2g output steps", wf)
	}
}
