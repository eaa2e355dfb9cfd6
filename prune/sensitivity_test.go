package prune

import (
	"encoding/json"
	"fmt"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/hone-ml/hone/internal/assets"
	"github.com/hone-ml/hone/ir"
)

// mnistEval scores on the embedded held-out digits and also returns the node of each PyTorch layer.
func mnistEval(t *testing.T, m *ir.Model) (Evaluate, int) {
	t.Helper()
	images, labels, err := assets.MNISTHeldOut()
	if err != nil {
		t.Fatal(err)
	}
	eval, err := Evaluator(m, EvalData{Inputs: map[string]*ir.Tensor{"": images}, Labels: labels, Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	return eval, len(labels)
}

// mnistNodes maps the fixture's PyTorch module names to the ONNX nodes.
var mnistNodes = map[string]string{
	"/features/features.0/Conv": "features.0", "/features/features.4/Conv": "features.4",
	"/fc1/Gemm": "fc1", "/fc2/Gemm": "fc2",
}

// TestSensitivityMatchesPyTorch sweeps every MNIST layer alone and checks each accuracy against PyTorch doing
// the same (scripts/fixtures/prune_mnist.py), for unstructured and structured pruning; for structured, fc2
// feeds the logits and must be skipped with a note.
func TestSensitivityMatchesPyTorch(t *testing.T) {
	raw, err := os.ReadFile("testdata/mnist_prune.json")
	if err != nil {
		t.Fatal(err)
	}
	var fx struct{ Sensitivity map[string]int }
	if err := json.Unmarshal(raw, &fx); err != nil {
		t.Fatal(err)
	}
	m := mnistModel(t)
	eval, n := mnistEval(t, m)
	for _, method := range []Method{MethodL1, MethodLn} {
		t.Run(string(method), func(t *testing.T) {
			sw, notes, err := Sensitivity(m, SensitivityConfig{Method: method, Amounts: []float64{0.3, 0.6, 0.9}, Norm: 2}, eval)
			if err != nil {
				t.Fatal(err)
			}
			want := 4
			if method == MethodLn {
				want = 3
				if len(notes) != 1 {
					t.Errorf("notes %q, want one for /fc2/Gemm", notes)
				}
			}
			if len(sw.Layers) != want {
				t.Fatalf("%d layers swept, want %d", len(sw.Layers), want)
			}
			if math.Abs(sw.Baseline-0.9825) > 1e-9 {
				t.Errorf("baseline %.4f, want PyTorch's 0.9825", sw.Baseline)
			}
			for _, l := range sw.Layers {
				for i, a := range sw.Amounts {
					key := fmt.Sprintf("%s/%s/%g", method, mnistNodes[l.Node], a)
					ref, ok := fx.Sensitivity[key]
					if !ok {
						t.Fatalf("fixture lacks %s", key)
					}
					if got := int(math.Round(l.Scores[i] * float64(n))); abs(got-ref) > 2 {
						t.Errorf("%s: hone %d correct, PyTorch %d", key, got, ref)
					}
					if l.FLOPsSaved[i] <= 0 || l.BytesSaved[i] <= 0 {
						t.Errorf("%s: saves %d FLOPs, %d bytes", key, l.FLOPsSaved[i], l.BytesSaved[i])
					}
				}
			}
			path := filepath.Join(t.TempDir(), "s.png")
			if err := sw.Plot(path); err != nil {
				t.Fatal(err)
			}
			f, err := os.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			if cfg, err := png.DecodeConfig(f); err != nil || cfg.Width < 300 {
				t.Errorf("plot is not a PNG of a sensible size: %v %v", cfg, err)
			}
		})
	}
}

// TestChoose checks the greedy budget on a hand-made sweep: layer a is free to 0.5 and costly after, b is
// cheap per FLOP; with 0.02 to spend the best plan is a at 0.5 and b at 0.6.
func TestChoose(t *testing.T) {
	sw := &Sweep{Method: MethodL1, Amounts: []float64{0.3, 0.5, 0.6}, Baseline: 0.9, Layers: []SweepLayer{
		{Node: "a", Scores: []float64{0.9, 0.9, 0.7}, FLOPsSaved: []int64{30, 50, 60}},
		{Node: "b", Scores: []float64{0.89, 0.885, 0.88}, FLOPsSaved: []int64{300, 500, 600}},
		{Node: "c", Scores: []float64{0.8, 0.7, 0.6}, FLOPsSaved: []int64{10, 20, 30}},
	}}
	for _, tc := range []struct {
		budget float64
		want   map[string]float64
	}{
		{0, map[string]float64{"a": 0.5}},
		{0.012, map[string]float64{"a": 0.5, "b": 0.3}},
		{0.02, map[string]float64{"a": 0.5, "b": 0.6}},
		{0.5, map[string]float64{"a": 0.5, "b": 0.6, "c": 0.6}}, // a to 0.6 would need 0.52
		{0.6, map[string]float64{"a": 0.6, "b": 0.6, "c": 0.6}},
	} {
		plan, steps := sw.Choose(tc.budget, ObjectiveFLOPs)
		got := map[string]float64{}
		drop := 0.0
		for _, c := range plan {
			got[c.Node] = c.Amount
			drop += c.Drop
		}
		if d := cmp.Diff(tc.want, got); d != "" {
			t.Errorf("budget %v: plan differs (-want +got):\n%s", tc.budget, d)
		}
		if drop > tc.budget+1e-9 {
			t.Errorf("budget %v: plan drops %v", tc.budget, drop)
		}
		if len(steps) < len(plan) {
			t.Errorf("budget %v: %d steps for %d choices", tc.budget, len(steps), len(plan))
		}
	}
}

// TestPlanBudget runs the whole --max-accuracy-drop path on MNIST: the combined model's measured drop must
// be within budget and it must remove something.
func TestPlanBudget(t *testing.T) {
	m := mnistModel(t)
	eval, _ := mnistEval(t, m)
	sw, _, err := Sensitivity(m, SensitivityConfig{Method: MethodL1, Amounts: []float64{0.3, 0.6, 0.9}}, eval)
	if err != nil {
		t.Fatal(err)
	}
	b, err := sw.PlanBudget(m, 2, 0.005, ObjectiveFLOPs, eval)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("plan %+v: score %.4f, drop %.4f, %d back-offs, nonzero FLOPs %d → %d", b.Plan, b.Score, b.Drop,
		b.BackOffs, b.Report.Before.NonzeroFLOPs, b.Report.After.NonzeroFLOPs)
	if b.Drop > 0.005 {
		t.Errorf("combined drop %.4f exceeds the budget", b.Drop)
	}
	if len(b.Plan) == 0 || b.Report.After.NonzeroFLOPs >= b.Report.Before.NonzeroFLOPs {
		t.Error("the plan removes nothing")
	}
	if _, err := sw.PlanBudget(m, 2, -1, ObjectiveFLOPs, eval); err == nil {
		t.Error("negative budget accepted")
	}
}
