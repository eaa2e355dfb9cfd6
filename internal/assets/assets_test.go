package assets

import (
	"bytes"
	"testing"
)

func TestMNISTHeldOut(t *testing.T) {
	images, labels, err := MNISTHeldOut()
	if err != nil {
		t.Fatal(err)
	}
	ref, err := MNISTReference()
	if err != nil {
		t.Fatal(err)
	}
	if images.Shape[0] != ref.HeldOut || len(labels) != ref.HeldOut || ref.HeldOut != 2000 {
		t.Fatalf("images %v, %d labels, reference counts %d", images, len(labels), ref.HeldOut)
	}
	var perClass [10]int
	for _, l := range labels {
		if l < 0 || l > 9 {
			t.Fatalf("label %d", l)
		}
		perClass[l]++
	}
	for d, n := range perClass {
		// A seeded random 20% of ~1000 digits per class.
		if n < 120 || n > 300 {
			t.Errorf("digit %d appears %d times", d, n)
		}
	}
	var lo, hi float32 = 1, 0
	var sum float64
	for _, v := range images.F32() {
		lo, hi = min(lo, v), max(hi, v)
		sum += float64(v)
	}
	mean := sum / float64(images.Len())
	// MNIST's mean pixel is about 0.13 with the [0,1] scaling the model was trained on.
	if lo != 0 || hi != 1 || mean < 0.10 || mean > 0.16 {
		t.Errorf("pixels span [%v, %v], mean %.3f", lo, hi, mean)
	}
	correct := 0
	for i, p := range ref.Predictions {
		if p == labels[i] {
			correct++
		}
	}
	if correct != ref.Correct || float64(correct)/float64(ref.HeldOut) != ref.Accuracy {
		t.Errorf("reference predictions give %d correct, file says %d (%.4f)", correct, ref.Correct, ref.Accuracy)
	}
	if ref.Accuracy < 0.98 {
		t.Errorf("trained accuracy %.4f below 98%%", ref.Accuracy)
	}
}

func TestMNISTModel(t *testing.T) {
	m := MNISTModel()
	// An ONNX ModelProto starts with ir_version (field 1, varint) and names the graph's input and output.
	if len(m) < 100000 || m[0] != 0x08 || !bytes.Contains(m, []byte("input")) || !bytes.Contains(m, []byte("logits")) {
		t.Errorf("embedded model (%d bytes) does not look like the exported ONNX file", len(m))
	}
}
