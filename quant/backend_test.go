package quant

import (
	"fmt"
	"math"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/hone-ml/hone/ir"
	"github.com/hone-ml/hone/onnx"
	"github.com/hone-ml/hone/runtime"
)

// backendData is ONNX's backend test suite (Debian's libonnx-testdata, ONNX 1.12): one small model per op
// variant, with inputs and the outputs ONNX's reference implementation computed.
const backendData = "/usr/share/libonnx-testdata/data"

// backendCase is one backend test model with its first data set.
type backendCase struct {
	name   string
	m      *ir.Model
	inputs map[string]*ir.Tensor
	want   []*ir.Tensor // the reference outputs, in graph output order
}

// backendCases loads every backend test model (suites node, pytorch-converted, pytorch-operator, simple) whose
// ops hone runs and whose first data set hone reproduces (within 1e-4 relative, as the conformance suite
// checks; NaN where the reference has NaN). It skips the test when the data is not installed.
func backendCases(t *testing.T) []backendCase {
	t.Helper()
	var dirs []string
	for _, s := range []string{"node", "pytorch-converted", "pytorch-operator", "simple"} {
		d, _ := filepath.Glob(filepath.Join(backendData, s, "*"))
		dirs = append(dirs, d...)
	}
	if len(dirs) == 0 {
		t.Skipf("no ONNX backend tests under %s (install Debian's libonnx-testdata: scripts/setup.sh does)", backendData)
	}
	var cases []backendCase
	for _, dir := range dirs {
		m, err := onnx.Load(filepath.Join(dir, "model.onnx"))
		if err != nil || slices.ContainsFunc(m.Graph.Nodes, func(n *ir.Node) bool { return !runtime.IsSupported(n.Domain, n.OpType) }) {
			continue
		}
		p, err := runtime.Compile(m.Clone(), runtime.Options{Threads: 1})
		if err != nil {
			continue
		}
		c := backendCase{name: filepath.Base(filepath.Dir(dir)) + "/" + filepath.Base(dir), m: m, inputs: map[string]*ir.Tensor{}}
		read := func(kind string, i int) *ir.Tensor {
			x, err := onnx.ReadTensor(filepath.Join(dir, "test_data_set_0", fmt.Sprintf("%s_%d.pb", kind, i)))
			if err != nil {
				return nil
			}
			return x
		}
		ok := true
		for i, vi := range p.Inputs() {
			x := read("input", i)
			ok = ok && x != nil
			c.inputs[vi.Name] = x
		}
		for i := range p.Outputs() {
			x := read("output", i)
			ok = ok && x != nil
			c.want = append(c.want, x)
		}
		if !ok {
			continue
		}
		if got, err := runOutputs(p, c.inputs); err != nil || backendMismatch(got, c.want, 1e-4) != "" {
			continue
		}
		cases = append(cases, c)
	}
	return cases
}

// runOutputs runs p and returns its outputs in graph output order.
func runOutputs(p *runtime.Plan, in map[string]*ir.Tensor) ([]*ir.Tensor, error) {
	out, err := p.Run(in)
	if err != nil {
		return nil, err
	}
	var r []*ir.Tensor
	for _, vo := range p.Outputs() {
		r = append(r, out[vo.Name])
	}
	return r, nil
}

// runModel compiles m on one thread and runs it (runOutputs).
func runModel(m *ir.Model, in map[string]*ir.Tensor) ([]*ir.Tensor, error) {
	p, err := runtime.Compile(m, runtime.Options{Threads: 1})
	if err != nil {
		return nil, err
	}
	return runOutputs(p, in)
}

// floatSQNR is the SQNR of got against want in dB, or why they cannot be compared: a different dtype or shape
// (mismatch), or a want that is not float32 or holds NaN or infinities (ok false, nothing to compare).
func floatSQNR(got, want *ir.Tensor) (db float64, ok bool, mismatch string) {
	if got == nil || got.DType != want.DType || fmt.Sprint(got.Shape) != fmt.Sprint(want.Shape) {
		return 0, false, fmt.Sprintf("%v, want %v", got, want)
	}
	w := want.Float64s()
	if want.DType != ir.Float32 || slices.ContainsFunc(w, func(v float64) bool { return math.IsNaN(v) || math.IsInf(v, 0) }) {
		return 0, false, ""
	}
	var sig, noise float64
	for j, v := range got.Float64s() {
		d := w[j] - v
		sig, noise = sig+w[j]*w[j], noise+d*d
	}
	return sqnr(sig, noise), true, ""
}

// backendMismatch describes the first output of got that differs from want by more than tol relative to want's
// largest magnitude (NaN must meet NaN), or returns "".
func backendMismatch(got, want []*ir.Tensor, tol float64) string {
	if len(got) != len(want) {
		return fmt.Sprintf("%d outputs, want %d", len(got), len(want))
	}
	for i, w := range want {
		g := got[i]
		if g == nil || g.DType != w.DType || fmt.Sprint(g.Shape) != fmt.Sprint(w.Shape) {
			return fmt.Sprintf("output %d is %v, want %v", i, g, w)
		}
		if w.DType == ir.String || w.DType == ir.Bool || !w.DType.IsFloat() && !w.DType.IsInt() {
			if fmt.Sprint(g) != fmt.Sprint(w) {
				return fmt.Sprintf("output %d differs", i)
			}
			continue
		}
		a, b := g.Float64s(), w.Float64s()
		scale := 0.0
		for _, v := range b {
			if !math.IsNaN(v) && !math.IsInf(v, 0) {
				scale = math.Max(scale, math.Abs(v))
			}
		}
		for j := range b {
			if math.IsNaN(b[j]) != math.IsNaN(a[j]) || !math.IsNaN(b[j]) && a[j] != b[j] && math.Abs(a[j]-b[j]) > tol*math.Max(scale, 1) {
				return fmt.Sprintf("output %d element %d = %g, want %g", i, j, a[j], b[j])
			}
		}
	}
	return ""
}

