//go:build ort

package quant

import (
	"fmt"
	"path/filepath"
	"testing"

	"github.com/hone-ml/hone/backend/ort"
	"github.com/hone-ml/hone/ir"
	"github.com/hone-ml/hone/onnx"
)

// runORT saves m and runs it in ONNX Runtime on one thread, with its int8 QDQ fusions on (ort.Options.Int8QDQ):
// hone's models quantize activations to int8, which ONNX Runtime on x86 otherwise runs in float32.
func runORT(t *testing.T, m *ir.Model, in map[string]*ir.Tensor) map[string]*ir.Tensor {
	t.Helper()
	if err := ort.Init(""); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "m.onnx")
	if err := onnx.Save(m, path); err != nil {
		t.Fatal(err)
	}
	out, err := ortSession(path, m, in)
	if err != nil {
		t.Fatalf("ORT rejects the quantized model: %v", err)
	}
	return out
}

// ortSession runs the model saved at path (m) in ONNX Runtime on one thread with its int8 QDQ fusions on, fed
// m's real inputs from in.
func ortSession(path string, m *ir.Model, in map[string]*ir.Tensor) (map[string]*ir.Tensor, error) {
	s, err := ort.NewSession(path, ort.Options{Threads: 1, Int8QDQ: true})
	if err != nil {
		return nil, err
	}
	defer s.Close()
	feed := map[string]*ir.Tensor{}
	for _, vi := range m.Graph.RealInputs() {
		feed[vi.Name] = in[vi.Name]
	}
	return s.Run(feed)
}

// TestDynamicMatchesORT runs the dynamically quantized models in ONNX Runtime and in hone. Both quantize the
// activations with DynamicQuantizeLinear's formula and multiply the same integers exactly, so the outputs may
// differ by float rounding of the scale products and the float ops around them — and, in deep models, by one
// activation quantization step where a float difference of 1 ulp upstream (LayerNorm, Erf, Softmax) moves a value
// across a rounding boundary. bert_tiny's activations span about ±4, so one step is 8/255 ≈ 0.03. With Conv quantized
// (ConvInteger, uint8 weights at zero point 128) ORT runs every layer's integers too (logits span ±5 for ResNet-18, ±0.35 for
// MobileNetV2; measured max |Δ| 0.024 and 0.0016).
func TestDynamicMatchesORT(t *testing.T) {
	for _, tc := range []struct {
		name, out string
		conv      bool    // every op type (Conv, and Gather's tables)
		tol       float64 // max |hone − ORT|
	}{{"mlp", "y", false, 1e-5}, {"bert_tiny", "hidden", false, 0.03}, {"bert_tiny", "hidden", true, 0.03},
		{"resnet18", "logits", true, 0.05}, {"mobilenet_v2", "logits", true, 0.005}} {
		t.Run(fmt.Sprintf("%s/all=%v", tc.name, tc.conv), func(t *testing.T) {
			cfg := DynamicConfig{}
			if tc.conv {
				cfg.OpTypes = DynamicOpTypes
			}
			q, _, err := Dynamic(loadModel(t, tc.name), cfg)
			if err != nil {
				t.Fatal(err)
			}
			io := loadIO(t, tc.name)
			h, o := runHone(t, q, io)[tc.out], runORT(t, q, io)[tc.out]
			a := compare(o, h)
			t.Logf("%s dynamic: hone vs ORT top-1 %.3f, SQNR %.1f dB, max |Δ| %.3g", tc.name, a.Top1, a.SQNR, a.MaxAbs)
			if a.Top1 < 1 || a.MaxAbs > tc.tol || a.SQNR < 40 {
				t.Errorf("hone and ORT disagree: top-1 %.3f, max |Δ| %.3g > %.0g", a.Top1, a.MaxAbs, tc.tol)
			}
		})
	}
}

// TestDynamicConvOCRMatchesORT runs TestDynamicConvOCR's dynamically quantized PP-OCRv4 det and PP-OCR cls in
// ONNX Runtime and in hone on rendered inputs (2 det pages, 8 cls lines): both compute the same integers, but a float
// op's last bit (GlobalAveragePool's summation order, in cls's squeeze-and-excitation blocks) moves the next
// DynamicQuantizeLinear's scale and with it every integer after it. Measured max |Δ| of the probabilities: det
// 4.5e-6 and 0.0076, cls up to 0.026 (a 2-class softmax); both must keep each input's top-1 (cls) and stay
// within 0.02 (det) and 0.05 (cls).
func TestDynamicConvOCRMatchesORT(t *testing.T) {
	cases := ocrCases(t)
	for _, tc := range []struct {
		name   string
		inputs int
		tol    float64
	}{{"det", 2, 0.02}, {"cls", 8, 0.05}} {
		t.Run(tc.name, func(t *testing.T) {
			c := cases[tc.name]
			q, _, err := Dynamic(c.load(t), DynamicConfig{OpTypes: DynamicOpTypes})
			if err != nil {
				t.Fatal(err)
			}
			out := q.Graph.Outputs[0].Name
			for i := range tc.inputs {
				in, err := imageSet{c.eval, c.pre}.Sample(i)
				if err != nil {
					t.Fatal(err)
				}
				a := compare(runORT(t, q, in)[out], runHone(t, q, in)[out])
				t.Logf("%s input %d: hone vs ORT max |Δ| %.3g, SQNR %.1f dB", tc.name, i, a.MaxAbs, a.SQNR)
				if a.MaxAbs > tc.tol || tc.name == "cls" && a.Top1 < 1 {
					t.Errorf("%s input %d: max |Δ| %.3g (bound %.2g), top-1 agreement %.3f", tc.name, i, a.MaxAbs, tc.tol, a.Top1)
				}
			}
		})
	}
}

