package ir_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hone-ml/hone/ir"
	"github.com/hone-ml/hone/onnx"
)

// onnxInferred is one entry of testdata/onnx_infer_*.json (written by gen_onnx_infer.py): an ONNX dtype and a
// shape whose entries are sizes, dim_param strings or null for unknown.
type onnxInferred struct {
	DType int   `json:"dtype"`
	Shape []any `json:"shape"`
}

// TestInferShapesMatchesONNX runs InferShapes on the OCR models and checks every value against ONNX's own shape
// inference: no disagreement on any fact both know, and every size or symbol ONNX derives, hone derives too.
func TestInferShapesMatchesONNX(t *testing.T) {
	static := map[string][]int64{"ch_PP-OCRv4_det_infer": {1, 3, 64, 96}, "ch_PP-OCRv4_rec_infer": {1, 3, 48, 160},
		"ch_ppocr_mobile_v2.0_cls_infer": {1, 3, 48, 192}}
	for _, name := range []string{"ch_PP-OCRv4_det_infer", "ch_PP-OCRv4_rec_infer", "ch_ppocr_mobile_v2.0_cls_infer",
		"ch_PP-OCRv4_det_infer_static", "ch_PP-OCRv4_rec_infer_static", "ch_ppocr_mobile_v2.0_cls_infer_static"} {
		t.Run(name, func(t *testing.T) {
			model, isStatic := strings.CutSuffix(name, "_static")
			path := filepath.Join("..", ".cache", "assets", "ocr", model+".onnx")
			if _, err := os.Stat(path); err != nil {
				t.Skipf("model not fetched (scripts/fetch-assets.sh): %v", err)
			}
			m, err := onnx.Load(path)
			if err != nil {
				t.Fatal(err)
			}
			if isStatic { // fix the input's dims as the fixture script did
				for i, d := range static[model] {
					m.Graph.Inputs[0].Type.Shape[i] = ir.DimOf(d)
				}
			}
			if err := ir.InferShapes(m); err != nil {
				t.Fatal(err)
			}
			data, err := os.ReadFile(filepath.Join("testdata", "onnx_infer_"+name+".json"))
			if err != nil {
				t.Fatal(err)
			}
			var ref map[string]onnxInferred
			if err := json.Unmarshal(data, &ref); err != nil {
				t.Fatal(err)
			}
			var facts, have, extra int
			var missed []string
			for v, want := range ref {
				got, ok := m.Graph.TypeOfValue(v)
				if !ok {
					t.Errorf("%s: no type inferred (ONNX: %v)", v, want)
					continue
				}
				if got.DType != ir.DType(want.DType) {
					t.Errorf("%s: dtype %s, ONNX says %s", v, got.DType, ir.DType(want.DType))
				}
				if want.Shape == nil {
					continue
				}
				if !got.HasShape {
					t.Errorf("%s: rank unknown, ONNX knows %v", v, want.Shape)
					continue
				}
				if len(got.Shape) != len(want.Shape) {
					t.Errorf("%s: shape %s, ONNX says %v", v, got, want.Shape)
					continue
				}
				for i, w := range want.Shape {
					d := got.Shape[i]
					switch w := w.(type) {
					case float64:
						facts++
						switch {
						case d.Known() && d.Size != int64(w):
							t.Errorf("%s: dim %d is %d, ONNX says %v", v, i, d.Size, w)
						case d.Known():
							have++
						default:
							missed = append(missed, v)
						}
					case string:
						if strings.HasPrefix(w, "unk__") { // ONNX's name for a dim it does not know
							if d.Known() || d.Param != "" {
								extra++
							}
							continue
						}
						if d.Known() && m.Graph.IsGraphOutput(v) {
							// ONNX keeps an output's declared symbol even where it derives a size; a size is
							// more specific and the runtime checks it on every run.
							extra++
							continue
						}
						facts++
						switch {
						case d.Known() || (d.Param != "" && d.Param != w):
							t.Errorf("%s: dim %d is %s, ONNX says %s", v, i, d, w)
						case d.Param == w:
							have++
						default:
							missed = append(missed, v)
						}
					default:
						if d.Known() || d.Param != "" {
							extra++
						}
					}
				}
			}
			t.Logf("%d values; hone derives %d of ONNX's %d dim facts, and %d dims ONNX leaves unknown", len(ref), have, facts, extra)
			if have != facts {
				t.Errorf("hone misses %d dim facts ONNX derives, e.g. in %v", facts-have, missed[:min(len(missed), 10)])
			}
		})
	}
}
