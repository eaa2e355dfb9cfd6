package quant

import (
	"errors"
	"image"
	"image/color"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/hone-ml/hone/ir"
	"github.com/hone-ml/hone/npy"
)

// TestPreprocessMatchesTorch decodes testdata/preprocess.png and compares each spec's tensor with PyTorch's
// (scripts/fixtures/quant_preprocess.py: F.interpolate bilinear, align_corners=False, then mean/std). The
// arithmetic is float32 here and float64 there, so values agree to a few float32 ulps of the normalised range.
func TestPreprocessMatchesTorch(t *testing.T) {
	f, err := os.Open(filepath.Join("testdata", "preprocess.png"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	want, _, err := npy.ReadNPZ(filepath.Join("testdata", "preprocess_golden.npz"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ key, spec string }{
		{"up", "resize=20,31,mean=0.485,0.456,0.406,std=0.229,0.224,0.225"},
		{"down", "resize=4,6,mean=0.5,std=0.5,order=bgr"},
		{"same", "scale=1,layout=nhwc"},
		{"pad", "resize=18,40,fit=pad,mean=0.5,std=0.5,order=bgr"},
		{"padfull", "resize=9,10,fit=pad,mean=0.5,std=0.5"},
	} {
		t.Run(tc.key, func(t *testing.T) {
			p, err := ParsePreprocess(tc.spec)
			if err != nil {
				t.Fatal(err)
			}
			got, err := p.Apply(img)
			if err != nil {
				t.Fatal(err)
			}
			w := want[tc.key]
			if diff := cmp.Diff(w.Shape, got.Shape); diff != "" {
				t.Fatalf("shape (-torch +hone):\n%s", diff)
			}
			worst := 0.0
			for i, v := range w.F32() {
				worst = math.Max(worst, math.Abs(float64(v-got.F32()[i])))
			}
			if worst > 2e-5 {
				t.Errorf("max |hone − torch| = %.3g > 2e-5", worst)
			}
		})
	}
}

func TestParsePreprocessErrors(t *testing.T) {
	for _, spec := range []string{
		"resize=0", "resize=1,2,3", "mean=1,2", "std=0", "layout=chw", "order=rbg", "gamma=2", "0.5,resize=3",
		"resize=3,resize=4", "scale=1/0", "mean=x", "fit=pad", "resize=4,fit=crop", "resize=4x", "resize=4x5x6", "resize=4x5,6",
	} {
		if _, err := ParsePreprocess(spec); err == nil {
			t.Errorf("ParsePreprocess(%q) succeeded, want an error", spec)
		}
	}
	p, err := ParsePreprocess("resize=224,mean=0.485,0.456,0.406,std=0.229,0.224,0.225,layout=nchw,scale=1/255")
	if err != nil {
		t.Fatal(err)
	}
	want := Preprocess{Height: 224, Width: 224, Scale: 1.0 / 255, Mean: []float64{0.485, 0.456, 0.406}, Std: []float64{0.229, 0.224, 0.225}}
	if diff := cmp.Diff(want, p); diff != "" {
		t.Errorf("parsed (-want +got):\n%s", diff)
	}
	// A size written HxW reads as H,W.
	for _, spec := range []string{"resize=48x320,fit=pad", "resize=48,320,fit=pad", "resize = 48 X 320 ,fit=pad"} {
		p, err := ParsePreprocess(spec)
		if err != nil || p.Height != 48 || p.Width != 320 || !p.Pad {
			t.Errorf("ParsePreprocess(%q) = %+v, %v; want 48×320 padded", spec, p, err)
		}
	}
}

// TestImageSamples calibrates from a folder of PNGs: the model's fixed input size is the default resize, bad
// files and empty folders give clear errors.
func TestImageSamples(t *testing.T) {
	m := &ir.Model{Graph: &ir.Graph{Inputs: []*ir.ValueInfo{{Name: "x", Type: ir.Type{DType: ir.Float32, HasShape: true,
		Shape: []ir.Dim{{Size: 1}, {Size: 3}, {Size: 5}, {Size: 7}}}}}}}
	dir := t.TempDir()
	if _, err := OpenImages(dir, m, Preprocess{}); !errors.Is(err, ErrNoCalibrationData) {
		t.Errorf("empty folder: %v, want ErrNoCalibrationData", err)
	}
	img := image.NewRGBA(image.Rect(0, 0, 11, 3))
	for i := range img.Pix {
		img.Pix[i] = uint8(i * 7)
	}
	img.Set(0, 0, color.RGBA{255, 255, 255, 255})
	f, err := os.Create(filepath.Join(dir, "a.png"))
	if err != nil {
		t.Fatal(err)
	}
	if err := png.Encode(f, img); err != nil {
		t.Fatal(err)
	}
	f.Close()
	if err := os.WriteFile(filepath.Join(dir, "b.jpg"), []byte("not a jpeg"), 0o644); err != nil {
		t.Fatal(err)
	}
	if !HasImages(dir) {
		t.Fatal("HasImages = false")
	}
	s, err := OpenImages(dir, m, Preprocess{Scale: 1.0 / 255})
	if err != nil {
		t.Fatal(err)
	}
	if s.Len() != 2 {
		t.Fatalf("Len = %d, want 2", s.Len())
	}
	got, err := s.Sample(0)
	if err != nil {
		t.Fatal(err)
	}
	if x := got["x"]; x == nil || !slicesEqual(x.Shape, []int{1, 3, 5, 7}) {
		t.Errorf("sample 0 = %v, want x of shape [1 3 5 7] (the model's size)", got)
	}
	if _, err := s.Sample(1); err == nil {
		t.Error("sample 1 (a broken JPEG) decoded without error")
	}
}

func slicesEqual(a, b []int) bool { return cmp.Equal(a, b) }
