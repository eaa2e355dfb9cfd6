package quant

import (
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/hone-ml/hone/ir"
	"github.com/hone-ml/hone/npy"
	"github.com/hone-ml/hone/onnx"
	"github.com/hone-ml/hone/runtime"
)

// modelPath returns .cache/models/NAME.onnx from the repository root (fetched by scripts/fetch-assets.sh).
func modelPath(t testing.TB, name string) string {
	t.Helper()
	p := filepath.Join("..", ".cache", "models", name+".onnx")
	if _, err := os.Stat(p); err != nil {
		t.Skipf("%s missing: run scripts/fetch-assets.sh", p)
	}
	return p
}

func loadModel(t testing.TB, name string) *ir.Model {
	t.Helper()
	m, err := onnx.Load(modelPath(t, name))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// loadIO reads NAME.io.npz: the inputs and reference outputs the model was exported with (PyTorch's).
func loadIO(t testing.TB, name string) map[string]*ir.Tensor {
	t.Helper()
	arrs, _, err := npy.ReadNPZ(filepath.Join("..", ".cache", "models", name+".io.npz"))
	if err != nil {
		t.Fatal(err)
	}
	return arrs
}

func runHone(t testing.TB, m *ir.Model, in map[string]*ir.Tensor) map[string]*ir.Tensor {
	t.Helper()
	p, err := runtime.Compile(m, runtime.Options{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	feed := map[string]*ir.Tensor{}
	for _, vi := range p.Inputs() {
		feed[vi.Name] = in[vi.Name]
	}
	out, err := p.Run(feed)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// saveChecked saves m to a temporary q.onnx, runs the ONNX checker on it and returns its path.
func saveChecked(t testing.TB, m *ir.Model) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "q.onnx")
	if err := onnx.Save(m, path); err != nil {
		t.Fatal(err)
	}
	onnxCheck(t, path)
	return path
}

// onnxCheck runs the onnx package's full checker on saved models through Debian's python3-onnx.
func onnxCheck(t testing.TB, paths ...string) {
	t.Helper()
	const py = "/usr/bin/python3"
	if _, err := os.Stat(py); err != nil {
		t.Skipf("%s missing: cannot run the ONNX checker", py)
	}
	// One interpreter for all the paths; each failure names its file.
	cmd := exec.Command(py, "-c", `import onnx,sys
bad = 0
for p in sys.argv[1:]:
    try:
        onnx.checker.check_model(onnx.load(p), full_check=True)
    except Exception as e:
        print(p, e); bad += 1
sys.exit(bad > 0)`)
	cmd.Args = append(cmd.Args, paths...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("ONNX checker rejects: %v\n%s", err, out)
	}
}

// agreement compares two outputs row by row (the last axis holds the scores): the fraction of rows with the same
// argmax, the SQNR of b against a in dB, and the largest absolute difference.
type agreement struct {
	Top1, SQNR, MaxAbs float64
}

func compare(a, b *ir.Tensor) agreement {
	x, y := a.Float64s(), b.Float64s()
	var sig, noise, maxAbs float64
	for i := range x {
		sig += x[i] * x[i]
		d := x[i] - y[i]
		noise += d * d
		maxAbs = math.Max(maxAbs, math.Abs(d))
	}
	cols := a.Shape[len(a.Shape)-1]
	rows, same := len(x)/cols, 0
	for r := 0; r < rows; r++ {
		if argmax(x[r*cols:(r+1)*cols]) == argmax(y[r*cols:(r+1)*cols]) {
			same++
		}
	}
	return agreement{Top1: float64(same) / float64(rows), SQNR: 10 * math.Log10(sig/math.Max(noise, 1e-30)), MaxAbs: maxAbs}
}

// fileRatio is the size of file a over file b.
func fileRatio(t testing.TB, a, b string) float64 {
	t.Helper()
	sa, err := os.Stat(a)
	if err != nil {
		t.Fatal(err)
	}
	sb, err := os.Stat(b)
	if err != nil {
		t.Fatal(err)
	}
	return float64(sa.Size()) / float64(sb.Size())
}
