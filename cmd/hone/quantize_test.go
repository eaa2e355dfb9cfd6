package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hone-ml/hone/internal/assets"
	"github.com/hone-ml/hone/ir"
	"github.com/hone-ml/hone/npy"
	"github.com/hone-ml/hone/onnx"
)

func TestQuantizeExplain(t *testing.T) {
	out, err := runCLI(t, "quantize", "explain", "--values", "0.35,-1.2,0.8,-0.5,1.5,0.05")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"[0, 255]", "zero point", "= 113", "146", "max error", ": true"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if _, err := runCLI(t, "quantize", "explain", "--values", "1,x"); err == nil {
		t.Error("bad value accepted")
	}
	if _, err := runCLI(t, "quantize", "explain", "--scheme", "odd"); err == nil {
		t.Error("bad scheme accepted")
	}
}

func TestQuantizeDynamicCLI(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join("..", "..", ".cache", "models", "mlp.onnx")
	if _, err := os.Stat(in); err != nil {
		t.Skipf("%s missing: run scripts/fetch-assets.sh", in)
	}
	out := filepath.Join(dir, "mlp.int8.onnx")
	res, err := runCLI(t, "quantize", in, "-o", out, "--mode", "dynamic")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"3 nodes quantized", "weights:", "file:", "×"} {
		if !strings.Contains(res, want) {
			t.Errorf("report lacks %q:\n%s", want, res)
		}
	}
	if _, err := onnx.Load(out); err != nil {
		t.Fatal(err)
	}
	res, err = runCLI(t, "quantize", in, "-o", filepath.Join(dir, "mlp.fp16.onnx"), "--mode", "fp16", "--keep-io-types")
	if err != nil || !strings.Contains(res, "mode fp16") || !strings.Contains(res, "(0.500×)") {
		t.Errorf("fp16: %v\n%s", err, res)
	}
	// The input is never overwritten, and bad flags fail with a message.
	for _, args := range [][]string{
		{"quantize", in, "-o", in, "--mode", "dynamic"},
		{"quantize", in, "--mode", "dynamic"},
		{"quantize", in, "-o", out + "2", "--mode", "int3"},
		{"quantize", in, "-o", out + "3", "--exclude", "nope"},
		{"quantize", out, "-o", out + "4"},
	} {
		if _, err := runCLI(t, args...); err == nil {
			t.Errorf("%v accepted", args)
		}
	}
}

func TestQuantizeStaticCLI(t *testing.T) {
	dir := t.TempDir()
	in := mnistFile(t)
	x, _, err := assets.MNISTHeldOut()
	if err != nil {
		t.Fatal(err)
	}
	calib := filepath.Join(dir, "calib")
	if err := os.Mkdir(calib, 0o755); err != nil {
		t.Fatal(err)
	}
	row := x.NumBytes() / x.Shape[0]
	for i := 0; i < 8; i++ {
		s, _ := ir.FromBytes(ir.Float32, []int{1, 1, 28, 28}, x.Bytes()[i*row:(i+1)*row])
		if err := npy.WriteFile(filepath.Join(calib, fmt.Sprintf("%02d.npy", i)), s); err != nil {
			t.Fatal(err)
		}
	}
	out := filepath.Join(dir, "q.onnx")
	res, err := runCLI(t, "quantize", in, "-o", out, "--mode", "static", "--calib", calib, "--calibrator", "percentile")
	if err != nil || !strings.Contains(res, "mode static") || !strings.Contains(res, "calibrator percentile over 8 samples") {
		t.Fatalf("%v\n%s", err, res)
	}
	empty := filepath.Join(dir, "empty")
	os.Mkdir(empty, 0o755)
	for _, args := range [][]string{
		{"quantize", in, "-o", out + "2", "--mode", "static"},
		{"quantize", in, "-o", out + "3", "--mode", "static", "--calib", empty},
		{"quantize", in, "-o", out + "4", "--mode", "static", "--calib", calib, "--calibrator", "kl"},
	} {
		if _, err := runCLI(t, args...); err == nil {
			t.Errorf("%v accepted", args)
		}
	}
}
