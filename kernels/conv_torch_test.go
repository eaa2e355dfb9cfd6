package kernels

import (
	"encoding/json"
	"os"
	"testing"
)

// TestConv2DTorch checks Conv2D (every SIMD level, sequential and parallel) against PyTorch's conv2d outputs in
// testdata/conv_torch.json (made by testdata/gen_conv_torch.py): dense, strided with asymmetric ONNX pads,
// pointwise, grouped+dilated and depthwise 3×3/5×5 at strides 1 and 2.
func TestConv2DTorch(t *testing.T) {
	raw, err := os.ReadFile("testdata/conv_torch.json")
	if err != nil {
		t.Fatal(err)
	}
	var cases []struct {
		ConvParams
		Name                        string
		Input, Weight, Bias, Output []float32
	}
	if err := json.Unmarshal(raw, &cases); err != nil {
		t.Fatal(err)
	}
	if len(cases) < 8 {
		t.Fatalf("fixture has %d cases, want 8", len(cases))
	}
	forImpls(t, func(t *testing.T) {
		for _, c := range cases {
			for _, r := range []Runner{nil, GoRunner(2)} {
				got := make([]float32, len(c.Output))
				Conv2D(r, c.ConvParams, c.Input, PackConvWeights(c.ConvParams, c.Weight), c.Bias, Activation{}, got)
				checkClose(t, c.Name, got, c.Output, 2e-5)
			}
		}
	})
}
