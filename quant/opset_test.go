package quant

import (
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hone-ml/hone/ir"
	"github.com/hone-ml/hone/onnx"
)

// TestUpgradeTo13OCR converts PP-OCR's opset-9 rec and cls (Clip, Slice, Squeeze, Softmax in their old forms)
// to opset 13: the ONNX checker must accept the result and hone must compute exactly what the original computes.
func TestUpgradeTo13OCR(t *testing.T) {
	for name, shape := range map[string][]int{
		"ch_PP-OCRv4_rec_infer":          {1, 3, 48, 96},
		"ch_ppocr_mobile_v2.0_cls_infer": {1, 3, 48, 192},
	} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join("..", ".cache", "assets", "ocr", name+".onnx")
			if _, err := os.Stat(path); err != nil {
				t.Skipf("%s missing: run scripts/fetch-assets.sh", path)
			}
			m, err := onnx.Load(path)
			if err != nil {
				t.Fatal(err)
			}
			up, err := upgradeTo13(m, "static")
			if err != nil || up == nil {
				t.Fatalf("upgradeTo13: %v, %v", up, err)
			}
			if m.Opset("") != 9 || up.Opset("") != 13 {
				t.Fatalf("opsets %d → %d, want 9 → 13 (input untouched)", m.Opset(""), up.Opset(""))
			}
			out := filepath.Join(t.TempDir(), "up.onnx")
			if err := onnx.Save(up, out); err != nil {
				t.Fatal(err)
			}
			onnxCheck(t, out)
			x := ir.New(ir.Float32, shape...)
			rng := rand.New(rand.NewPCG(3, 4))
			for i := range x.F32() {
				x.F32()[i] = rng.Float32()*2 - 1
			}
			in := map[string]*ir.Tensor{"x": x}
			a, b := runHone(t, m, in), runHone(t, up, in)
			for k, v := range a {
				if c := compare(v, b[k]); c.MaxAbs != 0 {
					t.Errorf("%s differs after the upgrade: max |Δ| %.3g", k, c.MaxAbs)
				}
			}
		})
	}
}

// TestUpgradeTo13Refuses checks the conversions that cannot keep a model's meaning fail with the node named.
func TestUpgradeTo13Refuses(t *testing.T) {
	vi := func(name string, dims ...int64) *ir.ValueInfo {
		s := make([]ir.Dim, len(dims))
		for i, d := range dims {
			s[i] = ir.DimOf(d)
		}
		return &ir.ValueInfo{Name: name, Type: ir.Type{DType: ir.Float32, Shape: s, HasShape: true}}
	}
	for _, tc := range []struct {
		node *ir.Node
		want string
	}{
		{&ir.Node{Name: "sm", OpType: "Softmax", Inputs: []string{"x"}, Outputs: []string{"y"}}, `"sm" (Softmax)`},
		{&ir.Node{Name: "up", OpType: "Upsample", Inputs: []string{"x"}, Outputs: []string{"y"}}, `"up" (Upsample)`},
	} {
		m := &ir.Model{Opsets: []ir.OpsetImport{{Domain: "", Version: 9}}, Graph: &ir.Graph{
			Inputs: []*ir.ValueInfo{vi("x", 1, 4, 5)}, Outputs: []*ir.ValueInfo{{Name: "y"}}, Nodes: []*ir.Node{tc.node},
			Initializers: map[string]*ir.Tensor{}}}
		if _, err := upgradeTo13(m, "static"); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want an error naming %s", tc.node.OpType, err, tc.want)
		}
	}
}
