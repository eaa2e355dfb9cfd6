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
