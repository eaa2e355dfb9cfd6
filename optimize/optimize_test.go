package optimize

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/hone-ml/hone/bench"
	"github.com/hone-ml/hone/internal/assets"
	"github.com/hone-ml/hone/internal/irtest"
	"github.com/hone-ml/hone/ir"
	"github.com/hone-ml/hone/onnx"
	"github.com/hone-ml/hone/prune"
	"github.com/hone-ml/hone/quant"
)

// mnistModel writes the embedded MNIST CNN to a temporary file.
func mnistModel(t *testing.T) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "mnist_cnn.onnx")
	if err := os.WriteFile(p, assets.MNISTModel(), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestMNISTSearch runs the whole search on the embedded CNN and checks its claims independently: the chosen
// file's accuracy, recomputed with bench's predictor against the labels, equals the reported score and is within
// budget; the Pareto flags agree with a brute-force dominance check; every rejected recipe has a reason.
func TestMNISTSearch(t *testing.T) {
	calib, eval, err := MNIST(MNISTCalib)
	if err != nil {
		t.Fatal(err)
	}
	model := mnistModel(t)
	res, err := Run(Config{Model: model, Calib: calib, Eval: eval, Runs: 5, Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer res.Close()
	var b strings.Builder
	res.WriteTable(&b)
	t.Log("\n" + b.String())

	if res.Metric != "accuracy" || res.EvalN != 1800 {
		t.Errorf("metric %q on %d examples, want accuracy on 1800", res.Metric, res.EvalN)
	}
	families := map[string]bool{}
	for _, c := range res.Candidates {
		families[c.family] = true
		if !c.Chosen && c.Verdict == "" {
			t.Errorf("%s has no verdict", c.Name)
		}
	}
	for _, f := range []string{FamilyFP16, FamilyDynamic, FamilyStatic, FamilyPrune, FamilyPrune + "+static"} {
		if !families[f] {
			t.Errorf("no %s candidate", f)
		}
	}
	ch := res.Chosen
	if ch == nil || ch.Drop > 1 || ch.gain(TargetBalanced) <= 1 {
		t.Fatalf("chosen %+v", ch)
	}
	out := filepath.Join(t.TempDir(), "best.onnx")
	if err := res.Save(out); err != nil {
		t.Fatal(err)
	}
	s, err := bench.Open("hone", out, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	infos, err := bench.ModelInputs(out)
	if err != nil {
		t.Fatal(err)
	}
	preds, err := bench.Predict(s, infos, &bench.EvalSet{Inputs: eval.Inputs, Labels: eval.Labels}, 1)
	if err != nil {
		t.Fatal(err)
	}
	if got := bench.Score(preds, eval.Labels); got != ch.Score {
		t.Errorf("chosen %s: reported accuracy %.4f, recomputed %.4f", ch.Name, ch.Score, got)
	}
	points := []*Candidate{res.Baseline}
	for _, c := range res.Candidates {
		if c.Err == "" {
			points = append(points, c)
		}
	}
	for _, c := range points {
		dominated := false
		for _, o := range points {
			if o != c && o.Drop <= c.Drop && o.P50 <= c.P50 && o.FileBytes <= c.FileBytes &&
				(o.Drop < c.Drop || o.P50 < c.P50 || o.FileBytes < c.FileBytes) {
				dominated = true
			}
		}
		if c.Pareto == dominated {
			t.Errorf("%s: pareto=%v but dominated=%v", c.Name, c.Pareto, dominated)
		}
	}
}

func cand(name string, drop float64, p50ms int, kib int64) *Candidate {
	return &Candidate{Name: name, HasScore: true, Drop: drop, Score: 1 - drop/100, P50: time.Duration(p50ms) * time.Millisecond, FileBytes: kib << 10}
}

// finish fills the ratios against the baseline as benchmark() does.
func finish(base *Candidate, cs []*Candidate) {
	for _, c := range append([]*Candidate{base}, cs...) {
		c.Speedup = ratio(float64(base.P50), float64(c.P50))
		c.Compression = ratio(float64(base.FileBytes), float64(c.FileBytes))
	}
}

func TestDecide(t *testing.T) {
	cases := []struct {
		name    string
		target  Target
		budget  float64
		cands   []*Candidate
		chosen  string
		verdict map[string]string // substrings
		err     error
	}{
		{
			name: "latency picks the fastest within budget", target: TargetLatency, budget: 1,
			cands:  []*Candidate{cand("INT8 dynamic", 2.1, 40, 25), cand("pruned", 0.5, 60, 70), cand("INT8 static", 0.3, 80, 25), cand("FP16", 0, 150, 50)},
			chosen: "pruned",
			verdict: map[string]string{
				"INT8 dynamic": "−2.10 pt accuracy > budget 1",
				"INT8 static":  "on the Pareto front, but pruned is faster",
				"FP16":         "within budget but 1.50× slower than fp32",
			},
		},
		{
			name: "size picks the smallest, breaking the tie on drop", target: TargetSize, budget: 1,
			cands:  []*Candidate{cand("a", 0.9, 90, 25), cand("b", 0.2, 95, 25), cand("c", 0.2, 99, 25)},
			chosen: "b",
			verdict: map[string]string{
				"c": "dominated by b",
			},
		},
		{
			name: "balanced takes 4× smaller and a bit slower over 1.1× faster", target: TargetBalanced, budget: 1,
			cands:  []*Candidate{cand("int8", 0.1, 120, 25), cand("pruned", 0.1, 90, 90)},
			chosen: "int8",
		},
		{
			name: "nothing within budget", target: TargetBalanced, budget: 0.5,
			cands: []*Candidate{cand("x", 0.9, 50, 25), cand("y", 3, 40, 20)},
			err:   ErrNoRecipe,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			base := &Candidate{Name: "fp32", HasScore: true, Score: 1, P50: 100 * time.Millisecond, FileBytes: 100 << 10}
			finish(base, tc.cands)
			r := &Result{Metric: "accuracy", MaxDrop: tc.budget, Target: tc.target, Baseline: base, Candidates: tc.cands}
			err := r.decide(false)
			if tc.err != nil {
				if !errors.Is(err, tc.err) || !strings.Contains(err.Error(), "closest: x") {
					t.Fatalf("err = %v, want %v listing x first", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if r.Chosen == nil || r.Chosen.Name != tc.chosen {
				t.Fatalf("chosen %v, want %s", r.Chosen, tc.chosen)
			}
			for _, c := range tc.cands {
				if want, ok := tc.verdict[c.Name]; ok && !strings.Contains(c.Verdict, want) {
					t.Errorf("%s: verdict %q, want %q", c.Name, c.Verdict, want)
				}
			}
		})
	}
}

// TestDecisions checks the agreement decisions against NumPy's: argmax over axis 1 (first index on ties) for
// [N, C] and [N, C, H, W], and `y > thr` for a one-channel map.
func TestDecisions(t *testing.T) {
	cases := []struct {
		name  string
		shape []int
		v     []float64
		want  []int64
	}{
		// np.argmax([[0.1, 0.9, 0.3], [2, 2, 1]], axis=1) = [1, 0]
		{"classifier", []int{2, 3}, []float64{0.1, 0.9, 0.3, 2, 2, 1}, []int64{1, 0}},
		// y = [[[[1, 5]], [[3, 2]]]] (N=1, C=2, H=1, W=2): np.argmax(y, axis=1).ravel() = [1, 0]
		{"segmentation", []int{1, 2, 1, 2}, []float64{1, 5, 3, 2}, []int64{1, 0}},
		// (np.array([0.2, 0.3, 0.31, 0.9]) > 0.3).astype(int) = [0, 0, 1, 1]
		{"score map", []int{1, 1, 2, 2}, []float64{0.2, 0.3, 0.31, 0.9}, []int64{0, 0, 1, 1}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := appendDecisions(nil, tc.shape, tc.v, 0.3)
			if d := cmp.Diff(tc.want, got); d != "" {
				t.Error(d)
			}
		})
	}
}

// TestRecipeMatchesDirectPasses applies a YAML recipe and the same passes called directly: the two models must
// give bit-identical outputs.
func TestRecipeMatchesDirectPasses(t *testing.T) {
	r, err := ParseRecipe([]byte(`
name: pinned
steps:
  - step: prune
    method: ln-structured
    amount: 0.25
    layers: [Conv]
  - step: quantize
    mode: static
    calibrator: percentile
`))
	if err != nil {
		t.Fatal(err)
	}
	m, err := onnx.Decode(assets.MNISTModel(), "")
	if err != nil {
		t.Fatal(err)
	}
	calib, eval, err := MNIST(64)
	if err != nil {
		t.Fatal(err)
	}
	cal := named{calib, m.Graph.RealInputs()[0].Name}
	got, err := r.Apply(m, cal, nil)
	if err != nil {
		t.Fatal(err)
	}
	p, _, err := prune.Prune(m, prune.Config{Method: prune.MethodLn, Amount: prune.Fraction(0.25), Layers: []string{"Conv"}, Norm: 2})
	if err != nil {
		t.Fatal(err)
	}
	want, _, err := quant.Static(p, cal, quant.StaticConfig{Calibrator: quant.CalPercentile, Percentile: 99.999})
	if err != nil {
		t.Fatal(err)
	}
	sc := &scorer{set: &EvalSet{Inputs: eval.Inputs}, batch: 256, threads: 1}
	a, err := sc.decisions(got)
	if err != nil {
		t.Fatal(err)
	}
	b, err := sc.decisions(want)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(b, a); d != "" {
		t.Errorf("recipe vs direct passes (-direct +recipe):\n%s", d)
	}
	if r.String() != "pruned 25% (ln-structured) + INT8 static (percentile)" {
		t.Errorf("String() = %q", r.String())
	}
}

func TestParseRecipeErrors(t *testing.T) {
	cases := []struct{ name, yaml, want string }{
		{"unknown key", "steps:\n  - step: quantize\n    mode: dynamic\n    calibrater: entropy\n", "calibrater"},
		{"no steps", "name: empty\n", "no steps"},
		{"bad step", "steps:\n  - step: distill\n", `unknown step "distill"`},
		{"bad mode", "steps:\n  - step: quantize\n    mode: int4\n", `unknown quantize mode "int4"`},
		{"bad amount", "steps:\n  - step: prune\n    amount: 1.5\n", "amount 1.5"},
		{"bad calibrator", "steps:\n  - step: quantize\n    mode: static\n    calibrator: kl\n", "kl"},
		{"bad nm", "steps:\n  - step: prune\n    method: nm\n    n: 4\n    m: 2\n", "0 < n < m"},
		{"not yaml", "steps: [", "recipe"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseRecipe([]byte(tc.yaml))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to mention %q", err, tc.want)
			}
		})
	}
}

// TestNothingToDo: quantizing a graph with nothing to quantize is a failed recipe, not a relabelled copy.
func TestNothingToDo(t *testing.T) {
	b := irtest.New("relu")
	b.Output(b.Op("Relu", []string{b.Input("x", ir.Float32, 1, 4)}))
	m := b.Model(13)
	r := &Recipe{Steps: []Step{{Step: "quantize", Mode: "dynamic"}}}
	if _, err := r.Apply(m, nil, nil); err == nil || !strings.Contains(err.Error(), "INT8 dynamic") {
		t.Fatalf("err = %v, want a failure naming the step", err)
	}
	r = &Recipe{Steps: []Step{{Step: "quantize", Mode: "static"}}}
	if _, err := r.Apply(m, nil, nil); !errors.Is(err, quant.ErrNoCalibrationData) {
		t.Fatalf("err = %v, want ErrNoCalibrationData", err)
	}
}

func TestSaveRefusesInput(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "in.onnx")
	cand := filepath.Join(dir, "cand.onnx")
	os.WriteFile(in, []byte("original"), 0o644)
	os.WriteFile(cand, []byte("optimized"), 0o644)
	r := &Result{Model: in, Chosen: &Candidate{Path: cand}}
	if err := r.Save(filepath.Join(dir, ".", "in.onnx")); err == nil || !strings.Contains(err.Error(), "refusing") {
		t.Fatalf("err = %v", err)
	}
	if b, _ := os.ReadFile(in); string(b) != "original" {
		t.Fatalf("input overwritten: %q", b)
	}
	out := filepath.Join(dir, "out.onnx")
	if err := r.Save(out); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(out); string(b) != "optimized" {
		t.Fatalf("out = %q", b)
	}
	left, _ := filepath.Glob(filepath.Join(dir, ".out.onnx.tmp-*"))
	if len(left) != 0 {
		t.Errorf("temporary files left: %v", left)
	}
	if err := (&Result{Model: in}).Save(out); err == nil {
		t.Error("saving with nothing chosen succeeded")
	}
}
