//go:build ort

package ort

import (
	"testing"

	ortgo "github.com/yalue/onnxruntime_go"
)

// TestSpinConfigAccepted checks that ONNX Runtime knows the spin-wait keys and stores them as given: a
// misspelt key is accepted silently by some versions, so the values are read back.
func TestSpinConfigAccepted(t *testing.T) {
	if err := Init(""); err != nil {
		t.Fatal(err)
	}
	so, err := ortgo.NewSessionOptions()
	if err != nil {
		t.Fatal(err)
	}
	defer so.Destroy()
	want := map[string]string{"session.intra_op.allow_spinning": "0", "session.inter_op.allow_spinning": "0"}
	if len(spinConfig) != len(want) {
		t.Fatalf("spinConfig has %d entries, want %d", len(spinConfig), len(want))
	}
	for _, kv := range spinConfig {
		if want[kv[0]] != kv[1] {
			t.Errorf("spinConfig sets %s = %q, want %q", kv[0], kv[1], want[kv[0]])
		}
		if err := so.AddSessionConfigEntry(kv[0], kv[1]); err != nil {
			t.Fatalf("%s: %v", kv[0], err)
		}
		got, err := so.GetSessionConfigEntry(kv[0])
		if err != nil || got != kv[1] {
			t.Errorf("%s = %q, %v; want %q", kv[0], got, err, kv[1])
		}
	}
}
