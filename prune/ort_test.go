//go:build ort

package prune

import (
	"math"
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
			// hone and ORT must agree on the shrunk model: relative to the output's scale within 1e-4, or within
			// 1e-6 absolutely (PP-OCR det's probability map is ~1e-5 everywhere on random inputs).
			for name, want := range b {
				if d := maxRelDiff(a[name], want); d > 1e-4 && maxAbsDiff(a[name], want) > 1e-6 {
					t.Errorf("ORT output %q: physical vs mask-only differ by %.3g", name, d)
				}
				if d := maxRelDiff(h[name], a[name]); d > 1e-4 && maxAbsDiff(h[name], a[name]) > 1e-6 {
					t.Errorf("output %q of the shrunk model: hone vs ORT differ by %.3g (abs %.3g)", name, d, maxAbsDiff(h[name], a[name]))
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

func maxAbsDiff(a, b *ir.Tensor) float64 {
	var d float64
	for i, v := range b.F32() {
		d = math.Max(d, math.Abs(float64(a.F32()[i]-v)))
	}
	return d
}
