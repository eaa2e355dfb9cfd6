package main

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

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
