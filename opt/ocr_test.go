package opt_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/hone-ml/hone/internal/irtest"
	"github.com/hone-ml/hone/ir"
	"github.com/hone-ml/hone/onnx"
	"github.com/hone-ml/hone/runtime"
)

// TestOCRModels optimises the PP-OCR models and checks the plan computes what the unoptimised one does on a
// small input, and that the fusions fired (fewer nodes).
func TestOCRModels(t *testing.T) {
	for name, shape := range map[string][]int{
		"ch_PP-OCRv4_det_infer":          {1, 3, 64, 96},
		"ch_PP-OCRv4_rec_infer":          {1, 3, 48, 160},
		"ch_ppocr_mobile_v2.0_cls_infer": {1, 3, 48, 192},
	} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join("..", ".cache", "assets", "ocr", name+".onnx")
			if _, err := os.Stat(path); err != nil {
				t.Skipf("model not fetched (scripts/fetch-assets.sh): %v", err)
			}
			m, err := onnx.Load(path)
			if err != nil {
				t.Fatal(err)
			}
			ref, err := runtime.Compile(m, runtime.Options{NoOptimize: true, Threads: 1})
			if err != nil {
				t.Fatal(err)
			}
			p, err := runtime.Compile(m, runtime.Options{Threads: 1})
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("nodes %d → %d; optimised ops %v", len(m.Graph.Nodes), len(p.Graph.Nodes), irtest.OpCount(p.Graph))
			if len(p.Graph.Nodes) >= len(m.Graph.Nodes) {
				t.Errorf("optimisation removed nothing")
			}
			x := irtest.Rand(1, shape...)
			want, err := ref.RunOrdered([]*ir.Tensor{x})
			if err != nil {
				t.Fatal(err)
			}
			got, err := p.RunOrdered([]*ir.Tensor{x})
			if err != nil {
				t.Fatal(err)
			}
			for i := range want {
				sameTol(t, "output", got[i], want[i], 1e-3)
			}
		})
	}
}
