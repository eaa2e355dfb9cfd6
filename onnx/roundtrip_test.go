package onnx

import (
	"os"
	"path/filepath"
	"testing"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/testing/protocmp"

	"github.com/google/go-cmp/cmp"

	"github.com/hone-ml/hone/onnx/onnxpb"
)

func assetDir(t *testing.T, sub string) string {
	t.Helper()
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(root, ".cache", "assets", sub)
	if _, err := os.Stat(dir); err != nil {
		t.Skipf("assets not fetched (run scripts/fetch-assets.sh): %v", err)
	}
	return dir
}

func readProto(t *testing.T, path string) *onnxpb.ModelProto {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	mp := &onnxpb.ModelProto{}
	if err := proto.Unmarshal(data, mp); err != nil {
		t.Fatal(err)
	}
	return mp
}

// diffProto explains a proto.Equal failure.
func diffProto(a, b proto.Message) string {
	return cmp.Diff(a, b, protocmp.Transform())
}

// TestRoundTripOCR loads each PP-OCR model, saves it and checks the saved bytes decode to a message equal to
// the original file's, field for field (unknown fields included).
func TestRoundTripOCR(t *testing.T) {
	dir := assetDir(t, "ocr")
	models, _ := filepath.Glob(filepath.Join(dir, "*.onnx"))
	if len(models) != 3 {
		t.Fatalf("want 3 OCR models in %s, found %d", dir, len(models))
	}
	for _, path := range models {
		t.Run(filepath.Base(path), func(t *testing.T) {
			m, err := Load(path)
			if err != nil {
				t.Fatal(err)
			}
			out := filepath.Join(t.TempDir(), "m.onnx")
			if err := Save(m, out); err != nil {
				t.Fatal(err)
			}
			want, got := readProto(t, path), readProto(t, out)
			if !proto.Equal(want, got) {
				t.Fatalf("round trip differs (-want +got):\n%.3000s", diffProto(want, got))
			}
		})
	}
}