// TestDynamicConvAttributesORT runs TestDynamicConvAttributes' single quantized Convs in ONNX Runtime: both
// quantize x with DynamicQuantizeLinear's formula, sum the same integers and scale them with the same float32
// Mul, so the outputs must agree to float32 rounding of the final Add.
func TestDynamicConvAttributesORT(t *testing.T) {
	for _, tc := range dynamicConvCases {
		t.Run(tc.name, func(t *testing.T) {
			_, q, feed, y := tc.build(t)
			h, o := runHone(t, q, feed)[y], runORT(t, q, feed)[y]
			a := compare(o, h)
			if a.MaxAbs > 1e-5 || len(h.F32()) != len(o.F32()) {
				t.Errorf("hone and ORT disagree: max |Δ| %.3g over %d values (ORT %d)", a.MaxAbs, len(h.F32()), len(o.F32()))
			}
		})
	}
}

// TestHalfMatchesORT runs the float16 models in ONNX Runtime (which inserts its own float32 Casts around CPU ops
// lacking float16 kernels) and in hone, and compares both with each other and with float32. bfloat16 models are
// not run: ORT's CPU provider has no bfloat16 Gemm/MatMul/Conv and does not cast around them, so it refuses
// them ("Could not find an implementation for Gemm(13)").
func TestHalfMatchesORT(t *testing.T) {
	for _, tc := range []struct {
		name, out string
		bf16      bool
	}{{"mlp", "y", false}, {"bert_tiny", "hidden", false}, {"resnet18", "logits", false}} {
		mode := "fp16"
		if tc.bf16 {
			mode = "bf16"
		}
		t.Run(tc.name+"/"+mode, func(t *testing.T) {
			q, _, err := Half(loadModel(t, tc.name), HalfConfig{BFloat16: tc.bf16, KeepIOTypes: true})
			if err != nil {
				t.Fatal(err)
			}
			io := loadIO(t, tc.name)
			h, o := runHone(t, q, io)[tc.out], runORT(t, q, io)[tc.out]
			a, ref := compare(o, h), compare(io[tc.out], o)
			t.Logf("%s %s: hone vs ORT top-1 %.3f, SQNR %.1f dB, max |Δ| %.3g; ORT vs fp32 SQNR %.1f dB",
				tc.name, mode, a.Top1, a.SQNR, a.MaxAbs, ref.SQNR)
			if a.Top1 < 1 || a.SQNR < 40 {
				t.Errorf("hone and ORT disagree: top-1 %.3f, SQNR %.1f dB", a.Top1, a.SQNR)
			}
		})
	}
}

// TestStaticMNISTInORT loads the static QDQ MNIST model in ONNX Runtime and compares its logits with hone's:
// both compute the same fake-quantized graph, so top-1 must agree on ≥ 99.5 % of the held-out digits. The
// per-tensor variant (one weight scale per tensor) runs too.
func TestStaticMNISTInORT(t *testing.T) {
	m, x, y := mnist(t)
	for _, perTensor := range []bool{false, true} {
		q, _, err := Static(m, BatchSamples{"input": rows(x, 200)}, StaticConfig{PerTensor: perTensor})
		if err != nil {
			t.Fatal(err)
		}
		in := map[string]*ir.Tensor{"input": x}
		h, o := runHone(t, q, in)["logits"], runORT(t, q, in)["logits"]
		a := compare(o, h)
		t.Logf("MNIST static (per-tensor %v): hone vs ORT top-1 agreement %.4f, max |Δ| %.3g; accuracy hone %.4f, ORT %.4f",
			perTensor, a.Top1, a.MaxAbs, top1(h, y), top1(o, y))
		if a.Top1 < 0.995 {
			t.Errorf("per-tensor %v: top-1 agreement %.4f < 0.995", perTensor, a.Top1)
		}
	}
}
