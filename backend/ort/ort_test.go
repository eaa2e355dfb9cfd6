//go:build ort

package ort_test

import (
	"errors"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/hone-ml/hone/backend/ort"
	"github.com/hone-ml/hone/internal/assets"
	"github.com/hone-ml/hone/ir"
	"github.com/hone-ml/hone/npy"
)

// repoFile finds path relative to the repository root from the package directory.
func repoFile(t testing.TB, path string) string {
	t.Helper()
	p := filepath.Join("..", "..", path)
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("%s missing (run scripts/fetch-assets.sh or the scripts/fixtures generators): %v", path, err)
	}
	return p
}

func open(t testing.TB, path string, threads int) *ort.Session {
	t.Helper()
	s, err := ort.NewSession(repoFile(t, path), ort.Options{Threads: threads})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// TestTinyMLP compares ORT on a committed Gemm/Relu model with the NumPy result stored beside it.
func TestTinyMLP(t *testing.T) {
	s := open(t, "testdata/models/tiny_mlp.onnx", 1)
	if got := s.Inputs(); len(got) != 1 || got[0].Name != "x" || got[0].DType != ir.Float32 || !slices.Equal(got[0].Shape, []int64{-1, 4}) {
		t.Errorf("inputs %v", got)
	}
	if got := s.Outputs(); len(got) != 1 || got[0].Name != "y" || !slices.Equal(got[0].Shape, []int64{-1, 3}) {
		t.Errorf("outputs %v", got)
	}
	io, _, err := npy.ReadNPZ(repoFile(t, "testdata/models/tiny_mlp_io.npz"))
	if err != nil {
		t.Fatal(err)
	}
	out, err := s.Run(map[string]*ir.Tensor{"x": io["x"]})
	if err != nil {
		t.Fatal(err)
	}
	y, want := out["y"], io["y"]
	if !slices.Equal(y.Shape, want.Shape) {
		t.Fatalf("shape %v, want %v", y.Shape, want.Shape)
	}
	for i, v := range y.F32() {
		if w := want.F32()[i]; math.Abs(float64(v-w)) > 1e-5*(1+math.Abs(float64(w))) {
			t.Errorf("y[%d] = %v, NumPy %v", i, v, w)
		}
	}
}

// TestDTypes checks every supported element type crosses the boundary intact, against the ONNX
// definitions of Neg, Not and Identity.
func TestDTypes(t *testing.T) {
	s := open(t, "testdata/models/dtypes.onnx", 1)
	vals := []float64{-3, -1, 0, 1, 2, 100}
	in := map[string]*ir.Tensor{}
	half := ir.New(ir.Float16, 2, 3)
	for i, v := range vals {
		half.Bits16()[i] = ir.FloatToHalf(float32(v) + 0.5)
	}
	in["in_float16"] = half
	f32 := ir.New(ir.Float32, 2, 3)
	f64 := ir.New(ir.Float64, 2, 3)
	i8 := ir.New(ir.Int8, 2, 3)
	u8 := ir.New(ir.Uint8, 2, 3)
	i32 := ir.New(ir.Int32, 2, 3)
	i64 := ir.New(ir.Int64, 2, 3)
	b := ir.New(ir.Bool, 2, 3)
	for i, v := range vals {
		f32.F32()[i] = float32(v) + 0.25
		f64.F64()[i] = v + 0.125
		i8.I8()[i] = int8(v)
		u8.U8()[i] = uint8(v + 3)
		i32.I32()[i] = int32(v) * 1000
		i64.I64()[i] = int64(v) << 40
		b.BoolData()[i] = i%2 == 0
	}
	for name, tt := range map[string]*ir.Tensor{"float32": f32, "float64": f64, "int8": i8, "uint8": u8, "int32": i32, "int64": i64, "bool": b} {
		in["in_"+name] = tt
	}
	out, err := s.Run(in)
	if err != nil {
		t.Fatal(err)
	}
	for name, src := range in {
		name = strings.TrimPrefix(name, "in_")
		got := out["out_"+name]
		if got == nil || got.DType != src.DType || !slices.Equal(got.Shape, src.Shape) {
			t.Errorf("%s: got %v, want %v", name, got, src)
			continue
		}
		g, x := got.Float64s(), src.Float64s()
		for i := range g {
			want := -x[i]
			switch name {
			case "uint8":
				want = x[i]
			case "bool":
				want = 1 - x[i]
			}
			if g[i] != want {
				t.Errorf("%s[%d] = %v, want %v", name, i, g[i], want)
			}
		}
	}
}

// TestDynamicShapes covers a data-dependent output shape (NonZero), an empty result and a
// rank-0 output.
func TestDynamicShapes(t *testing.T) {
	s := open(t, "testdata/models/shapes.onnx", 1)
	for _, tc := range []struct {
		v     []float32
		nz    []int64
		total float32
	}{
		{[]float32{0, 3, 0, 0, -1.5, 2}, []int64{1, 4, 5}, 3.5},
		{[]float32{0, 0}, []int64{}, 0},
		{[]float32{7}, []int64{0}, 7},
	} {
		out, err := s.Run(map[string]*ir.Tensor{"v": ir.FromFloat32([]int{len(tc.v)}, tc.v)})
		if err != nil {
			t.Fatalf("%v: %v", tc.v, err)
		}
		nz, total := out["nz"], out["total"]
		if !slices.Equal(nz.Shape, []int{1, len(tc.nz)}) || !slices.Equal(nz.I64(), tc.nz) {
			t.Errorf("NonZero(%v) = %v %v, want %v", tc.v, nz, nz.I64(), tc.nz)
		}
		if total.Rank() != 0 || total.F32()[0] != tc.total {
			t.Errorf("ReduceSum(%v) = %v %v, want scalar %v", tc.v, total, total.F32(), tc.total)
		}
	}
}

// TestPPOCRCls runs the real PP-OCR direction classifier: softmax rows, batch independence and
// thread-count independence.
func TestPPOCRCls(t *testing.T) {
	const model = ".cache/assets/ocr/ch_ppocr_mobile_v2.0_cls_infer.onnx"
	s1 := open(t, model, 1)
	s2 := open(t, model, 2)
	in := s1.Inputs()
	if len(in) != 1 || in[0].DType != ir.Float32 || len(in[0].Shape) != 4 || in[0].Shape[1] != 3 {
		t.Fatalf("inputs %v", in)
	}
	// PaddleOCR feeds the classifier 48x192 crops; the exported model leaves both dynamic.
	if !slices.Equal(in[0].Shape, []int64{-1, 3, -1, -1}) {
		t.Errorf("input shape %v, want [-1 3 -1 -1]", in[0].Shape)
	}
	h, w := 48, 192
	x := ir.New(ir.Float32, 2, 3, h, w)
	// A dark left-to-right ramp with stripes, then its horizontal mirror image: the classifier
	// decides between 0 and 180 degrees, so the two should not get identical scores.
	f := x.F32()
	for c := range 3 {
		for i := range h {
			for j := range w {
				v := float32(j)/float32(w) - 0.5
				if (i/6)%2 == 0 {
					v = -v
				}
				f[((0*3+c)*h+i)*w+j] = v
				f[((1*3+c)*h+(h-1-i))*w+(w-1-j)] = v
			}
		}
	}
	name := in[0].Name
	out1, err := s1.Run(map[string]*ir.Tensor{name: x})
	if err != nil {
		t.Fatal(err)
	}
	out2, err := s2.Run(map[string]*ir.Tensor{name: x})
	if err != nil {
		t.Fatal(err)
	}
	oname := s1.Outputs()[0].Name
	p := out1[oname]
	if !slices.Equal(p.Shape, []int{2, 2}) {
		t.Fatalf("output %v, want [2 2]", p)
	}
	for r := range 2 {
		if sum := p.F32()[2*r] + p.F32()[2*r+1]; math.Abs(float64(sum)-1) > 1e-5 {
			t.Errorf("row %d sums to %v", r, sum)
		}
	}
	for i, v := range out2[oname].F32() {
		if d := math.Abs(float64(v - p.F32()[i])); d > 1e-5 {
			t.Errorf("2 threads differ at %d by %g", i, d)
		}
	}
	first, _ := ir.FromBytes(ir.Float32, []int{1, 3, h, w}, x.Bytes()[:3*h*w*4])
	single, err := s1.Run(map[string]*ir.Tensor{name: first})
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range single[oname].F32() {
		if d := math.Abs(float64(v - p.F32()[i])); d > 1e-5 {
			t.Errorf("batch of 1 differs at %d by %g", i, d)
		}
	}
	t.Logf("ORT %s: scores %v", ort.Version(), p.F32())
}

// TestMNISTMatchesPyTorch runs the embedded demo model on its held-out digits and expects the
// predictions PyTorch recorded at training time.
func TestMNISTMatchesPyTorch(t *testing.T) {
	s, err := ort.NewSessionFromBytes("mnist_cnn", assets.MNISTModel(), ort.Options{Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	images, labels, err := assets.MNISTHeldOut()
	if err != nil {
		t.Fatal(err)
	}
	ref, err := assets.MNISTReference()
	if err != nil {
		t.Fatal(err)
	}
	out, err := s.Run(map[string]*ir.Tensor{"input": images})
	if err != nil {
		t.Fatal(err)
	}
	logits := out["logits"]
	if !slices.Equal(logits.Shape, []int{len(labels), 10}) {
		t.Fatalf("logits %v", logits)
	}
	correct, differ := 0, 0
	for i := range labels {
		row := logits.F32()[i*10 : i*10+10]
		best := 0
		for k, v := range row {
			if v > row[best] {
				best = k
			}
		}
		if int64(best) == labels[i] {
			correct++
		}
		if int64(best) != ref.Predictions[i] {
			differ++
		}
	}
	t.Logf("ORT held-out accuracy %d/%d = %.4f (PyTorch %.4f)", correct, len(labels), float64(correct)/float64(len(labels)), ref.Accuracy)
	if correct != ref.Correct || differ != 0 {
		t.Errorf("ORT: %d correct, %d predictions differ from PyTorch's (%d correct)", correct, differ, ref.Correct)
	}
}

// TestExportedModels runs the models of scripts/fixtures/export_models.py (generated in CI, not
// committed) and compares them with the PyTorch outputs saved next to each.
func TestExportedModels(t *testing.T) {
	dir := os.Getenv("HONE_MODELS")
	if dir == "" {
		dir = filepath.Join("..", "..", ".cache", "models")
	}
	for _, name := range []string{"resnet18", "mobilenet_v2", "bert_tiny", "gpt_tiny", "mlp"} {
		t.Run(name, func(t *testing.T) {
			model := filepath.Join(dir, name+".onnx")
			if _, err := os.Stat(model); err != nil {
				t.Fatalf("%s not generated: run ./scripts/setup.sh (it runs scripts/fixtures/export_models.py)", model)
			}
			s, err := ort.NewSession(model, ort.Options{Threads: 2})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			io, _, err := npy.ReadNPZ(filepath.Join(dir, name+".io.npz"))
			if err != nil {
				t.Fatal(err)
			}
			in := map[string]*ir.Tensor{}
			for _, info := range s.Inputs() {
				in[info.Name] = io[info.Name]
			}
			out, err := s.Run(in)
			if err != nil {
				t.Fatal(err)
			}
			for _, info := range s.Outputs() {
				got, want := out[info.Name], io[info.Name]
				if want == nil || !slices.Equal(got.Shape, want.Shape) {
					t.Fatalf("%s: got %v, PyTorch %v", info.Name, got, want)
				}
				var worst float64
				for i, v := range got.F32() {
					w := want.F32()[i]
					worst = max(worst, math.Abs(float64(v-w))/(1+math.Abs(float64(w))))
				}
				t.Logf("%s: max relative difference to PyTorch %.2g", info.Name, worst)
				if worst > 1e-4 {
					t.Errorf("%s differs from PyTorch by %g", info.Name, worst)
				}
			}
		})
	}
}

func TestRunErrors(t *testing.T) {
	s := open(t, "testdata/models/tiny_mlp.onnx", 1)
	good := ir.New(ir.Float32, 2, 4)
	for _, tc := range []struct {
		name string
		in   map[string]*ir.Tensor
		want string
	}{
		{"missing", map[string]*ir.Tensor{}, `missing input "x"`},
		{"dtype", map[string]*ir.Tensor{"x": ir.New(ir.Float64, 2, 4)}, `input "x" is float64[2 4], model wants float32`},
		{"rank", map[string]*ir.Tensor{"x": ir.New(ir.Float32, 8)}, "model wants rank 2"},
		{"dim", map[string]*ir.Tensor{"x": ir.New(ir.Float32, 2, 5)}, "model wants [-1 4]"},
		{"unknown", map[string]*ir.Tensor{"x": good, "z": good}, `unknown inputs ["z"]`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := s.Run(tc.in)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v, want error containing %q", err, tc.want)
			}
		})
	}
	fp16 := open(t, "testdata/models/fp16_dynamic.onnx", 1)
	if _, err := fp16.Run(map[string]*ir.Tensor{"h": ir.New(ir.Float16, 3)}); err == nil || !strings.Contains(err.Error(), `output "neg": float16 with a dynamic shape`) {
		t.Errorf("dynamic float16 output: %v", err)
	}
	if _, err := ort.NewSessionFromBytes("garbage", []byte("not a model"), ort.Options{}); err == nil || !strings.Contains(err.Error(), "ort: garbage:") {
		t.Errorf("garbage model: %v", err)
	}
	if _, err := ort.NewSession("no/such/model.onnx", ort.Options{}); err == nil {
		t.Error("missing model accepted")
	}
	if _, err := ort.NewSession(repoFile(t, "testdata/models/tiny_mlp.onnx"), ort.Options{Threads: -1}); err == nil {
		t.Error("negative threads accepted")
	}
	if err := ort.Init(repoFile(t, "testdata/models/tiny_mlp.onnx")); err == nil || !strings.Contains(err.Error(), "already initialised") {
		t.Errorf("re-Init with another library: %v", err)
	}
	s.Close()
	if _, err := s.Run(map[string]*ir.Tensor{"x": good}); !errors.Is(err, ort.ErrClosed) {
		t.Errorf("run after close: %v", err)
	}
}

func BenchmarkMNIST(b *testing.B) {
	s, err := ort.NewSessionFromBytes("mnist_cnn", assets.MNISTModel(), ort.Options{Threads: 1})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	images, _, err := assets.MNISTHeldOut()
	if err != nil {
		b.Fatal(err)
	}
	batch, _ := ir.FromBytes(ir.Float32, []int{64, 1, 28, 28}, images.Bytes()[:64*784*4])
	in := map[string]*ir.Tensor{"input": batch}
	for b.Loop() {
		if _, err := s.Run(in); err != nil {
			b.Fatal(err)
		}
	}
}

func TestFindLibrary(t *testing.T) {
	t.Setenv(ort.LibEnv, "")
	p, err := ort.FindLibrary()
	if err != nil {
		t.Fatal(err)
	}
	want, _ := filepath.Abs(filepath.Join("..", "..", ".cache", "assets", "ort", "libonnxruntime.so.1"))
	if p != want {
		t.Errorf("walking up found %s, want %s", p, want)
	}
	t.Setenv(ort.LibEnv, "/opt/elsewhere/libonnxruntime.so")
	if p, _ := ort.FindLibrary(); p != "/opt/elsewhere/libonnxruntime.so" {
		t.Errorf("with %s set: %s", ort.LibEnv, p)
	}
}
