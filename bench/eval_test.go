package bench

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hone-ml/hone/internal/assets"
	"github.com/hone-ml/hone/internal/irtest"
	"github.com/hone-ml/hone/ir"
	"github.com/hone-ml/hone/npy"
)

func mnistPath(t *testing.T) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "mnist.onnx")
	if err := os.WriteFile(p, assets.MNISTModel(), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestPredictMatchesPyTorch checks the eval path against PyTorch's own per-digit predictions, recorded when the
// embedded model was trained: same argmax for every held-out digit (or all but a near-tie or two).
func TestPredictMatchesPyTorch(t *testing.T) {
	images, labels, err := assets.MNISTHeldOut()
	if err != nil {
		t.Fatal(err)
	}
	ref, err := assets.MNISTReference()
	if err != nil {
		t.Fatal(err)
	}
	model := mnistPath(t)
	s, err := Open("hone", model, 1)
	if err != nil {
		t.Fatal(err)
	}
	infos, err := ModelInputs(model)
	if err != nil {
		t.Fatal(err)
	}
	set := &EvalSet{Name: "mnist", Inputs: map[string]*ir.Tensor{"": images}, Labels: labels}
	preds, err := Predict(s, infos, set, 100)
	if err != nil {
		t.Fatal(err)
	}
	if diff := len(preds) - int(Score(preds, ref.Predictions)*float64(len(preds))+0.5); diff > 2 {
		t.Errorf("%d of %d predictions differ from PyTorch's", diff, len(preds))
	}
	acc := Score(preds, labels)
	if d := acc - ref.Accuracy; d > 0.001 || d < -0.001 {
		t.Errorf("accuracy %.4f, PyTorch measured %.4f", acc, ref.Accuracy)
	}
}

func TestLoadEvalNPZ(t *testing.T) {
	dir := t.TempDir()
	x := irtest.Rand(1, 5, 4)
	write := func(name string, arrays map[string]*ir.Tensor) string {
		p := filepath.Join(dir, name)
		if err := npy.WriteNPZ(p, arrays, nil, false); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := write("good.npz", map[string]*ir.Tensor{"pixels": x, "labels": ir.FromInt64([]int{5}, []int64{0, 1, 2, 3, 0})})
	set, err := LoadEvalNPZ(good)
	if err != nil {
		t.Fatal(err)
	}
	if set.N() != 5 || len(set.Labels) != 5 || set.Inputs[""] == nil || set.Inputs[""] != set.Inputs["pixels"] ||
		set.Inputs[""].F32()[7] != x.F32()[7] {
		t.Errorf("set = %+v", set)
	}
	// a lone array feeds a one-input model whatever its name, but not one of two inputs
	if _, err := set.arrayFor(&ir.ValueInfo{Name: "input"}, true); err != nil {
		t.Error(err)
	}
	if _, err := set.arrayFor(&ir.ValueInfo{Name: "input"}, false); err == nil || !strings.Contains(err.Error(), "pixels") {
		t.Errorf("two-input lookup: %v", err)
	}
	bad := []struct {
		name   string
		arrays map[string]*ir.Tensor
		want   string
	}{
		{"labels-count", map[string]*ir.Tensor{"x": x, "labels": ir.FromInt64([]int{3}, []int64{0, 1, 2})}, "3 labels for 5"},
		{"ragged", map[string]*ir.Tensor{"a": x, "b": irtest.Rand(2, 4, 4)}, "examples"},
		{"only-labels", map[string]*ir.Tensor{"labels": ir.FromInt64([]int{1}, []int64{0})}, "no input arrays"},
		{"float-labels", map[string]*ir.Tensor{"x": x, "labels": irtest.Rand(3, 5)}, "integer vector"},
	}
	for _, c := range bad {
		t.Run(c.name, func(t *testing.T) {
			_, err := LoadEvalNPZ(write(c.name+".npz", c.arrays))
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("err = %v, want it to mention %q", err, c.want)
			}
		})
	}
	if _, err := LoadEvalNPZ(filepath.Join(dir, "missing.npz")); err == nil {
		t.Error("missing file: no error")
	}
}

func TestPredictRejectsMismatchedData(t *testing.T) {
	model := mnistPath(t)
	s, err := Open("hone", model, 1)
	if err != nil {
		t.Fatal(err)
	}
	infos, _ := ModelInputs(model)
	cases := map[string]*EvalSet{
		"int pixels":  {Name: "u8", Inputs: map[string]*ir.Tensor{"": ir.New(ir.Uint8, 2, 1, 28, 28)}},
		"wrong shape": {Name: "shape", Inputs: map[string]*ir.Tensor{"": ir.New(ir.Float32, 2, 3, 28, 28)}},
		"empty":       {Name: "empty", Inputs: map[string]*ir.Tensor{"": ir.New(ir.Float32, 0, 1, 28, 28)}},
	}
	for name, set := range cases {
		t.Run(name, func(t *testing.T) {
			if _, err := Predict(s, infos, set, 8); err == nil {
				t.Error("no error")
			}
		})
	}
}

func TestParameters(t *testing.T) {
	b := irtest.New("p")
	x := b.Input("x", ir.Float32, 2, 3)
	w := b.Init("w", irtest.Rand(1, 3, 4))                                       // 12
	bias := b.Init("b", irtest.Rand(2, 4))                                       // 4
	c := b.Op("Constant", nil, irtest.TensorAttr("value", irtest.Rand(3, 2, 4))) // 8
	y := b.Op("Add", []string{b.Op("Gemm", []string{x, w, bias}), c})
	b.Output(y)
	m := b.Model(17)
	if got := Parameters(m); got != 24 {
		t.Errorf("Parameters = %d, want 12+4+8 = 24", got)
	}
	if got := Parameters(nil); got != 0 {
		t.Errorf("Parameters(nil) = %d", got)
	}
}
