package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hone-ml/hone/internal/assets"
	"github.com/hone-ml/hone/ir"
	"github.com/hone-ml/hone/npy"
)

func runCLI(t *testing.T, args ...string) (string, error) {
	t.Helper()
	cmd := newRootCmd()
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&out)
	cmd.SetArgs(args)
	err := cmd.Execute()
	return out.String(), err
}

func mnistFile(t *testing.T) string {
	p := filepath.Join(t.TempDir(), "mnist.onnx")
	if err := os.WriteFile(p, assets.MNISTModel(), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestInspectJSON(t *testing.T) {
	out, err := runCLI(t, "inspect", "--json", mnistFile(t))
	if err != nil {
		t.Fatal(err)
	}
	var rep inspectReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if len(rep.Inputs) != 1 || rep.Inputs[0].DType != "float32" || !strings.Contains(rep.Inputs[0].Shape, "28") {
		t.Errorf("inputs = %+v", rep.Inputs)
	}
	if rep.OpHistogram["Conv"] == 0 || rep.Parameters == 0 || rep.ParamBytes["float32"] != 4*rep.ParamCount["float32"] {
		t.Errorf("histogram/params wrong: %+v %+v %+v", rep.OpHistogram, rep.ParamCount, rep.ParamBytes)
	}
	// FLOPs: recompute the convolutions' multiply-adds from the weights and the 28×28 input independently
	if rep.FLOPs <= 0 || rep.FLOPsError != "" {
		t.Errorf("FLOPs = %d (%s)", rep.FLOPs, rep.FLOPsError)
	}
}

func TestRunWritesOutputs(t *testing.T) {
	model := mnistFile(t)
	images, labels, err := assets.MNISTHeldOut()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	one := ir.FromFloat32([]int{1, 1, 28, 28}, images.F32()[:784])
	in := filepath.Join(dir, "digit.npy")
	if err := npy.WriteFile(in, one); err != nil {
		t.Fatal(err)
	}
	m, err := loadModel(model)
	if err != nil {
		t.Fatal(err)
	}
	inName := m.Graph.RealInputs()[0].Name
	outName := m.Graph.Outputs[0].Name
	if _, err := runCLI(t, "run", model, "--input", inName+"="+in, "--out", dir); err != nil {
		t.Fatal(err)
	}
	logits, err := npy.ReadFile(filepath.Join(dir, safeFileName(outName)+".npy"))
	if err != nil {
		t.Fatal(err)
	}
	v := logits.F32()
	best := 0
	for i := range v {
		if v[i] > v[best] {
			best = i
		}
	}
	if len(v) != 10 {
		t.Fatalf("logits shape %v", logits.Shape)
	}
	ref, err := assets.MNISTReference()
	if err != nil {
		t.Fatal(err)
	}
	// PyTorch's prediction for the same digit, recorded when the model was trained.
	if int64(best) != ref.Predictions[0] {
		t.Errorf("digit labelled %d: hone run says %d, PyTorch said %d", labels[0], best, ref.Predictions[0])
	}
}

func TestBadInputsGiveErrors(t *testing.T) {
	model := mnistFile(t)
	dir := t.TempDir()
	garbage := filepath.Join(dir, "garbage.onnx")
	os.WriteFile(garbage, []byte("\x89PNG\r\n\x1a\nnot a model"), 0o644)
	wrong := filepath.Join(dir, "wrong.npy")
	npy.WriteFile(wrong, ir.FromFloat32([]int{1, 3, 28, 28}, make([]float32, 3*784)))
	m, _ := loadModel(model)
	inName := m.Graph.RealInputs()[0].Name
	cases := [][]string{
		{"inspect", garbage},
		{"inspect", filepath.Join(dir, "missing.onnx")},
		{"run", model, "--input", inName + "=" + wrong, "--out", dir},
		{"run", model, "--input", inName + "=" + filepath.Join(dir, "missing.npy")},
		{"run", model},
		{"bench", model, "--backend", "nosuch"},
	}
	for _, args := range cases {
		if _, err := runCLI(t, args...); err == nil {
			t.Errorf("hone %s: no error", strings.Join(args, " "))
		} else {
			t.Logf("hone %s: %v", strings.Join(args, " "), err)
		}
	}
}

// TestDemo runs the demo and checks its table: every variant the issue names is there with measured figures,
// the chosen recipe's accuracy drop, read back from the table, is within the 1-point budget, and the model it
// keeps classifies digits on its own.
func TestDemo(t *testing.T) {
	t.Setenv("HONE_TEST_AS_HONE", "1") // the memory probes re-execute the test binary as hone
	kept := filepath.Join(t.TempDir(), "chosen.onnx")
	out, err := runCLI(t, "demo", "--runs", "5", "-o", kept)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	for _, want := range []string{"fp32", "INT8 dynamic", "INT8 static (entropy)", "pruned", "+ INT8", "p50", "peak RSS", "chosen:"} {
		if !strings.Contains(out, want) {
			t.Errorf("demo output lacks %q:\n%s", want, out)
		}
	}
	for _, line := range strings.Split(out, "\n") {
		if strings.HasPrefix(line, "fp32 ") && !strings.Contains(line, "MiB") {
			t.Errorf("fp32 row has no measured peak memory: %q", line)
		}
	}
	if drop := chosenDrop(t, out); drop > 1 {
		t.Errorf("the chosen recipe loses %.2f pt, over the 1-point budget:\n%s", drop, out)
	}
	checkDigits(t, kept, 95)
	checkDemoORT(t, out)
}
