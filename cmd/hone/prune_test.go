package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hone-ml/hone/internal/assets"
	"github.com/hone-ml/hone/ir"
	"github.com/hone-ml/hone/npy"
	"github.com/hone-ml/hone/onnx"
)

// TestPruneShapeFLOPs checks --shape: the MNIST CNN does 0.666112 MFLOPs per image (prune/report_test.go),
// so a batch of 4 reports 2.66 M.
func TestPruneShapeFLOPs(t *testing.T) {
	out := filepath.Join(t.TempDir(), "p.onnx")
	got, err := runCLI(t, "prune", mnistFile(t), "-o", out, "--amount", "0.3", "--shape", "4,1,28,28")
	if err != nil {
		t.Fatal(err, got)
	}
	if !strings.Contains(got, "FLOPs (dense): 2.66 M → 2.66 M") {
		t.Errorf("report lacks the batch-4 FLOPs:\n%s", got)
	}
	if _, err := onnx.Load(out); err != nil {
		t.Fatal(err)
	}
}

// TestPruneSensitivityCLI runs the sweep on an unlabelled .npz (scores are agreement with the unpruned model)
// with a budget, and checks the table, the plot, the plan and the written model.
func TestPruneSensitivityCLI(t *testing.T) {
	dir := t.TempDir()
	images, _, err := assets.MNISTHeldOut()
	if err != nil {
		t.Fatal(err)
	}
	n := 300
	per := images.NumBytes() / images.Shape[0]
	x, err := ir.FromBytes(ir.Float32, []int{n, 1, 28, 28}, images.Bytes()[:n*per])
	if err != nil {
		t.Fatal(err)
	}
	data := filepath.Join(dir, "eval.npz")
	if err := npy.WriteNPZ(data, map[string]*ir.Tensor{"input": x}, []string{"input"}, false); err != nil {
		t.Fatal(err)
	}
	plot, out := filepath.Join(dir, "s.png"), filepath.Join(dir, "p.onnx")
	got, err := runCLI(t, "prune", "sensitivity", mnistFile(t), "--eval", data, "--amounts", "0.5,0.9",
		"--layers", "/fc1/Gemm,/features/features.4/Conv", "--plot", plot, "--max-accuracy-drop", "0.02", "-o", out,
		"--threads", "2")
	if err != nil {
		t.Fatal(err, got)
	}
	for _, want := range []string{"agreement with the unpruned model", "unpruned score: 1.0000", "/fc1/Gemm",
		"plan for a drop of at most 0.02", "combined: score", "wrote " + out} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q:\n%s", want, got)
		}
	}
	for _, p := range []string{plot, out} {
		if st, err := os.Stat(p); err != nil || st.Size() == 0 {
			t.Errorf("%s not written: %v", p, err)
		}
	}
}

func TestPruneSensitivityBadFlags(t *testing.T) {
	model := mnistFile(t)
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"no eval", nil, "eval"},
		{"amount above 1", []string{"--eval", "mnist", "--amounts", "0.5,1.5"}, "not a fraction"},
		{"output without budget", []string{"--eval", "mnist", "-o", "x.onnx"}, "needs --max-accuracy-drop"},
		{"negative budget", []string{"--eval", "mnist", "--max-accuracy-drop", "-0.1"}, "negative"},
		{"bad objective", []string{"--eval", "mnist", "--objective", "speed"}, "objective"},
		{"missing data", []string{"--eval", "/nonexistent.npz"}, "nonexistent"},
		{"bad method", []string{"--eval", "mnist", "--method", "nm", "--amounts", "0.5"}, "method"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := runCLI(t, append([]string{"prune", "sensitivity", model}, tc.args...)...)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err %v, want one mentioning %q\n%s", err, tc.want, got)
			}
		})
	}
}
