package main

import (
	"fmt"
	"image"
	"image/png"
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
	// Conv as ConvInteger: MobileNetV2's 52 convolutions and its classifier Gemm.
	mb := filepath.Join("..", "..", ".cache", "models", "mobilenet_v2.onnx")
	res, err = runCLI(t, "quantize", mb, "-o", filepath.Join(dir, "mb.int8.onnx"), "--op-types", "MatMul,Gemm,Conv")
	if err != nil || !strings.Contains(res, "53 nodes quantized") {
		t.Errorf("--op-types MatMul,Gemm,Conv: %v\n%s", err, res)
	}
	res, err = runCLI(t, "quantize", in, "-o", filepath.Join(dir, "mlp.fp16.onnx"), "--mode", "fp16", "--keep-io-types")
	if err != nil || !strings.Contains(res, "mode fp16") || !strings.Contains(res, "(0.500×)") {
		t.Errorf("fp16: %v\n%s", err, res)
	}
	// The input is never overwritten (the refusal comes before any work, whatever the path's spelling), and bad
	// flags fail with a message.
	if _, err := runCLI(t, "quantize", in, "-o", filepath.Join(filepath.Dir(in), ".", filepath.Base(in)), "--mode", "dynamic"); err == nil ||
		!strings.Contains(err.Error(), "is the input model") {
		t.Errorf("-o the input: %v", err)
	}
	for _, args := range [][]string{
		{"quantize", in, "--mode", "dynamic"},
		{"quantize", in, "-o", out + "2", "--mode", "int3"},
		{"quantize", in, "-o", out + "3", "--exclude", "nope"},
		{"quantize", out, "-o", out + "4"},
		{"quantize", in, "-o", out + "5", "--op-types", "MatMul,Relu"},
		{"quantize", in, "-o", out + "6", "--mode", "fp16", "--op-types", "Conv"},
		{"quantize", in, "-o", out + "7", "--mode", "fp16", "--per-tensor"},
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
	// --op-types Conv: the convolutions alone.
	res, err = runCLI(t, "quantize", in, "-o", out+"conv", "--mode", "static", "--calib", calib, "--op-types", "Conv")
	if err != nil || !strings.Contains(res, "mode static: 2 nodes quantized") {
		t.Fatalf("--op-types Conv: %v\n%s", err, res)
	}
	res, err = runCLI(t, "quantize", in, "-o", out+"pt", "--mode", "static", "--calib", calib, "--per-tensor")
	if err != nil || !strings.Contains(res, "one scale per tensor") {
		t.Fatalf("--per-tensor: %v\n%s", err, res)
	}
	// U8S8: the report names the type and every zero point in the file is uint8.
	res, err = runCLI(t, "quantize", in, "-o", out+"u8", "--mode", "static", "--calib", calib, "--activation-type", "uint8")
	if err != nil || !strings.Contains(res, "activations (uint8)") {
		t.Fatalf("%v\n%s", err, res)
	}
	u8, err := onnx.Load(out + "u8")
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range u8.Graph.Nodes {
		if z := u8.Graph.Initializers[n.Input(2)]; n.OpType == "QuantizeLinear" && (z == nil || z.DType != ir.Uint8) {
			t.Fatalf("%s: zero point %v, want uint8", n, z)
		}
	}
	empty := filepath.Join(dir, "empty")
	os.Mkdir(empty, 0o755)
	for _, args := range [][]string{
		{"quantize", in, "-o", out + "8", "--mode", "static", "--calib", calib, "--activation-type", "int16"},
		{"quantize", in, "-o", out + "9", "--mode", "static", "--calib", calib, "--op-types", "Relu"},
		{"quantize", in, "-o", out + "2", "--mode", "static"},
		{"quantize", in, "-o", out + "3", "--mode", "static", "--calib", empty},
		{"quantize", in, "-o", out + "4", "--mode", "static", "--calib", calib, "--calibrator", "kl"},
		{"quantize", in, "-o", out + "5", "--mode", "static", "--calib", calib, "--preprocess", "resize=28"},
		{"quantize", in, "-o", out + "6", "--mode", "static", "--calib", calib, "--max-accuracy-drop", "0.01"},
		{"quantize", in, "-o", out + "7", "--mode", "static", "--calib", calib, "--eval", calib, "--max-accuracy-drop", "2"},
	} {
		if _, err := runCLI(t, args...); err == nil {
			t.Errorf("%v accepted", args)
		}
	}
}

// TestQuantizeStaticImagesCLI calibrates PP-OCR's cls model on a folder of PNGs with PaddleOCR's preprocessing,
// and rejects a malformed --preprocess spec.
func TestQuantizeStaticImagesCLI(t *testing.T) {
	in := filepath.Join("..", "..", ".cache", "assets", "ocr", "ch_ppocr_mobile_v2.0_cls_infer.onnx")
	if _, err := os.Stat(in); err != nil {
		t.Skipf("%s missing: run scripts/fetch-assets.sh", in)
	}
	dir := t.TempDir()
	calib := filepath.Join(dir, "imgs")
	if err := os.Mkdir(calib, 0o755); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		img := image.NewRGBA(image.Rect(0, 0, 100+40*i, 30))
		for j := range img.Pix {
			img.Pix[j] = uint8(j*(i+3) + j/97)
		}
		f, err := os.Create(filepath.Join(calib, fmt.Sprintf("%d.png", i)))
		if err != nil {
			t.Fatal(err)
		}
		if err := png.Encode(f, img); err != nil {
			t.Fatal(err)
		}
		f.Close()
	}
	out := filepath.Join(dir, "q.onnx")
	res, err := runCLI(t, "quantize", in, "-o", out, "--mode", "static", "--calib", calib,
		"--preprocess", "resize=48,192,mean=0.5,std=0.5,order=bgr")
	if err != nil || !strings.Contains(res, "calibrator minmax over 3 samples") || !strings.Contains(res, "raised from 9 to 13") ||
		strings.Contains(res, "weights: 0 ") {
		t.Fatalf("%v\n%s", err, res)
	}
	if _, err := runCLI(t, "quantize", in, "-o", out+"2", "--mode", "static", "--calib", calib, "--preprocess", "resize=48,192,std=0"); err == nil {
		t.Error("std=0 accepted")
	}
}

