package serve

import (
	"encoding/json"
	"image"
	"image/color"
	"math"
	"os"
	"testing"
)

// TestPreprocessMatchesTorch compares Preprocess's resizing with PyTorch on a small RGB image:
// F.interpolate(mode="bilinear", align_corners=False) for direct resizes and torchvision's Resize(shorter
// side) + CenterCrop (antialias off) for the ImageNet recipe. testdata/gen_resize_ref.py writes the
// reference, rounded to 4 decimals.
func TestPreprocessMatchesTorch(t *testing.T) {
	b, err := os.ReadFile("testdata/resize_ref.json")
	if err != nil {
		t.Fatal(err)
	}
	var ref struct {
		Height, Width int
		RGB           []uint8
		Cases         []struct {
			Name          string
			Height, Width int
			ResizeShorter int `json:"resize_shorter"`
			Want          []float32
		}
	}
	if err := json.Unmarshal(b, &ref); err != nil {
		t.Fatal(err)
	}
	img := image.NewRGBA(image.Rect(0, 0, ref.Width, ref.Height))
	for y := 0; y < ref.Height; y++ {
		for x := 0; x < ref.Width; x++ {
			p := ref.RGB[(y*ref.Width+x)*3:]
			img.SetRGBA(x, y, color.RGBA{p[0], p[1], p[2], 255})
		}
	}
	for _, tc := range ref.Cases {
		t.Run(tc.Name, func(t *testing.T) {
			got := Preprocess(img, &PredictConfig{Width: tc.Width, Height: tc.Height, ResizeShorter: tc.ResizeShorter, Scale: 1})
			if len(got.F32()) != len(tc.Want) {
				t.Fatalf("%d values, want %d", len(got.F32()), len(tc.Want))
			}
			for i, v := range got.F32() {
				if math.Abs(float64(v-tc.Want[i])) > 2e-3 {
					c, rest := i/(tc.Height*tc.Width), i%(tc.Height*tc.Width)
					t.Fatalf("channel %d y %d x %d: %v, torch %v", c, rest/tc.Width, rest%tc.Width, v, tc.Want[i])
				}
			}
		})
	}
}
