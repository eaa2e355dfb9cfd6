package quant

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/hone-ml/hone/internal/irtest"
	"github.com/hone-ml/hone/ir"
	"github.com/hone-ml/hone/onnx"
)

// toF32 converts a 16-bit float tensor to float32 for comparison (float32 passes through).
func toF32(t *ir.Tensor) *ir.Tensor {
	if t.DType == ir.Float32 {
		return t
	}
	f := t.Float64s()
	out := make([]float32, len(f))
	for i, v := range f {
		out[i] = float32(v)
	}
	return ir.FromFloat32(t.Shape, out)
}

// halfInputs converts float32 feeds to dt where the converted model declares a 16-bit input.
func halfInputs(m *ir.Model, in map[string]*ir.Tensor) map[string]*ir.Tensor {
	out := map[string]*ir.Tensor{}
	for k, v := range in {
		out[k] = v
	}
	for _, vi := range m.Graph.RealInputs() {
		t := in[vi.Name]
		if t == nil || t.DType != ir.Float32 || vi.Type.DType == ir.Float32 {
			continue
		}
		h := &half16{dt: vi.Type.DType}
		out[vi.Name] = h.convert(t)
	}
	return out
}

func TestHalfModels(t *testing.T) {
	for _, tc := range []struct {
		name, out  string
		bf16, keep bool
		minSQNR    float64
	}{
		{"mlp", "y", false, true, 40},
		{"mlp", "y", false, false, 40},
		{"mlp", "y", true, true, 25},
		{"bert_tiny", "hidden", false, true, 30},
		{"resnet18", "logits", false, true, 30},
	} {
		name := tc.name
		if tc.bf16 {
			name += "/bf16"
		} else {
			name += "/fp16"
		}
		if tc.keep {
			name += "/keep-io"
		}
		t.Run(name, func(t *testing.T) {
			m := loadModel(t, tc.name)
			q, rep, err := Half(m, HalfConfig{BFloat16: tc.bf16, KeepIOTypes: tc.keep})
			if err != nil {
				t.Fatal(err)
			}
			if r := rep.Ratio(); r > 0.51 {
				t.Errorf("size ratio %.3f > 0.51", r)
			}
			path := filepath.Join(t.TempDir(), "h.onnx")
			if err := onnx.Save(q, path); err != nil {
				t.Fatal(err)
			}
			onnxCheck(t, path)
			io := loadIO(t, tc.name)
			outName := tc.out
			if _, ok := io[outName]; !ok {
				outName = q.Graph.Outputs[0].Name
			}
			got := runHone(t, q, halfInputs(q, io))[q.Graph.Outputs[0].Name]
			if tc.keep && got.DType != ir.Float32 {
				t.Errorf("keep-io-types: output is %s", got.DType)
			}
			if !tc.keep && got.DType == ir.Float32 {
				t.Errorf("output stayed float32 without keep-io-types")
			}
			a := compare(io[outName], toF32(got))
			t.Logf("%s: top-1 %.3f, SQNR %.1f dB, max |Δ| %.3g; bytes %d → %d (%.3f×); %v", name, a.Top1, a.SQNR, a.MaxAbs,
				rep.BytesFloat, rep.BytesQuant, rep.Ratio(), rep.Notes)
			if a.SQNR < tc.minSQNR {
				t.Errorf("SQNR %.1f dB < %.0f", a.SQNR, tc.minSQNR)
			}
			if casts := irtest.OpCount(q.Graph)["Cast"]; tc.keep && casts < 2 {
				t.Errorf("keep-io-types: %d Casts, want at least one per input and output", casts)
			}
		})
	}
}

