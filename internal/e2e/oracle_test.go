//go:build ort

package e2e

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/hone-ml/hone/backend/ort"
	"github.com/hone-ml/hone/bench"
	"github.com/hone-ml/hone/internal/assets"
	"github.com/hone-ml/hone/ir"
	"github.com/hone-ml/hone/onnx"
	"github.com/hone-ml/hone/runtime"
)

func repoRoot(t *testing.T) string {
	t.Helper()
	dir, _ := os.Getwd()
	for d := dir; d != "/"; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return d
		}
	}
	t.Fatal("no go.mod above the test directory")
	return ""
}

// asset returns the path of a fetched or generated model, failing (not skipping) when setup was not run.
func asset(t *testing.T, rel string) string {
	t.Helper()
	p := filepath.Join(repoRoot(t), ".cache", rel)
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("%s missing: run ./scripts/setup.sh first (%v)", p, err)
	}
	return p
}

type oracleCase struct {
	name   string
	model  string           // path
	shapes map[string][]int // per input; nil = declared with batch
	batch  int
}

// within reports whether got matches want to the tolerance: relative error ≤ 1e-4, or absolute ≤ 1e-5
// near zero. It returns the worst relative error seen (|Δ| / max(|want|, 0.1)) for the report.
func within(got, want *ir.Tensor) (ok bool, worstAbs, worstRel float64, where int) {
	g, w := got.Float64s(), want.Float64s()
	ok = len(g) == len(w)
	if !ok {
		return false, math.Inf(1), math.Inf(1), -1
	}
	for i := range w {
		d := math.Abs(g[i] - w[i])
		if math.IsNaN(g[i]) != math.IsNaN(w[i]) {
			return false, math.Inf(1), math.Inf(1), i
		}
		if d > 1e-5 && d > 1e-4*math.Abs(w[i]) {
			ok = false
		}
		if d > worstAbs {
			worstAbs, where = d, i
		}
		if r := d / math.Max(math.Abs(w[i]), 1e-5); d > 1e-5 && r > worstRel {
			worstRel = r
		}
	}
	return ok, worstAbs, worstRel, where
}

func TestOutputsMatchONNXRuntime(t *testing.T) {
	if err := ort.Init(""); err != nil {
		t.Fatalf("ONNX Runtime library: %v (run ./scripts/setup.sh, or set HONE_ORT_LIB)", err)
	}
	dir := t.TempDir()
	mnist := filepath.Join(dir, "mnist_cnn.onnx")
	if err := os.WriteFile(mnist, assets.MNISTModel(), 0o644); err != nil {
		t.Fatal(err)
	}
	det := asset(t, "assets/ocr/ch_PP-OCRv4_det_infer.onnx")
	rec := asset(t, "assets/ocr/ch_PP-OCRv4_rec_infer.onnx")
	cls := asset(t, "assets/ocr/ch_ppocr_mobile_v2.0_cls_infer.onnx")
	cases := []oracleCase{
		{"ppocr_det_640x640", det, map[string][]int{"x": {1, 3, 640, 640}}, 0},
		{"ppocr_det_480x800", det, map[string][]int{"x": {1, 3, 480, 800}}, 0},
		{"ppocr_det_batch2", det, map[string][]int{"x": {2, 3, 256, 320}}, 0},
		{"ppocr_det_64x96", det, map[string][]int{"x": {1, 3, 64, 96}}, 0},
		{"ppocr_rec_48x320", rec, map[string][]int{"x": {1, 3, 48, 320}}, 0},
		{"ppocr_rec_batch3", rec, map[string][]int{"x": {3, 3, 48, 320}}, 0},
		{"ppocr_cls_48x192", cls, map[string][]int{"x": {1, 3, 48, 192}}, 0},
		{"ppocr_cls_batch4", cls, map[string][]int{"x": {4, 3, 48, 192}}, 0},
		{"mnist_cnn", mnist, nil, 1},
		{"mnist_cnn_batch8", mnist, nil, 8},
	}
	for _, m := range []string{"resnet18", "mobilenet_v2", "mlp"} {
		p := asset(t, "models/"+m+".onnx")
		cases = append(cases, oracleCase{m, p, nil, 1}, oracleCase{m + "_batch2", p, nil, 2})
	}
	for _, m := range []string{"bert_tiny", "gpt_tiny"} {
		p := asset(t, "models/"+m+".onnx")
		for _, b := range []int{1, 3} {
			shapes := map[string][]int{"input_ids": {b, 24}, "attention_mask": {b, 24}}
			cases = append(cases, oracleCase{fmt.Sprintf("%s_batch%d", m, b), p, shapes, 0})
		}
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m, err := onnx.Load(c.model)
			if err != nil {
				t.Fatal(err)
			}
			plan, err := runtime.Compile(m, runtime.Options{Threads: 2})
			if err != nil {
				t.Fatal(err)
			}
			shapes := c.shapes
			if shapes == nil {
				shapes = map[string][]int{}
			}
			inputs, err := bench.MakeInputs(plan.Inputs(), shapes, c.batch)
			if err != nil {
				t.Fatal(err)
			}
			got, err := plan.Run(inputs)
			if err != nil {
				t.Fatal(err)
			}
			sess, err := ort.NewSession(c.model, ort.Options{Threads: 2})
			if err != nil {
				t.Fatal(err)
			}
			defer sess.Close()
			want, err := sess.Run(inputs)
			if err != nil {
				t.Fatal(err)
			}
			for name, w := range want {
				g, ok := got[name]
				if !ok {
					t.Fatalf("hone did not produce output %q", name)
				}
				if fmt.Sprint(g.Shape) != fmt.Sprint(w.Shape) || g.DType != w.DType {
					t.Fatalf("output %q: hone %s, ORT %s", name, g, w)
				}
				ok, abs, rel, at := within(g, w)
				t.Logf("output %q %v: max |Δ| %.3g, max rel %.3g", name, w.Shape, abs, rel)
				if !ok {
					t.Errorf("output %q differs from ONNX Runtime beyond 1e-4 relative / 1e-5 absolute: max |Δ| %.3g at %d (hone %g, ORT %g)",
						name, abs, at, g.Float64s()[at], w.Float64s()[at])
				}
			}
		})
	}
}
