package quant

import (
	"math"
	"strings"
	"testing"

	"github.com/hone-ml/hone/internal/irtest"
	"github.com/hone-ml/hone/ir"
)

// TestEvaluate checks the measures against values worked out by hand: y = x against y = 2x (SQNR
// 10·log10(Σx²/Σx²) = 0 dB, cosine 1, same argmax) and against y = −x (SQNR 10·log10(1/4) = −6.02 dB,
// cosine −1, every argmax moved), with labels for accuracy.
func TestEvaluate(t *testing.T) {
	model := func(op string, k float32) *ir.Model {
		b := irtest.New("g")
		x := b.Input("x", ir.Float32, 1, 3)
		c := b.Init("k", ir.Scalar(k))
		b.Output(b.Op(op, []string{x, c}))
		return b.Model(13)
	}
	data := BatchSamples{"x": ir.FromFloat32([]int{2, 3}, []float32{1, 2, 3, 3, 1, 2})}
	labels := []int64{2, 1} // the float model gets the first right, the second wrong
	for _, tc := range []struct {
		name                 string
		q                    *ir.Model
		top1, sqnr, cos, acc float64
	}{
		{"same", model("Mul", 1), 1, math.Inf(1), 1, 0.5},
		{"double", model("Mul", 2), 1, 0, 1, 0.5},
		{"negated", model("Mul", -1), 0, 10 * math.Log10(0.25), -1, 0.5}, // argmaxes 0 and 1: the second is right
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := Evaluate(model("Mul", 1), tc.q, data, labels)
			if err != nil {
				t.Fatal(err)
			}
			if r.Samples != 2 || r.Top1 != tc.top1 || !(r.SQNR == tc.sqnr || math.Abs(r.SQNR-tc.sqnr) < 1e-9) ||
				math.Abs(r.Cosine-tc.cos) > 1e-12 || !r.Labeled || r.AccFloat != 0.5 || r.AccQuant != tc.acc {
				t.Errorf("got %+v", r)
			}
		})
	}
	if _, err := Evaluate(model("Mul", 1), model("Mul", 1), data, []int64{1}); err == nil {
		t.Error("1 label for 2 samples accepted")
	}
	if _, err := Evaluate(model("Mul", 1), model("Mul", 1), BatchSamples{}, nil); err == nil {
		t.Error("empty evaluation set accepted")
	}
}

