//go:build ort

package prune

import (
	"path/filepath"
	"testing"

	"github.com/hone-ml/hone/backend/ort"
	"github.com/hone-ml/hone/ir"
	"github.com/hone-ml/hone/onnx"
)

func runORT(t *testing.T, m *ir.Model, x *ir.Tensor) map[string]*ir.Tensor {
	t.Helper()
	path := filepath.Join(t.TempDir(), "m.onnx")
	if err := onnx.Save(m, path); err != nil {
		t.Fatal(err)
	}
	s, err := ort.NewSession(path, ort.Options{Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	out, err := s.Run(map[string]*ir.Tensor{m.Graph.RealInputs()[0].Name: x})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestPhysicalEqualsMaskOnlyORT saves both pruned models and runs them in ONNX Runtime: the shrunk model must
// load there and compute what the mask-only one computes, which also checks hone's output against ORT's.
func TestPhysicalEqualsMaskOnlyORT(t *testing.T) {
	for _, mc := range structuredModels {
		t.Run(mc.name, func(t *testing.T) {
			m := mc.load(t)
			cfg := Config{Method: MethodLn, Amount: Fraction(0.3), Norm: 2, Layers: mc.layers}
			phys, _, err := Prune(m, cfg)
			if err != nil {
				t.Fatal(err)
			}
			cfg.MaskOnly = true
			mask, _, err := Prune(m, cfg)
			if err != nil {
				t.Fatal(err)
			}
			x := randomInput(inputShape(m, mc.input), 11)
			a, b := runORT(t, phys, x), runORT(t, mask, x)
			h := runHone(t, phys, x)
			// hone and ORT must agree on the shrunk model wherever they agree on the original; where they do
			// not (PP-OCRv4 det at the time of writing: a runtime discrepancy unrelated to pruning), that is
			// reported instead, and the physical-vs-mask check above still runs.
			ho, oo := runHone(t, m, x), runORT(t, m, x)
			for name, want := range b {
				if d := maxRelDiff(a[name], want); d > 1e-4 {
					t.Errorf("ORT output %q: physical vs mask-only differ by %.3g", name, d)
				}
				if d := maxRelDiff(ho[name], oo[name]); d > 1e-4 {
					t.Logf("output %q: hone and ORT already differ by %.3g on the unpruned model; cross-check not applicable", name, d)
					continue
				}
				if d := maxRelDiff(h[name], a[name]); d > 1e-4 {
					t.Errorf("output %q of the shrunk model: hone vs ORT differ by %.3g", name, d)
				}
			}
		})
	}
}

func runORTFile(t *testing.T, path, input string, x *ir.Tensor) map[string]*ir.Tensor {
	t.Helper()
	s, err := ort.NewSession(path, ort.Options{Threads: 2})
	if err != nil {
		t.Fatalf("ONNX Runtime cannot load %s: %v", filepath.Base(path), err)
	}
	defer s.Close()
	out, err := s.Run(map[string]*ir.Tensor{input: x})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestSparseStorageORT loads the sparse_initializer file (linear int64 indices) in ONNX Runtime and checks it
// computes exactly what the dense pruned file computes.
func TestSparseStorageORT(t *testing.T) {
	for _, mc := range []modelCase{structuredModels[0], structuredModels[1]} {
		t.Run(mc.name, func(t *testing.T) {
			m := mc.load(t)
			dense, sparse, _ := sparseSave(t, m)
			x := randomInput(inputShape(m, mc.input), 5)
			in := m.Graph.RealInputs()[0].Name
			want, got := runORTFile(t, dense, in, x), runORTFile(t, sparse, in, x)
			for name, w := range want {
				if d := maxRelDiff(got[name], w); d != 0 {
					t.Errorf("output %q: sparse vs dense file differ by %.3g in ORT", name, d)
				}
			}
		})
	}
}
