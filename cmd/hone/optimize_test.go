package main

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/hone-ml/hone/bench"
	"github.com/hone-ml/hone/internal/assets"
	"github.com/hone-ml/hone/ir"
	"github.com/hone-ml/hone/onnx"
	"github.com/hone-ml/hone/runtime"
)

// chosenDrop reads the accuracy points the chosen ("* ") row of an optimize table lost.
func chosenDrop(t *testing.T, out string) float64 {
	t.Helper()
	for _, line := range strings.Split(out, "\n") {
		if !strings.HasPrefix(line, "* ") {
			continue
		}
		i := strings.LastIndex(line, "% (")
		if i < 0 {
			break
		}
		f := strings.Fields(line[i+3:])
		v, err := strconv.ParseFloat(f[0], 64)
		if err != nil {
			t.Fatalf("chosen row %q: %v", line, err)
		}
		return -v
	}
	t.Fatalf("no chosen row with an accuracy change in:\n%s", out)
	return 0
}

// checkDigits loads a model file in hone and requires at least want of the first 100 held-out digits right.
func checkDigits(t *testing.T, path string, want int) {
	t.Helper()
	m, err := onnx.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	p, err := runtime.Compile(m, runtime.Options{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	images, labels, err := assets.MNISTHeldOut()
	if err != nil {
		t.Fatal(err)
	}
	x := ir.FromFloat32([]int{100, 1, 28, 28}, images.F32()[:100*784])
	res, err := p.Run(map[string]*ir.Tensor{p.Inputs()[0].Name: x})
	if err != nil {
		t.Fatal(err)
	}
	logits := res[p.Outputs()[0].Name].F32()
	correct := 0
	for i := range 100 {
		row := logits[i*10 : (i+1)*10]
		best := 0
		for j := range row {
			if row[j] > row[best] {
				best = j
			}
		}
		if int64(best) == labels[i] {
			correct++
		}
	}
	if correct < want {
		t.Errorf("%s classifies %d of the first 100 held-out digits correctly, want ≥ %d", path, correct, want)
	}
}

// TestOptimizeErrors: bad requests fail with a message that says why, and write nothing.
func TestOptimizeErrors(t *testing.T) {
	dir := t.TempDir()
	model := filepath.Join(dir, "mnist.onnx")
	if err := os.WriteFile(model, assets.MNISTModel(), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("HONE_TEST_AS_HONE", "1") // memory probes re-execute the test binary as hone
	out := filepath.Join(dir, "out.onnx")
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"no eval data", []string{"optimize", model, "-o", out}, "refusing to choose on speed and size alone"},
		{"overwrite input", []string{"optimize", model, "--eval", "mnist", "--calib", "mnist", "--skip", "fp16,static,prune", "--runs", "2", "--no-mem", "-o", model}, "refusing to overwrite the input"},
		{"bad target", []string{"optimize", model, "--eval", "mnist", "--target", "fast", "-o", out}, "unknown target"},
		{"bad recipe", []string{"optimize", model, "--eval", "mnist", "--recipe", filepath.Join(dir, "missing.yaml"), "-o", out}, "recipe"},
		{"mismatched mnist", []string{"optimize", model, "--eval", "mnist", "--calib", filepath.Join(dir, "c.npz"), "-o", out}, "c.npz"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := runCLI(t, tc.args...)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to mention %q\n%s", err, tc.want, got)
			}
			if _, err := os.Stat(out); !os.IsNotExist(err) {
				t.Errorf("%s was written", out)
			}
		})
	}
}

