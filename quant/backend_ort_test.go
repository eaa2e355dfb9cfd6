//go:build ort

package quant

import (
	"fmt"
	"math"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/hone-ml/hone/backend/ort"
	"github.com/hone-ml/hone/ir"
	"github.com/hone-ml/hone/onnx"
	"github.com/hone-ml/hone/runtime"
)

// runORTFile runs the saved model at path in ONNX Runtime (one thread, int8 QDQ fusions on) and returns its
// outputs in graph output order.
func runORTFile(path string, m *ir.Model, in map[string]*ir.Tensor) ([]*ir.Tensor, error) {
	s, err := ort.NewSession(path, ort.Options{Threads: 1, Int8QDQ: true})
	if err != nil {
		return nil, err
	}
	defer s.Close()
	feed := map[string]*ir.Tensor{}
	for _, vi := range m.Graph.RealInputs() {
		feed[vi.Name] = in[vi.Name]
	}
	out, err := s.Run(feed)
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
			p, err := runtime.Compile(q, runtime.Options{Threads: 1})
			if err != nil {
				t.Fatal(err)
			}
			got, err := runOutputs(p, c.inputs)
			if err != nil {
				t.Fatal(err)
			}
			for i, w := range want {
				g := got[i]
				if g.DType != w.DType || fmt.Sprint(g.Shape) != fmt.Sprint(w.Shape) {
					t.Errorf("%s %s: output %d is %v in hone, %v in ONNX Runtime", name, c.name, i, g, w)
					continue
				}
				if w.DType != ir.Float32 || slices.ContainsFunc(w.Float64s(), func(v float64) bool { return math.IsNaN(v) || math.IsInf(v, 0) }) {
					continue
				}
				var sig, noise float64
				gv := g.Float64s()
				for j, v := range w.Float64s() {
					sig, noise = sig+v*v, noise+(v-gv[j])*(v-gv[j])
				}
				if db := sqnr(sig, noise); !(db >= 30) {
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
