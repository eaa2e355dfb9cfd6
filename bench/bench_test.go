package bench

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hone-ml/hone/internal/assets"
	"github.com/hone-ml/hone/ir"
)

// TestRunEvalAndRatios benches the MNIST CNN against a byte-identical copy: every ratio must come out 1 (or
// near it for timings), the labelled accuracy must equal a direct Score of the predictions, and without labels
// the copy must agree with the first model on every digit.
func TestRunEvalAndRatios(t *testing.T) {
	a := mnistPath(t)
	b := filepath.Join(t.TempDir(), "copy.onnx")
	if err := os.WriteFile(b, assets.MNISTModel(), 0o644); err != nil {
		t.Fatal(err)
	}
	images, labels, err := assets.MNISTHeldOut()
	if err != nil {
		t.Fatal(err)
	}
	small := &EvalSet{Name: "first 300", Inputs: map[string]*ir.Tensor{"": mustRows(t, images, 0, 300)}, Labels: labels[:300]}
	probes := 0
	res, err := Run(Config{Models: []string{a, b}, Backends: []string{"hone"}, Batches: []int{1, 4}, Runs: 5, Warmup: 1, Eval: small,
		MemProbe: func(model, backend string, batch int) (Memory, error) {
			probes++
			return Memory{RSS: int64(10 << 20), GoHeap: int64(1 << 20)}, nil
		}})
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 4 || probes != 4 {
		t.Fatalf("%d results, %d probes; want 4 and 4", len(res), probes)
	}
	s, _ := Open("hone", a, 1)
	infos, _ := ModelInputs(a)
	preds, err := Predict(s, infos, small, 64)
	if err != nil {
		t.Fatal(err)
	}
	want := Score(preds, small.Labels)
	for _, r := range res {
		if !r.HasAccuracy || r.Accuracy != want || r.EvalMetric != "accuracy" || r.EvalN != 300 {
			t.Errorf("%s b%d: accuracy %v/%v %s n=%d, want %v", r.Model, r.Batch, r.Accuracy, r.HasAccuracy, r.EvalMetric, r.EvalN, want)
		}
		if r.SizeRatio != 1 || r.ParamsRatio != 1 || r.RSSRatio != 1 || r.HeapRatio != 1 || r.AccuracyDelta != 0 || r.MaxAbsDiff != 0 {
			t.Errorf("%s b%d: ratios %+v", r.Model, r.Batch, r)
		}
		if r.Params <= 0 {
			t.Errorf("params = %d", r.Params)
		}
		if len(r.Samples) != 5 || r.P50 <= 0 || r.Throughput <= 0 {
			t.Errorf("%s b%d: %d samples, p50 %v", r.Model, r.Batch, len(r.Samples), r.P50)
		}
		if r.Ratio <= 0 || r.ThroughputRatio <= 0 {
			t.Errorf("%s b%d: timing ratios %v %v", r.Model, r.Batch, r.Ratio, r.ThroughputRatio)
		}
	}

	// Without labels: agreement with the first model, which an identical copy meets on every example.
	small.Labels = nil
	res, err = Run(Config{Models: []string{a, b}, Backends: []string{"hone"}, Runs: 2, Warmup: 1, Eval: small})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range res {
		if r.EvalMetric != "agreement" || r.Accuracy != 1 {
			t.Errorf("%s: %s %v, want agreement 1", r.Model, r.EvalMetric, r.Accuracy)
		}
	}
}

func mustRows(t *testing.T, x *ir.Tensor, lo, hi int) *ir.Tensor {
	r, err := rows(x, lo, hi)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestSetRatios(t *testing.T) {
	first := &Result{FileBytes: 1000, Params: 100, P50: 10 * time.Millisecond, Throughput: 100, PeakRSS: 200, PeakHeap: 50, Accuracy: 0.98, HasAccuracy: true}
	r := &Result{FileBytes: 250, Params: 100, P50: 4 * time.Millisecond, Throughput: 250, PeakRSS: 100, Accuracy: 0.965, HasAccuracy: true}
	setRatios(r, first)
	want := map[string][2]float64{
		"size": {r.SizeRatio, 0.25}, "params": {r.ParamsRatio, 1}, "p50": {r.Ratio, 0.4}, "throughput": {r.ThroughputRatio, 2.5},
		"rss": {r.RSSRatio, 0.5}, "heap": {r.HeapRatio, 0}, "accuracy pt": {r.AccuracyDelta, -1.5},
	}
	for name, g := range want {
		if d := g[0] - g[1]; d > 1e-9 || d < -1e-9 {
			t.Errorf("%s ratio = %v, want %v", name, g[0], g[1])
		}
	}
	// A zero base gives no ratio rather than Inf.
	setRatios(r, &Result{})
	if r.SizeRatio != 0 || r.Ratio != 0 || r.AccuracyDelta != 0 {
		t.Errorf("zero base: %+v", r)
	}
}

func TestTables(t *testing.T) {
	res := []*Result{
		{Model: "/x/fp32.onnx", Backend: "hone", Batch: 1, FileBytes: 4 << 20, Params: 1_000_000, P50: 2 * time.Millisecond, Throughput: 500, HasAccuracy: true, Accuracy: 0.9, EvalMetric: "accuracy"},
		{Model: "/x/int8.onnx", Backend: "hone", Batch: 1, FileBytes: 1 << 20, Params: 1_000_000, P50: time.Millisecond, Throughput: 1000, HasAccuracy: true, Accuracy: 0.89, EvalMetric: "accuracy"},
		{Model: "/x/fp32.onnx", Backend: "hone", Batch: 8, FileBytes: 4 << 20, P50: 8 * time.Millisecond, Throughput: 1000},
	}
	setRatios(res[1], res[0])
	tabs := Tables(res)
	if len(tabs) != 2 || tabs[0].Batch != 1 || tabs[1].Batch != 8 {
		t.Fatalf("tables %+v", tabs)
	}
	if got := strings.Join(tabs[0].Header, "|"); got != "|fp32.onnx|int8.onnx" {
		t.Errorf("header %q", got)
	}
	cells := map[string]string{}
	for _, row := range tabs[0].Rows {
		cells[row[0]] = row[2]
	}
	for metric, want := range map[string]string{"file size": "1.00 MiB (0.25×)", "p50 latency": "1.000 ms (0.50×)",
		"throughput": "1000.0/s (2.00×)", "accuracy": "89.00% (-1.00 pt)", "parameters": "1.00 M (1.00×)"} {
		if cells[metric] != want {
			t.Errorf("%s = %q, want %q", metric, cells[metric], want)
		}
	}
	if _, ok := cells["peak RSS"]; ok {
		t.Error("peak RSS row without any measurement")
	}
}

func TestTrackHeapPeak(t *testing.T) {
	stop := TrackHeapPeak()
	buf := make([]byte, 64<<20)
	for i := range buf {
		buf[i] = byte(i) // touch it so it is really in use while the sampler runs
	}
	time.Sleep(2 * time.Millisecond)
	peak := stop()
	if peak < 64<<20 {
		t.Errorf("peak %d bytes, want ≥ the 64 MiB held", peak)
	}
	_ = buf[len(buf)-1]
}