// TestHalfBlocked checks that a blocked op (TopK) and an excluded node keep float32 with Casts around them, that
// the rest computes in float16, and that the result matches the float32 graph within float16's rounding.
func TestHalfBlocked(t *testing.T) {
	b := irtest.New("g")
	x := b.Input("x", ir.Float32, 2, 8)
	w := b.Init("w", irtest.Rand(1, 8))
	k := b.Init("k", irtest.I64(3))
	m1 := b.Op("Mul", []string{x, w})
	top := b.OpN("TopK", []string{m1, k}, 2)
	ex := b.Node(&ir.Node{Name: "keep_me", OpType: "Sigmoid", Inputs: []string{top[0]}, Outputs: []string{"s"}})
	y := b.Op("Add", []string{ex.Outputs[0], b.Init("c", irtest.Rand(2, 3))})
	b.Output(y, top[1])
	b.G.Outputs[0].Type = irtest.Type(ir.Float32, 2, 3)
	b.G.Outputs[1].Type = irtest.Type(ir.Int64, 2, 3)
	m := b.Model(17)
	q, rep, err := Half(m, HalfConfig{KeepIOTypes: true, Exclude: []string{"keep_me"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range q.Graph.Nodes {
		if n.OpType == "TopK" || n.Name == "keep_me" {
			// TopK's input comes from a float16 Mul and needs a Cast; keep_me reads TopK's float32 output as is.
			p := q.Graph.Producers()[n.Inputs[0]]
			if p == nil || (p.OpType != "TopK" && (p.OpType != "Cast" || p.AttrInt("to", 0) != int64(ir.Float32))) {
				t.Errorf("%s reads %q, which is not float32", n, n.Inputs[0])
			}
		}
	}
	if len(rep.KeptFloat) != 2 {
		t.Errorf("kept float: %v, want TopK and keep_me", rep.KeptFloat)
	}
	if q.Graph.Initializers["w"].DType != ir.Float16 || q.Graph.Initializers["k"].DType != ir.Int64 {
		t.Errorf("initializers: w %s, k %s", q.Graph.Initializers["w"].DType, q.Graph.Initializers["k"].DType)
	}
	path := filepath.Join(t.TempDir(), "h.onnx")
	if err := onnx.Save(q, path); err != nil {
		t.Fatal(err)
	}
	onnxCheck(t, path)
	in := map[string]*ir.Tensor{"x": irtest.Rand(3, 2, 8)}
	want, got := runHone(t, m, in), runHone(t, q, in)
	if d := compare(want[y], got[y]); d.MaxAbs > 4e-3 {
		t.Errorf("max |Δ| %.3g vs float32", d.MaxAbs)
	}
	if d := compare(want[top[1]], got[top[1]]); d.MaxAbs != 0 {
		t.Errorf("TopK indices differ")
	}
	if _, _, err := Half(m, HalfConfig{Exclude: []string{"nope"}}); err == nil {
		t.Error("unknown exclude accepted")
	}
}

// TestHalfBeyondRange converts a Conv → BatchNormalization whose running variance (1e8) float16 cannot hold, as
// in PP-OCRv4 det's head: the BatchNormalization must stay float32 (reported, with Casts around it) instead of
// having its variance clamped to 65504, and the output must match float32 within float16's rounding. Clamping
// would scale the output by √(1e8/65504) ≈ 39.
func TestHalfBeyondRange(t *testing.T) {
	b := irtest.New("bn")
	x := b.Input("x", ir.Float32, 1, 2, 3, 3)
	w := b.Init("w", irtest.Rand(1, 2, 2, 1, 1))
	conv := b.Op("Conv", []string{x, w})
	bn := b.Op("BatchNormalization", []string{conv, b.Init("g", irtest.F32([]int{2}, 1, 0.8)),
		b.Init("beta", irtest.F32([]int{2}, 0.1, -0.2)), b.Init("mean", irtest.F32([]int{2}, 3, -5)),
		b.Init("var", irtest.F32([]int{2}, 1e8, 4e7))}, irtest.Float("epsilon", 1e-5))
	b.Output(bn)
	b.G.Outputs[0].Type = irtest.Type(ir.Float32, 1, 2, 3, 3)
	m := b.Model(13)
	q, rep, err := Half(m, HalfConfig{KeepIOTypes: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.KeptFloat) != 1 || !strings.Contains(rep.KeptFloat[0].Node, "BatchNormalization") {
		t.Errorf("kept float %v, want the BatchNormalization", rep.KeptFloat)
	}
	if q.Graph.Initializers["var"].DType != ir.Float32 || q.Graph.Initializers["w"].DType != ir.Float16 {
		t.Errorf("var is %s, w is %s", q.Graph.Initializers["var"].DType, q.Graph.Initializers["w"].DType)
	}
	// Inputs of magnitude 1e4, the scale the variance implies.
	xin := irtest.Rand(4, 1, 2, 3, 3)
	for i := range xin.F32() {
		xin.F32()[i] *= 1e4
	}
	in := map[string]*ir.Tensor{"x": xin}
	want, got := runHone(t, m, in)[bn], runHone(t, q, in)[bn]
	if d := compare(want, got); d.SQNR < 50 {
		t.Errorf("SQNR %.1f dB vs float32 (max |Δ| %.3g)", d.SQNR, d.MaxAbs)
	}
}
