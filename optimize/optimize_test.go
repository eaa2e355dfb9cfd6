package optimize

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/hone-ml/hone/internal/assets"
)

// mnistModel writes the embedded MNIST CNN to a temporary file.
func mnistModel(t *testing.T) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "mnist_cnn.onnx")
	if err := os.WriteFile(p, assets.MNISTModel(), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestMNISTSearch(t *testing.T) {
	calib, eval, err := MNIST(MNISTCalib)
	if err != nil {
		t.Fatal(err)
	}
	res, err := Run(Config{Model: mnistModel(t), Calib: calib, Eval: eval, Runs: 5, Threads: 1, Log: os.Stderr})
	if res != nil {
		defer res.Close()
		res.WriteTable(os.Stderr)
	}
	if err != nil {
		t.Fatal(err)
	}
}