// TestQuantizeBackendModels runs every quantization mode on every ONNX backend test model hone runs (over a
// thousand small graphs: single ops in every variant, PyTorch modules exported at opset 6, …), calibrating static
// mode on the model's own test inputs. A mode either refuses with a quant error (no float op to quantize, an
// already quantized model, control flow, an opset too old to convert) or writes a model that compiles, runs and
// stays close to the float one on those inputs: output SQNR at least 30 dB for int8, 55 dB for float16, 45 dB for
// bfloat16 (outputs whose reference holds NaN or infinities, such as Sqrt of negatives, compared by dtype and
// shape only). The ONNX checker must accept every model written. This sweep found static mode quantizing Resize's
// run-time scales, 3-D convolutions hone's integer kernels could not run, and fp16/bf16 mode converting ops whose
// schema takes no 16-bit float at the model's opset (bfloat16 Conv, IsInf, Celu, …) or retyping an IR-3 model's
// weights without the graph inputs that declare them.
func TestQuantizeBackendModels(t *testing.T) {
	modes := []struct {
		name  string
		floor float64
		run   func(m *ir.Model, in map[string]*ir.Tensor) (*ir.Model, *Report, error)
		least int // models the mode must quantize, so a mode refusing everything fails
	}{
		{"static", 30, func(m *ir.Model, in map[string]*ir.Tensor) (*ir.Model, *Report, error) {
			return Static(m, oneSample(in), StaticConfig{})
		}, 150},
		{"static-uint8", 30, func(m *ir.Model, in map[string]*ir.Tensor) (*ir.Model, *Report, error) {
			return Static(m, oneSample(in), StaticConfig{Activations: ir.Uint8})
		}, 150},
		{"dynamic", 30, func(m *ir.Model, _ map[string]*ir.Tensor) (*ir.Model, *Report, error) {
			return Dynamic(m, DynamicConfig{OpTypes: DynamicOpTypes})
		}, 15},
		{"fp16", 55, func(m *ir.Model, _ map[string]*ir.Tensor) (*ir.Model, *Report, error) {
			return Half(m, HalfConfig{KeepIOTypes: true})
		}, 700},
		{"bf16", 45, func(m *ir.Model, _ map[string]*ir.Tensor) (*ir.Model, *Report, error) {
			return Half(m, HalfConfig{KeepIOTypes: true, BFloat16: true})
		}, 500},
	}
	cases := backendCases(t)
	for _, mode := range modes {
		t.Run(mode.name, func(t *testing.T) {
			done, dir := 0, t.TempDir()
			var saved []string
			for _, c := range cases {
				q, _, err := mode.run(c.m.Clone(), c.inputs)
				if err != nil {
					if !strings.HasPrefix(err.Error(), "quant: ") {
						t.Errorf("%s: %v", c.name, err)
					}
					continue
				}
				got, err := runModel(q, c.inputs)
				if err != nil {
					t.Errorf("%s: the quantized model does not run: %v", c.name, err)
					continue
				}
				for i, w := range c.want {
					db, ok, mismatch := floatSQNR(got[i], w)
					if mismatch != "" {
						t.Errorf("%s: output %d is %s", c.name, i, mismatch)
					} else if ok && !(db >= mode.floor) {
						t.Errorf("%s: output %d: SQNR %.1f dB against the reference, want ≥ %g", c.name, i, db, mode.floor)
					}
				}
				done++
				if invalidOriginals[c.name] {
					continue
				}
				path := filepath.Join(dir, strings.ReplaceAll(c.name, "/", "_")+".onnx")
				if err := onnx.Save(q, path); err != nil {
					t.Fatal(err)
				}
				saved = append(saved, path)
			}
			t.Logf("%d of %d models quantized", done, len(cases))
			onnxCheck(t, saved...)
			if done < mode.least {
				t.Errorf("%d models quantized, want at least %d", done, mode.least)
			}
		})
	}
}

// invalidOriginals are backend test models the ONNX checker rejects as they are (their Constant nodes hold int64
// tensors, which Constant takes only from opset 9): what a mode makes of them is not checked.
var invalidOriginals = map[string]bool{"pytorch-converted/test_PixelShuffle": true, "pytorch-operator/test_operator_repeat": true,
	"pytorch-operator/test_operator_repeat_dim_overflow": true}

// oneSample is a calibration set of one sample.
type oneSample map[string]*ir.Tensor

func (o oneSample) Len() int                                  { return 1 }
func (o oneSample) Sample(int) (map[string]*ir.Tensor, error) { return o, nil }
