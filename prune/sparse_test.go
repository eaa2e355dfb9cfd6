package prune

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/hone-ml/hone/ir"
	"github.com/hone-ml/hone/onnx"
)

// sparseSave prunes m to 90 % per layer with and without sparse storage and writes both files.
func sparseSave(t *testing.T, m *ir.Model) (dense, sparse string, rep *Report) {
	t.Helper()
	dir := t.TempDir()
	dense, sparse = filepath.Join(dir, "dense.onnx"), filepath.Join(dir, "sparse.onnx")
	cfg := Config{Method: MethodL1, Amount: Fraction(0.9)}
	pd, _, err := Prune(m, cfg)
	if err != nil {
		t.Fatal(err)
	}
	cfg.SparseStorage = true
	ps, rep, err := Prune(m, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := onnx.Save(pd, dense); err != nil {
		t.Fatal(err)
	}
	if err := onnx.Save(ps, sparse); err != nil {
		t.Fatal(err)
	}
	return dense, sparse, rep
}

func fileSize(t *testing.T, path string) int64 {
	t.Helper()
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return st.Size()
}

// TestSparseStorage checks that a 90 %-sparse model stored as sparse_initializer is about a third of the dense
// file (12 bytes per nonzero against 4 per weight: 0.1·12/4 = 0.3 of the weights' bytes), and that it loads
// back to exactly the dense pruned weights.
func TestSparseStorage(t *testing.T) {
	for _, mc := range []modelCase{structuredModels[0], structuredModels[1]} {
		t.Run(mc.name, func(t *testing.T) {
			m := mc.load(t)
			dense, sparse, rep := sparseSave(t, m)
			db, sb := fileSize(t, dense), fileSize(t, sparse)
			// Weight bytes of the selected layers, and the rest of the file, which sparse storage leaves alone.
			lw := 4 * rep.After.LayerParams
			rest := db - lw
			want := rest + 12*rep.After.LayerNonzero
			t.Logf("file bytes: dense %d, sparse %d (%.1f%%); layer weights %d → nonzeros %d", db, sb,
				100*float64(sb)/float64(db), rep.After.LayerParams, rep.After.LayerNonzero)
			// A few hundred bytes per tensor of proto framing (names, dims) either way.
			if d := sb - want; d < -1024 || d > 1024+int64(64*len(rep.After.Layers)) {
				t.Errorf("sparse file is %d bytes, want about %d (12 bytes per nonzero)", sb, want)
			}
			a, err := onnx.Load(dense)
			if err != nil {
				t.Fatal(err)
			}
			b, err := onnx.Load(sparse)
			if err != nil {
				t.Fatal(err)
			}
			nsparse := 0
			for name, w := range a.Graph.Initializers {
				if b.Graph.SparseInitializers[name] {
					nsparse++
				}
				if got := b.Graph.Initializers[name]; got == nil || string(got.Bytes()) != string(w.Bytes()) {
					t.Errorf("initializer %q differs after the sparse round trip", name)
				}
			}
			if nsparse != len(rep.After.Layers) {
				t.Errorf("%d sparse initializers, want one per layer (%d)", nsparse, len(rep.After.Layers))
			}
		})
	}
}

// TestSparseKernelPath runs a 95 %-sparse MNIST model on one image, which sends its Gemm layers through the
// runtime's CSR path (runtime/sparse_gemm.go, batch-1 only), and on a batch of two, which takes the dense
// kernel: each image's logits must agree.
func TestSparseKernelPath(t *testing.T) {
	m := mnistModel(t)
	p, _, err := Prune(m, Config{Method: MethodL1, Amount: Fraction(0.95)})
	if err != nil {
		t.Fatal(err)
	}
	x := randomInput([]int{2, 1, 28, 28}, 9)
	both := runHone(t, p, x)["logits"]
	for i := range 2 {
		xi, err := ir.FromBytes(ir.Float32, []int{1, 1, 28, 28}, x.Bytes()[i*784*4:(i+1)*784*4])
		if err != nil {
			t.Fatal(err)
		}
		one := runHone(t, p, xi)["logits"]
		want := ir.FromFloat32([]int{1, 10}, both.F32()[i*10:(i+1)*10])
		if d := maxRelDiff(one, want); d > 1e-5 {
			t.Errorf("image %d: batch-1 (sparse) and batch-2 (dense) logits differ by %.3g", i, d)
		}
	}
}
