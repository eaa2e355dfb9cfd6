package prune

import (
	"math"
	"math/rand/v2"
	"os"
	"testing"

	"github.com/hone-ml/hone/internal/assets"
	"github.com/hone-ml/hone/ir"
	"github.com/hone-ml/hone/onnx"
	"github.com/hone-ml/hone/runtime"
)

// modelCase is a real model pruned structurally in the tests, with the input shape to feed it.
type modelCase struct {
	name   string
	load   func(t *testing.T) *ir.Model
	input  []int
	layers []string
}

func fileModel(path string) func(t *testing.T) *ir.Model {
	return func(t *testing.T) *ir.Model {
		t.Helper()
		if _, err := os.Stat(path); err != nil {
			t.Fatalf("%s is absent (run ./scripts/setup.sh): %v", path, err)
		}
		m, err := onnx.Load(path)
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
}

func mnistModel(t *testing.T) *ir.Model {
	t.Helper()
	m, err := onnx.Decode(assets.MNISTModel(), "")
	if err != nil {
		t.Fatal(err)
	}
	return m
}

var structuredModels = []modelCase{
	{"mnist_cnn", mnistModel, nil, nil},
	{"resnet18", fileModel("../.cache/models/resnet18.onnx"), nil, nil},
	{"mobilenet_v2", fileModel("../.cache/models/mobilenet_v2.onnx"), nil, nil},
	{"ppocr_v4_det", fileModel("../.cache/assets/ocr/ch_PP-OCRv4_det_infer.onnx"), []int{1, 3, 64, 96}, []string{"Conv"}},
}

func randomInput(shape []int, seed uint64) *ir.Tensor {
	r := rand.New(rand.NewPCG(seed, 1))
	t := ir.New(ir.Float32, shape...)
	for i := range t.F32() {
		t.F32()[i] = r.Float32()
	}
	return t
}

// inputShape is the model's first input shape with symbolic dims at 1, unless the case names one.
func inputShape(m *ir.Model, want []int) []int {
	if want != nil {
		return want
	}
	var s []int
	for _, d := range m.Graph.RealInputs()[0].Type.Shape {
		s = append(s, max(int(d.Size), 1))
	}
	return s
}

func runHone(t *testing.T, m *ir.Model, x *ir.Tensor) map[string]*ir.Tensor {
	t.Helper()
	p, err := runtime.Compile(m, runtime.Options{Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	out, err := p.Run(map[string]*ir.Tensor{m.Graph.RealInputs()[0].Name: x})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// maxRelDiff compares two outputs: the largest |a-b| relative to the largest |b|.
func maxRelDiff(a, b *ir.Tensor) float64 {
	var d, s float64
	for i, v := range b.F32() {
		d = math.Max(d, math.Abs(float64(a.F32()[i]-v)))
		s = math.Max(s, math.Abs(float64(v)))
	}
	return d / math.Max(s, 1e-12)
}

// TestPhysicalEqualsMaskOnly prunes 30 % of output channels (L2) and checks that the physically shrunk model
// computes what the mask-only model computes, in hone; ort_test.go repeats it in ONNX Runtime.
func TestPhysicalEqualsMaskOnly(t *testing.T) {
	for _, mc := range structuredModels {
		t.Run(mc.name, func(t *testing.T) {
			m := mc.load(t)
			// PP-OCR prunes Conv only: ConvTranspose's dim 0 is its input axis, which mask-only prunes as PyTorch does and
			// physical pruning leaves alone.
			cfg := Config{Method: MethodLn, Amount: Fraction(0.3), Norm: 2, Dim: 0, Layers: mc.layers}
			phys, rep, err := Prune(m, cfg)
			if err != nil {
				t.Fatal(err)
			}
			cfg.MaskOnly = true
			mask, _, err := Prune(m, cfg)
			if err != nil {
				t.Fatal(err)
			}
			if rep.After.Params >= rep.Before.Params || rep.ChannelsAfter >= rep.ChannelsBefore {
				t.Fatalf("nothing was removed: params %d → %d, channels %d → %d", rep.Before.Params, rep.After.Params,
					rep.ChannelsBefore, rep.ChannelsAfter)
			}
			t.Logf("params %d → %d, channels %d → %d, FLOPs %.1fM → %.1fM, %d notes", rep.Before.Params,
				rep.After.Params, rep.ChannelsBefore, rep.ChannelsAfter, mega(rep.Before.FLOPs), mega(rep.After.FLOPs), len(rep.Notes))
			for _, n := range rep.Notes {
				t.Log("note:", n)
			}
			x := randomInput(inputShape(m, mc.input), 7)
			orig := runHone(t, m, x)
			a, b := runHone(t, phys, x), runHone(t, mask, x)
			for name, want := range b {
				d := maxRelDiff(a[name], want)
				if d > 1e-4 {
					t.Errorf("output %q: physical vs mask-only differ by %.3g (relative)", name, d)
				}
				if maxRelDiff(orig[name], want) < 1e-6 {
					t.Errorf("output %q: pruning changed nothing", name)
				}
			}
		})
	}
}