// TestGuardMNIST runs the accuracy guard on the MNIST CNN. Without labels the bound is on top-1 agreement with
// the float model, set to zero disagreements on 500 held-out digits (full int8 changes a few), so the guard must
// keep layers float; the returned model is then measured again, independently of the guard's own numbers. With
// labels the bound is the 0.3 points of top-1 accuracy.
func TestGuardMNIST(t *testing.T) {
	m, x, y := mnist(t)
	calib := BatchSamples{"input": rows(x, 200)}
	eval := BatchSamples{"input": rows(x, 500)}
	if _, _, err := Static(m, calib, StaticConfig{MaxAccuracyDrop: 0.01}); err == nil || !strings.Contains(err.Error(), "--eval") {
		t.Errorf("--max-accuracy-drop without data: %v", err)
	}
	full, _, err := Static(m, calib, StaticConfig{})
	if err != nil {
		t.Fatal(err)
	}
	r0, err := Evaluate(m, full, eval, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("all int8: %s", r0)
	if r0.Drop() == 0 {
		t.Fatal("full int8 agrees on every digit: the unlabeled case would not exercise the guard")
	}
	var log []string
	q, rep, err := Static(m, calib, StaticConfig{Eval: eval, MaxAccuracyDrop: 1e-9, Guard: func(s string) { log = append(log, s) }})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("guard:\n%s\n%v", strings.Join(log, "\n"), rep.Notes)
	r, err := Evaluate(m, q, eval, nil)
	if err != nil {
		t.Fatal(err)
	}
	if r.Drop() != 0 || rep.Eval == nil || rep.Eval.Top1 != r.Top1 || len(rep.GuardFloat) == 0 || len(rep.Quantized) == 0 {
		t.Errorf("guarded model: %s; report %+v", r, rep)
	}
	kept := 0
	for _, k := range rep.KeptFloat {
		if strings.HasPrefix(k.Reason, "accuracy guard") {
			kept++
		}
	}
	if kept != len(rep.GuardFloat) {
		t.Errorf("%d guard entries in KeptFloat, %d in GuardFloat", kept, len(rep.GuardFloat))
	}

	// With labels the bound is the 0.3 points of top-1 accuracy; full int8 drops 0.4 on these 500 digits.
	labels := y[:500]
	q, rep, err = Static(m, calib, StaticConfig{Eval: eval, Labels: labels, MaxAccuracyDrop: 0.003})
	if err != nil {
		t.Fatal(err)
	}
	r, err = Evaluate(m, q, eval, labels)
	if err != nil {
		t.Fatal(err)
	}
	if !r.Labeled || r.Drop() > 0.003 || rep.Eval == nil || *rep.Eval != r {
		t.Errorf("labeled: %s; report %v", r, rep.Eval)
	}
	t.Logf("labeled, kept float %v: %v", rep.GuardFloat, rep.Notes)
	t.Logf("labeled: %s", rep.Eval)
}

// TestGuardWeightsInt8 checks what a layer the guard keeps with int8 weights computes: Conv → Relu → Gemm with both
// layers kept (emitKept with weightsInt8) must have no QuantizeLinear (activations float), read each weight through
// a DequantizeLinear of an int8 constant, and compute exactly the float model with its weights replaced by their
// per-channel symmetric int8 round trip, worked out here from ONNX's formulas (scale max|w|/127, round half to even;
// the layers are too narrow for the emitter's float16 scales).
func TestGuardWeightsInt8(t *testing.T) {
	b := irtest.New("wo")
	x := b.Input("x", ir.Float32, 1, 3, 6, 6)
	w1, w2 := irtest.Rand(1, 4, 3, 3, 3), irtest.Rand(2, 5, 64)
	y := b.Op("Conv", []string{x, b.Init("w1", w1), b.Init("b1", irtest.Rand(3, 4))})
	y = b.Op("Relu", []string{y})
	y = b.Op("Reshape", []string{y, b.Init("shape", ir.FromInt64([]int{2}, []int64{1, 64}))})
	b.Output(b.Op("Gemm", []string{y, b.Init("w2", w2), b.Init("b2", irtest.Rand(4, 5))}, irtest.Int("transB", 1)))
	m := b.Model(13)
	calib := BatchSamples{"x": irtest.Rand(5, 4, 3, 6, 6)}
	sp, err := prepareStatic(m, calib, StaticConfig{WeightRounding: RoundNearest})
	if err != nil {
		t.Fatal(err)
	}
	all := map[int]string{}
	for _, i := range sp.cand {
		all[i] = "kept"
	}
	q, _, err := sp.emitKept(all, true)
	if err != nil {
		t.Fatal(err)
	}
	ops := irtest.OpCount(q.Graph)
	if ops["QuantizeLinear"] != 0 || ops["DequantizeLinear"] != 2 {
		t.Fatalf("ops %v: want 2 DequantizeLinear (the weights) and no QuantizeLinear", ops)
	}
	roundTrip := func(w *ir.Tensor) *ir.Tensor {
		out := w.Clone()
		rows := w.Shape[0]
		inner := w.Len() / rows
		for r := 0; r < rows; r++ {
			row := out.F32()[r*inner : (r+1)*inner]
			var hi float64
			for _, v := range row {
				hi = math.Max(hi, math.Abs(float64(v)))
			}
			s := float32(hi / 127)
			for i, v := range row {
				row[i] = float32(math.RoundToEven(float64(v/s))) * s
			}
		}
		return out
	}
	ref := m.Clone()
	ref.Graph.SetInitializer("w1", roundTrip(w1))
	ref.Graph.SetInitializer("w2", roundTrip(w2))
	in, _ := calib.Sample(0)
	got := runHone(t, q, in)[q.Graph.Outputs[0].Name].F32()
	want := runHone(t, ref, in)[ref.Graph.Outputs[0].Name].F32()
	for i := range want {
		if math.Abs(float64(got[i]-want[i])) > 1e-5*(1+math.Abs(float64(want[i]))) {
			t.Fatalf("output %d: %g, float model with round-tripped weights %g", i, got[i], want[i])
		}
	}
}
