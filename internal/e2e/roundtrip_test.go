//go:build ort

package e2e

import (
	"bytes"
	"path/filepath"
	"testing"

	"github.com/hone-ml/hone/backend/ort"
	"github.com/hone-ml/hone/bench"
	"github.com/hone-ml/hone/onnx"
)

// TestSavedModelRunsIdenticallyInORT loads each real model, saves it with hone, and checks ONNX Runtime gives
// bit-identical outputs for the original and the saved copy.
func TestSavedModelRunsIdenticallyInORT(t *testing.T) {
	if err := ort.Init(""); err != nil {
		t.Fatal(err)
	}
	models := map[string]map[string][]int{
		"assets/ocr/ch_PP-OCRv4_det_infer.onnx":          {"x": {1, 3, 128, 160}},
		"assets/ocr/ch_PP-OCRv4_rec_infer.onnx":          {"x": {1, 3, 48, 160}},
		"assets/ocr/ch_ppocr_mobile_v2.0_cls_infer.onnx": {"x": {1, 3, 48, 192}},
		"models/bert_tiny.onnx":                          {"input_ids": {2, 16}, "attention_mask": {2, 16}},
	}
	for rel, shapes := range models {
		t.Run(filepath.Base(rel), func(t *testing.T) {
			src := asset(t, rel)
			m, err := onnx.Load(src)
			if err != nil {
				t.Fatal(err)
			}
			dst := filepath.Join(t.TempDir(), "saved.onnx")
			if err := onnx.Save(m, dst); err != nil {
				t.Fatal(err)
			}
			if shapes == nil {
				shapes = map[string][]int{}
			}
			in, err := bench.MakeInputs(m.Graph.RealInputs(), shapes, 1)
			if err != nil {
				t.Fatal(err)
			}
			var outs [2]map[string][]byte
			for i, p := range []string{src, dst} {
				s, err := ort.NewSession(p, ort.Options{Threads: 1})
				if err != nil {
					t.Fatalf("ORT cannot load %s: %v", p, err)
				}
				res, err := s.Run(in)
				s.Close()
				if err != nil {
					t.Fatal(err)
				}
				outs[i] = map[string][]byte{}
				for k, v := range res {
					outs[i][k] = append([]byte(nil), v.Bytes()...)
				}
			}
			if len(outs[0]) == 0 || len(outs[0]) != len(outs[1]) {
				t.Fatalf("output sets differ: %d vs %d", len(outs[0]), len(outs[1]))
			}
			for k, a := range outs[0] {
				if !bytes.Equal(a, outs[1][k]) {
					t.Errorf("output %q differs between the original and hone's saved copy", k)
				}
			}
		})
	}
}
