package quant

import (
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hone-ml/hone/internal/irtest"
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
		opset int64
		node  *ir.Node
		want  string
	}{
		{9, &ir.Node{Name: "sm", OpType: "Softmax", Inputs: []string{"x"}, Outputs: []string{"y"}}, `"sm" (Softmax)`},
		{9, &ir.Node{Name: "up", OpType: "Upsample", Inputs: []string{"x", "x"}, Outputs: []string{"y"}, Attrs: []*ir.Attr{{Name: "mode", Type: ir.AttrString, S: "cubic"}}}, `"up" (Upsample): mode "cubic"`},
		{10, &ir.Node{Name: "rs", OpType: "Resize", Inputs: []string{"x", "x"}, Outputs: []string{"y"}}, `"rs" (Resize): its nearest rounding`},
		{8, &ir.Node{Name: "bn", OpType: "BatchNormalization", Inputs: []string{"x", "x", "x", "x", "x"}, Outputs: []string{"y"}, Attrs: []*ir.Attr{{Name: "spatial", Type: ir.AttrInt, I: 0}}}, `"bn" (BatchNormalization) normalises each activation`},
		{6, &ir.Node{Name: "lstm", OpType: "LSTM", Inputs: []string{"x"}, Outputs: []string{"y"}}, `"lstm" (LSTM) changed form in 7`},
		{7, &ir.Node{Name: "is", OpType: "ImageScaler", Inputs: []string{"x"}, Outputs: []string{"y"}}, `"is" (ImageScaler) is an experimental op`},
		{5, &ir.Node{Name: "r", OpType: "Relu", Inputs: []string{"x"}, Outputs: []string{"y"}}, `declares 5, older than the 6`},
	} {
		m := &ir.Model{Opsets: []ir.OpsetImport{{Domain: "", Version: tc.opset}}, Graph: &ir.Graph{
			Inputs: []*ir.ValueInfo{vi("x", 1, 4, 5)}, Outputs: []*ir.ValueInfo{{Name: "y"}}, Nodes: []*ir.Node{tc.node},
			Initializers: map[string]*ir.Tensor{}}}
		if _, err := upgradeTo13(m, "static"); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want an error naming %s", tc.node.OpType, err, tc.want)
		}
	}
}

// TestUpgradeTo13Backend converts every ONNX backend test model of opsets 6 to 12 that hone runs (the
// pytorch-converted suite is opset 6, with the broadcast attributes of its era) to opset 13: each converted model
// must give its reference outputs, and the ONNX checker must accept every one (attributes the old forms had, such
// as BatchNormalization's is_test or Add's broadcast, are errors at 13). A refusal must name the node.
func TestUpgradeTo13Backend(t *testing.T) {
	dir := t.TempDir()
	var saved []string
	converted, refused := map[int64]int{}, map[string]int{}
	for _, c := range backendCases(t) {
		have := c.m.Opset("")
		if have == 0 || have >= 13 {
			continue
		}
		up, err := upgradeTo13(c.m, "static")
		if err != nil {
			if have >= 6 && !strings.Contains(err.Error(), "node ") {
				t.Errorf("%s: refusal names no node: %v", c.name, err)
			}
			refused[err.Error()]++
			continue
		}
		got, err := runModel(up, c.inputs)
		if err != nil {
			t.Errorf("%s: converted model: %v", c.name, err)
			continue
		}
		if msg := backendMismatch(got, c.want, 1e-4); msg != "" {
			t.Errorf("%s (opset %d): converted model: %s", c.name, have, msg)
		}
		converted[have]++
		path := filepath.Join(dir, strings.ReplaceAll(c.name, "/", "_")+".onnx")
		if err := onnx.Save(up, path); err != nil {
			t.Fatal(err)
		}
		saved = append(saved, path)
	}
	t.Logf("converted per opset: %v; refused: %v", converted, refused)
	if converted[6] < 50 || converted[7]+converted[8] < 10 || converted[9]+converted[10]+converted[11]+converted[12] < 100 {
		t.Errorf("converted per opset %v: fewer than expected", converted)
	}
	onnxCheck(t, saved...)
}

// TestUpgradeTo13LegacyBroadcast converts opset-6 arithmetic that broadcasts from an axis, with B a constant
// (reshaped) and a graph input (an opset-13 Unsqueeze): the converted model computes what the original does and
// passes the ONNX checker.
func TestUpgradeTo13LegacyBroadcast(t *testing.T) {
	b := irtest.New("legacy")
	x := b.Input("x", ir.Float32, 2, 3, 4, 5)
	s := b.Input("s", ir.Float32, 3, 4)
	y := b.Op("Add", []string{x, b.Init("bias", irtest.Rand(1, 3))}, irtest.Int("broadcast", 1), irtest.Int("axis", 1))
	y = b.Op("Mul", []string{y, s}, irtest.Int("broadcast", 1), irtest.Int("axis", 1))
	b.Output(y)
	m := b.Model(6)
	up, err := upgradeTo13(m, "static")
	if err != nil {
		t.Fatal(err)
	}
	if ops := irtest.OpCount(up.Graph); ops["Unsqueeze"] != 1 {
		t.Errorf("converted ops %v: want one Unsqueeze (for the input s)", ops)
	}
	in := map[string]*ir.Tensor{"x": irtest.Rand(2, 2, 3, 4, 5), "s": irtest.Rand(3, 3, 4)}
	want, err := runModel(m, in)
	if err != nil {
		t.Fatal(err)
	}
	got, err := runModel(up, in)
	if err != nil {
		t.Fatal(err)
	}
	if msg := backendMismatch(got, want, 0); msg != "" {
		t.Error(msg)
	}
	path := filepath.Join(t.TempDir(), "up.onnx")
	if err := onnx.Save(up, path); err != nil {
		t.Fatal(err)
	}
	onnxCheck(t, path)
}