// TestOptimizeRecipeJSON pins a recipe in YAML: the JSON result has exactly that candidate, chosen, within budget,
// and the written model classifies digits. A pinned recipe over budget (pruning a fifth of every Conv's channels
// without fine-tuning costs the CNN tens of points) fails and writes nothing.
func TestOptimizeRecipeJSON(t *testing.T) {
	t.Setenv("HONE_TEST_AS_HONE", "1")
	dir := t.TempDir()
	model := filepath.Join(dir, "mnist.onnx")
	if err := os.WriteFile(model, assets.MNISTModel(), 0o644); err != nil {
		t.Fatal(err)
	}
	recipe := filepath.Join(dir, "ship.yaml")
	os.WriteFile(recipe, []byte("name: ship\nsteps:\n  - {step: quantize, mode: static, calibrator: minmax}\n"), 0o644)
	out := filepath.Join(dir, "out.onnx")
	got, err := runCLI(t, "optimize", model, "--calib", "mnist", "--eval", "mnist", "--recipe", recipe, "--runs", "3", "--json", "-o", out)
	if err != nil {
		t.Fatalf("%v\n%s", err, got)
	}
	var res struct {
		Candidates []struct {
			Name   string  `json:"name"`
			Chosen bool    `json:"chosen"`
			Drop   float64 `json:"drop_pt"`
			RSS    int64   `json:"peak_rss_bytes"`
		} `json:"candidates"`
	}
	// Progress and log lines share the buffer in this test; the JSON document starts at the first "{" line.
	i := strings.Index(got, "{\n")
	if i < 0 {
		t.Fatalf("no JSON in:\n%s", got)
	}
	if err := json.Unmarshal([]byte(got[i:]), &res); err != nil {
		t.Fatalf("%v\n%s", err, got)
	}
	if len(res.Candidates) != 1 || res.Candidates[0].Name != "ship" || !res.Candidates[0].Chosen || res.Candidates[0].Drop > 1 || res.Candidates[0].RSS == 0 {
		t.Fatalf("candidates = %+v", res.Candidates)
	}
	checkDigits(t, out, 95)

	os.WriteFile(recipe, []byte("steps:\n  - {step: prune, method: ln-structured, amount: 0.2, layers: [Conv]}\n"), 0o644)
	bad := filepath.Join(dir, "bad.onnx")
	got, err = runCLI(t, "optimize", model, "--eval", "mnist", "--recipe", recipe, "--runs", "3", "--no-mem", "-o", bad)
	if err == nil || !strings.Contains(err.Error(), "no recipe meets the budget") || !strings.Contains(err.Error(), "closest: pruned 20%") {
		t.Fatalf("err = %v\n%s", err, got)
	}
	if !strings.Contains(got, "pt accuracy > budget 1") {
		t.Errorf("no reason printed:\n%s", got)
	}
	if _, err := os.Stat(bad); !os.IsNotExist(err) {
		t.Errorf("%s written despite the failure", bad)
	}
}

// checkDemoORT requires, in a binary built with -tags ort, the demo's line saying ONNX Runtime ran the chosen
// model, with an accuracy within half a point of hone's on the same digits (dynamic quantization's rounding may
// differ by an ulp between the two runtimes, so a digit or two may flip; a broken model would be far off).
func checkDemoORT(t *testing.T, out string) {
	t.Helper()
	if !slices.Contains(bench.Backends(), "ort") {
		return
	}
	i := strings.Index(out, "ONNX Runtime runs the chosen model too: ")
	if i < 0 {
		t.Fatalf("no ONNX Runtime check in the demo output:\n%s", out)
	}
	var ortAcc, honeAcc float64
	line := out[i:]
	line = line[:strings.IndexByte(line, '\n')]
	if _, err := fmt.Sscanf(line[strings.Index(line, ": ")+2:], "%f%% accuracy", &ortAcc); err != nil {
		t.Fatalf("%q: %v", line, err)
	}
	if _, err := fmt.Sscanf(line[strings.Index(line, "(hone: ")+7:], "%f%%", &honeAcc); err != nil {
		t.Fatalf("%q: %v", line, err)
	}
	if math.Abs(ortAcc-honeAcc) > 0.5 || ortAcc < 90 {
		t.Errorf("ORT %.2f%% vs hone %.2f%%: %q", ortAcc, honeAcc, line)
	}
}
