//go:build ort

package quant

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/hone-ml/hone/backend/ort"
	"github.com/hone-ml/hone/ir"
	"github.com/hone-ml/hone/onnx"
)

// runORTFile runs the saved model at path in ONNX Runtime (ortSession's options) and returns its outputs in
// graph output order.
func runORTFile(path string, m *ir.Model, in map[string]*ir.Tensor) ([]*ir.Tensor, error) {
	out, err := ortSession(path, m, in)
	if err != nil {
		return nil, err
	}
	var r []*ir.Tensor
	for _, vo := range m.Graph.Outputs {
		r = append(r, out[vo.Name])
	}
	return r, nil
}

// TestQuantizeBackendModelsORT loads every model TestQuantizeBackendModels' integer modes write from a backend
// test model ONNX Runtime runs in float as ONNX's reference does, in ONNX Runtime: each must load and run, and hone's outputs on it must
// agree with ONNX Runtime's on the same file within 30 dB SQNR (both compute the same integers wherever their
// fusions match; elsewhere they differ by rounding steps).
func TestQuantizeBackendModelsORT(t *testing.T) {
	if err := ort.Init(""); err != nil {
		t.Fatal(err)
	}
	modes := map[string]func(m *ir.Model, in map[string]*ir.Tensor) (*ir.Model, *Report, error){
		"static": func(m *ir.Model, in map[string]*ir.Tensor) (*ir.Model, *Report, error) {
			return Static(m, oneSample(in), StaticConfig{})
		},
		"static-uint8": func(m *ir.Model, in map[string]*ir.Tensor) (*ir.Model, *Report, error) {
			return Static(m, oneSample(in), StaticConfig{Activations: ir.Uint8})
		},
		"dynamic": func(m *ir.Model, _ map[string]*ir.Tensor) (*ir.Model, *Report, error) {
			return Dynamic(m, DynamicConfig{OpTypes: DynamicOpTypes})
		},
	}
	dir := t.TempDir()
	checked := map[string]int{}
	for _, c := range backendCases(t) {
		orig := filepath.Join(dir, "orig.onnx")
		if err := onnx.Save(c.m, orig); err != nil {
			t.Fatal(err)
		}
		if fp, err := runORTFile(orig, c.m, c.inputs); err != nil || backendMismatch(fp, c.want, 1e-3) != "" {
			// ONNX Runtime does not run the float model (opset 6, an op it lacks, …) or computes something
			// else than ONNX's reference (Resize with align_corners to an output of size 1).
			continue
		}
		for name, run := range modes {
			q, _, err := run(c.m.Clone(), c.inputs)
			if err != nil {
				continue
			}
			path := filepath.Join(dir, strings.ReplaceAll(c.name, "/", "_")+"."+name+".onnx")
			if err := onnx.Save(q, path); err != nil {
				t.Fatal(err)
			}
			want, err := runORTFile(path, q, c.inputs)
			if err != nil {
				t.Errorf("%s %s: ONNX Runtime: %v", name, c.name, err)
				continue
			}
			got, err := runModel(q, c.inputs)
			if err != nil {
				t.Fatal(err)
			}
			for i, w := range want {
				db, ok, mismatch := floatSQNR(got[i], w)
				if mismatch != "" {
					t.Errorf("%s %s: output %d is %s in ONNX Runtime", name, c.name, i, mismatch)
				} else if ok && !(db >= 30) {
					t.Errorf("%s %s: output %d: hone against ONNX Runtime %.1f dB", name, c.name, i, db)
				}
			}
			checked[name]++
		}
	}
	t.Logf("models checked per mode: %v", checked)
	for name := range modes {
		if checked[name] < 15 {
			t.Errorf("%s: only %d models checked", name, checked[name])
		}
	}
}