// TestQuantizeGuardCLI runs --eval with labels and --max-accuracy-drop on MNIST (300 held-out digits as .npy with a
// labels.txt): the report must give the measured accuracy within the bound. A labels.txt whose count does not
// match the samples is an error.
func TestQuantizeGuardCLI(t *testing.T) {
	dir := t.TempDir()
	in := mnistFile(t)
	x, y, err := assets.MNISTHeldOut()
	if err != nil {
		t.Fatal(err)
	}
	eval := filepath.Join(dir, "eval")
	if err := os.Mkdir(eval, 0o755); err != nil {
		t.Fatal(err)
	}
	row := x.NumBytes() / x.Shape[0]
	var labels strings.Builder
	for i := 0; i < 300; i++ {
		s, _ := ir.FromBytes(ir.Float32, []int{1, 1, 28, 28}, x.Bytes()[i*row:(i+1)*row])
		if err := npy.WriteFile(filepath.Join(eval, fmt.Sprintf("%03d.npy", i)), s); err != nil {
			t.Fatal(err)
		}
		fmt.Fprintln(&labels, y[i])
	}
	if err := os.WriteFile(filepath.Join(eval, "labels.txt"), []byte(labels.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	// The guard holds out a quarter of the digits by default (75 of 300) and reports them apart.
	out := filepath.Join(dir, "q.onnx")
	res, err := runCLI(t, "quantize", in, "-o", out, "--mode", "static", "--calib", eval, "--eval", eval, "--max-accuracy-drop", "0.003")
	if err != nil || !strings.Contains(res, "accuracy vs float: 225 samples") || !strings.Contains(res, "held out:          75 samples") ||
		!strings.Contains(res, "vs float") {
		t.Fatalf("%v\n%s", err, res)
	}
	res, err = runCLI(t, "quantize", in, "-o", out+"all", "--mode", "static", "--calib", eval, "--eval", eval,
		"--max-accuracy-drop", "0.003", "--eval-holdout", "0", "--eval-metric", "top1")
	if err != nil || !strings.Contains(res, "accuracy vs float: 300 samples") || strings.Contains(res, "held out") {
		t.Fatalf("--eval-holdout 0: %v\n%s", err, res)
	}
	// Without labels, by cosine: no top-1 figure.
	os.Rename(filepath.Join(eval, "labels.txt"), filepath.Join(dir, "labels.txt"))
	res, err = runCLI(t, "quantize", in, "-o", out+"cos", "--mode", "static", "--calib", eval, "--eval", eval, "--eval-metric", "cosine")
	if err != nil || !strings.Contains(res, "accuracy vs float: 300 samples: SQNR") {
		t.Fatalf("--eval-metric cosine: %v\n%s", err, res)
	}
	os.Rename(filepath.Join(dir, "labels.txt"), filepath.Join(eval, "labels.txt"))
	for flag, want := range map[string][]string{
		"metric":                             {"--eval-metric", "top5"},
		`no output "nope" (outputs: logits)`: {"--eval-output", "nope"},
		"labels":                             {"--eval-metric", "iou@0.5"},
		"[0, 1)":                             {"--eval-holdout", "1", "--max-accuracy-drop", "0.01"},
		"0 held out":                         {"--eval-holdout", "0.001", "--max-accuracy-drop", "0.01"},
	} {
		args := append([]string{"quantize", in, "-o", out + "bad", "--mode", "static", "--calib", eval, "--eval", eval}, want...)
		if _, err := runCLI(t, args...); err == nil || !strings.Contains(err.Error(), flag) {
			t.Errorf("%v: %v, want an error naming %q", want, err, flag)
		}
	}
	// Three digits: the default hold-out gives way (and says so); one asked for is an error.
	three := filepath.Join(dir, "three.npy")
	x3, _ := ir.FromBytes(ir.Float32, []int{3, 1, 28, 28}, x.Bytes()[:3*row])
	if err := npy.WriteFile(three, x3); err != nil {
		t.Fatal(err)
	}
	res, err = runCLI(t, "quantize", in, "-o", out+"3", "--mode", "static", "--calib", eval, "--eval", three, "--max-accuracy-drop", "0.5")
	if err != nil || !strings.Contains(res, "too few to hold out") || !strings.Contains(res, "accuracy vs float: 3 samples") {
		t.Fatalf("three samples: %v\n%s", err, res)
	}
	if _, err := runCLI(t, "quantize", in, "-o", out+"3b", "--mode", "static", "--calib", eval, "--eval", three, "--max-accuracy-drop", "0.5",
		"--eval-holdout", "0.25"); err == nil || !strings.Contains(err.Error(), "0 held out") {
		t.Errorf("three samples, --eval-holdout 0.25: %v", err)
	}
	// Dynamic and float16 results are measured too (no guard: nothing to choose).
	for _, mode := range [][]string{{"--mode", "dynamic"}, {"--mode", "fp16", "--keep-io-types"}} {
		res, err = runCLI(t, append([]string{"quantize", in, "-o", out + mode[1], "--eval", eval}, mode...)...)
		if err != nil || !strings.Contains(res, "accuracy vs float: 300 samples: top-1 agreement") || !strings.Contains(res, "points)") {
			t.Fatalf("%v --eval: %v\n%s", mode, err, res)
		}
	}
	// One .npz holding the 300 digits as rows and their "labels": the same split and a labeled result.
	npz := filepath.Join(dir, "eval.npz")
	all, _ := ir.FromBytes(ir.Float32, []int{300, 1, 28, 28}, x.Bytes()[:300*row])
	if err := npy.WriteNPZ(npz, map[string]*ir.Tensor{"input": all, "labels": ir.FromInt64([]int{300}, y[:300])}, nil, true); err != nil {
		t.Fatal(err)
	}
	res, err = runCLI(t, "quantize", in, "-o", out+"npz", "--mode", "static", "--calib", npz, "--eval", npz, "--max-accuracy-drop", "0.003")
	if err != nil || !strings.Contains(res, "calibrator minmax over 300 samples") || !strings.Contains(res, "accuracy vs float: 225 samples") ||
		!strings.Contains(res, "points)") || !strings.Contains(res, "held out:          75 samples") {
		t.Fatalf("one .npz: %v\n%s", err, res)
	}
	if err := os.WriteFile(filepath.Join(eval, "labels.txt"), []byte("1\n2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := runCLI(t, "quantize", in, "-o", out+"2", "--mode", "static", "--calib", eval, "--eval", eval); err == nil ||
		!strings.Contains(err.Error(), "2 labels for 300 samples") {
		t.Errorf("short labels.txt: %v", err)
	}
}

// TestQuantizeModeFlags: a flag the chosen mode does not read, or one without the flag it works with, is an error
// naming both, before the model is read; nothing is written.
func TestQuantizeModeFlags(t *testing.T) {
	in := mnistFile(t)
	out := filepath.Join(t.TempDir(), "q.onnx")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--mode", "dynamic", "--calib", "x"}, "--calib applies to --mode static, not dynamic"},
		{[]string{"--mode", "dynamic", "--weight-rounding", "nearest"}, "--weight-rounding applies to --mode static, not dynamic"},
		{[]string{"--mode", "static", "--keep-io-types"}, "--keep-io-types applies to --mode fp16 and bf16, not static"},
		{[]string{"--mode", "fp16", "--per-tensor"}, "--per-tensor applies to --mode dynamic and static, not fp16"},
		{[]string{"--mode", "bf16", "--op-types", "Conv"}, "--op-types applies to --mode dynamic and static, not bf16"},
		{[]string{"--mode", "static", "--calib", "x", "--eval-metric", "cosine"}, "--eval-metric needs --eval"},
		{[]string{"--mode", "static", "--calib", "x", "--eval-output", "logits"}, "--eval-output needs --eval"},
		{[]string{"--mode", "static", "--calib", "x", "--eval", "x", "--eval-holdout", "0.1"}, "--eval-holdout needs --max-accuracy-drop"},
		{[]string{"--mode", "static", "--calib", "x", "--percentile", "99.9"}, "--percentile applies to --calibrator percentile, not minmax"},
		{[]string{"--mode", "int3"}, `unknown --mode "int3"`},
		{[]string{"--mode", "dynamic", "--preprocess", "resize=28"}, "--preprocess needs --eval"},
		{[]string{"--mode", "bf16", "--eval", "x"}, "--eval with --mode bf16 needs --keep-io-types"},
		{[]string{"--mode", "fp16", "--eval", "x", "--max-accuracy-drop", "0.01"}, "--max-accuracy-drop applies to --mode static, not fp16"},
	} {
		_, err := runCLI(t, append([]string{"quantize", in, "-o", out}, tc.args...)...)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: %v, want %q", tc.args, err, tc.want)
		}
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("output written: %v", err)
	}
}
