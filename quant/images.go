package quant

import (
	"fmt"
	"image"
	_ "image/jpeg" // calibration folders hold photos
	_ "image/png"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/hone-ml/hone/ir"
)

// Preprocess turns a decoded image into a model input: resize (bilinear), scale the 0–255 pixel values, subtract
// the per-channel mean and divide by the standard deviation, in RGB or BGR channel order, laid out NCHW or NHWC
// with a batch dimension of 1. It is what image models' own pipelines do before the first layer (torchvision's
// ToTensor+Normalize; PaddleOCR's NormalizeImage, which applies ImageNet statistics to BGR pixels).
type Preprocess struct {
	Height, Width int       // 0: the model input's fixed size, else the image's own
	Scale         float64   // pixel multiplier applied before mean/std; default 1/255
	Mean, Std     []float64 // one value for all channels or one per channel; default 0 and 1
	BGR           bool      // channel order: false RGB, true BGR
	NHWC          bool      // layout: false NCHW
	// Pad keeps the image's aspect ratio: it is scaled to Height and to at most Width, and the rest of each row
	// is 0 after normalisation, as PaddleOCR feeds text crops to its recognizer and direction classifier.
	Pad bool
}

// ParsePreprocess parses a --preprocess spec: comma-separated key=value items, where a key with several values
// takes the bare numbers that follow it, e.g. "resize=224,mean=0.485,0.456,0.406,std=0.229,0.224,0.225,layout=nchw".
// Keys: resize=S (S×S), resize=H,W or resize=HxW; fit=stretch|pad (pad: keep the aspect ratio, scale to H and at most W,
// and fill the rest of the width with 0 after normalisation, as PaddleOCR's rec and cls preprocessing does);
// mean; std; scale (default 1/255, a fraction such as 1/255 is accepted); layout=nchw|nhwc; order=rgb|bgr.
func ParsePreprocess(spec string) (Preprocess, error) {
	p := Preprocess{Scale: 1.0 / 255}
	vals := map[string][]string{}
	var keys []string
	key := ""
	for _, tok := range strings.Split(spec, ",") {
		tok = strings.TrimSpace(tok)
		if tok == "" {
			continue
		}
		if k, v, ok := strings.Cut(tok, "="); ok {
			key = strings.ToLower(strings.TrimSpace(k))
			if _, dup := vals[key]; dup {
				return p, fmt.Errorf("quant: --preprocess: %q given twice", key)
			}
			keys = append(keys, key)
			vals[key] = []string{strings.TrimSpace(v)}
			if h, w, ok := strings.Cut(strings.ToLower(v), "x"); ok && key == "resize" { // resize=48x320
				vals[key] = []string{strings.TrimSpace(h), strings.TrimSpace(w)}
			}
			continue
		}
		if key == "" {
			return p, fmt.Errorf("quant: --preprocess: %q has no key (want key=value)", tok)
		}
		vals[key] = append(vals[key], tok)
	}
	nums := func(k string, n ...int) ([]float64, error) {
		var out []float64
		for _, s := range vals[k] {
			f, err := parseFraction(s)
			if err != nil {
				return nil, fmt.Errorf("quant: --preprocess: %s: %q is not a number", k, s)
			}
			out = append(out, f)
		}
		for _, want := range n {
			if len(out) == want {
				return out, nil
			}
		}
		return nil, fmt.Errorf("quant: --preprocess: %s takes %v values, got %d", k, n, len(out))
	}
	for _, k := range keys {
		v := vals[k]
		switch k {
		case "resize":
			f, err := nums(k, 1, 2)
			if err != nil {
				return p, err
			}
			if len(f) == 1 {
				f = append(f, f[0])
			}
			for _, d := range f {
				if d < 1 || d != math.Trunc(d) || d > 1<<15 {
					return p, fmt.Errorf("quant: --preprocess: resize %v is not a positive pixel count", d)
				}
			}
			p.Height, p.Width = int(f[0]), int(f[1])
		case "mean", "std":
			f, err := nums(k, 1, 3)
			if err != nil {
				return p, err
			}
			if k == "mean" {
				p.Mean = f
				continue
			}
			for _, s := range f {
				if s == 0 || math.IsNaN(s) {
					return p, fmt.Errorf("quant: --preprocess: std %v would divide by zero", s)
				}
			}
			p.Std = f
		case "scale":
			f, err := nums(k, 1)
			if err != nil {
				return p, err
			}
			p.Scale = f[0]
		case "layout", "order", "fit":
			if len(v) != 1 {
				return p, fmt.Errorf("quant: --preprocess: %s takes one value", k)
			}
			switch s := strings.ToLower(v[0]); {
			case k == "layout" && (s == "nchw" || s == "nhwc"):
				p.NHWC = s == "nhwc"
			case k == "order" && (s == "rgb" || s == "bgr"):
				p.BGR = s == "bgr"
			case k == "fit" && (s == "stretch" || s == "pad"):
				p.Pad = s == "pad"
			default:
				return p, fmt.Errorf("quant: --preprocess: unknown %s %q (want nchw|nhwc for layout, rgb|bgr for order, stretch|pad for fit)", k, v[0])
			}
		default:
			return p, fmt.Errorf("quant: --preprocess: unknown key %q (want resize, fit, mean, std, scale, layout or order)", k)
		}
	}
	if p.Pad && p.Height == 0 {
		return p, fmt.Errorf("quant: --preprocess: fit=pad needs resize=H,W (the height to scale to and the width to pad to)")
	}
	return p, nil
}

// parseFraction reads a number or a fraction a/b.
func parseFraction(s string) (float64, error) {
	if a, b, ok := strings.Cut(s, "/"); ok {
		x, err := strconv.ParseFloat(a, 64)
		if err != nil {
			return 0, err
		}
		y, err := strconv.ParseFloat(b, 64)
		if err != nil || y == 0 {
			return 0, fmt.Errorf("bad fraction %q", s)
		}
		return x / y, nil
	}
	return strconv.ParseFloat(s, 64)
}

// Apply converts img to a float32 tensor [1,3,H,W] (or [1,H,W,3]). Pixels are read as 8-bit RGB; a translucent
// pixel counts as composited over black (Go's colours are alpha-premultiplied).
func (p Preprocess) Apply(img image.Image) (*ir.Tensor, error) {
	b := img.Bounds()
	sh, sw := b.Dy(), b.Dx()
	if sh == 0 || sw == 0 {
		return nil, fmt.Errorf("image is empty")
	}
	src := make([]float32, 3*sh*sw) // planar RGB
	for y := 0; y < sh; y++ {
		for x := 0; x < sw; x++ {
			r, g, bl, _ := img.At(b.Min.X+x, b.Min.Y+y).RGBA()
			i := y*sw + x
			src[i], src[sh*sw+i], src[2*sh*sw+i] = float32(r>>8), float32(g>>8), float32(bl>>8)
		}
	}
	h, w := p.Height, p.Width
	if h == 0 || w == 0 {
		h, w = sh, sw
	}
	rw := w // the width the image is resized to; columns from rw to w stay 0 (Pad)
	if p.Pad {
		rw = max(1, min(w, int(math.Ceil(float64(h)*float64(sw)/float64(sh)))))
	}
	dst := make([]float32, 3*h*rw)
	for c := 0; c < 3; c++ {
		resizeBilinear(dst[c*h*rw:(c+1)*h*rw], h, rw, src[c*sh*sw:(c+1)*sh*sw], sh, sw)
	}
	shape := []int{1, 3, h, w}
	if p.NHWC {
		shape = []int{1, h, w, 3}
	}
	t := ir.New(ir.Float32, shape...)
	out := t.F32()
	at := func(v []float64, c int, def float64) float64 {
		switch len(v) {
		case 0:
			return def
		case 1:
			return v[0]
		}
		return v[c]
	}
	for c := 0; c < 3; c++ {
		sc := c // source channel for output channel c
		if p.BGR {
			sc = 2 - c
		}
		mean, std := at(p.Mean, c, 0), at(p.Std, c, 1)
		for i, v := range dst[sc*h*rw : (sc+1)*h*rw] {
			f := float32((float64(v)*p.Scale - mean) / std)
			px := i/rw*w + i%rw
			if p.NHWC {
				out[px*3+c] = f
			} else {
				out[c*h*w+px] = f
			}
		}
	}
	return t, nil
}

// resizeBilinear resamples a plane with half-pixel centres and edge clamping, as PyTorch's
// interpolate(mode="bilinear", align_corners=False, antialias=False), ONNX Resize (linear, half_pixel) and
// OpenCV's INTER_LINEAR compute it: source coordinate (d + 0.5)·in/out − 0.5, clamped at 0.
func resizeBilinear(dst []float32, dh, dw int, src []float32, sh, sw int) {
	if dh == sh && dw == sw {
		copy(dst, src)
		return
	}
	coord := func(d, in, out int) (int, int, float32) {
		s := (float64(d)+0.5)*float64(in)/float64(out) - 0.5
		s = max(s, 0)
		i0 := min(int(s), in-1)
		i1 := min(i0+1, in-1)
		return i0, i1, float32(s - float64(i0))
	}
	xs0, xs1, xf := make([]int, dw), make([]int, dw), make([]float32, dw)
	for x := range dw {
		xs0[x], xs1[x], xf[x] = coord(x, sw, dw)
	}
	for y := range dh {
		y0, y1, fy := coord(y, sh, dh)
		r0, r1 := src[y0*sw:(y0+1)*sw], src[y1*sw:(y1+1)*sw]
		row := dst[y*dw : (y+1)*dw]
		for x := range dw {
			top := r0[xs0[x]] + (r0[xs1[x]]-r0[xs0[x]])*xf[x]
			bot := r1[xs0[x]] + (r1[xs1[x]]-r1[xs0[x]])*xf[x]
			row[x] = top + (bot-top)*fy
		}
	}
}

// ImageSamples is a calibration folder of PNG and JPEG images feeding a one-input image model, decoded and
// preprocessed when asked for, in name order (memory holds one image at a time).
type ImageSamples struct {
	files []string
	input string
	pre   Preprocess
}

// imageExts are the file types ImageSamples reads.
var imageExts = map[string]bool{".png": true, ".jpg": true, ".jpeg": true}

// HasImages reports whether dir holds any PNG or JPEG file.
func HasImages(dir string) bool {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return false
	}
	for _, e := range ents {
		if !e.IsDir() && imageExts[strings.ToLower(filepath.Ext(e.Name()))] {
			return true
		}
	}
	return false
}

// OpenImages lists the images in dir for model m's single input. Without a resize in pre, images take the
// input's fixed height and width when the model declares them.
func OpenImages(dir string, m *ir.Model, pre Preprocess) (*ImageSamples, error) {
	ins := m.Graph.RealInputs()
	if len(ins) != 1 {
		return nil, fmt.Errorf("quant: image calibration needs a model with one input; this one has %d (use .npz samples)", len(ins))
	}
	vi := ins[0]
	if vi.Type.DType != ir.Float32 && vi.Type.DType != ir.Undefined {
		return nil, fmt.Errorf("quant: image calibration: input %q is %s, not float32", vi.Name, vi.Type.DType)
	}
	if vi.Type.HasShape && len(vi.Type.Shape) != 4 {
		return nil, fmt.Errorf("quant: image calibration: input %q has rank %d, not an image batch of rank 4", vi.Name, len(vi.Type.Shape))
	}
	if pre.Height == 0 && vi.Type.HasShape {
		hd, wd := 2, 3
		if pre.NHWC {
			hd, wd = 1, 2
		}
		if s := vi.Type.Shape; s[hd].Known() && s[wd].Known() {
			pre.Height, pre.Width = int(s[hd].Size), int(s[wd].Size)
		}
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("quant: calibration data: %w", err)
	}
	s := &ImageSamples{input: vi.Name, pre: pre}
	for _, e := range ents {
		if !e.IsDir() && imageExts[strings.ToLower(filepath.Ext(e.Name()))] {
			s.files = append(s.files, filepath.Join(dir, e.Name()))
		}
	}
	sort.Strings(s.files)
	if len(s.files) == 0 {
		return nil, fmt.Errorf("%w: no .png or .jpg files in %s", ErrNoCalibrationData, dir)
	}
	return s, nil
}

// Len is the number of images.
func (s *ImageSamples) Len() int { return len(s.files) }

// Sample decodes and preprocesses image i.
func (s *ImageSamples) Sample(i int) (map[string]*ir.Tensor, error) {
	f, err := os.Open(s.files[i])
	if err != nil {
		return nil, err
	}
	defer f.Close()
	img, _, err := image.Decode(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", s.files[i], err)
	}
	t, err := s.pre.Apply(img)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", s.files[i], err)
	}
	return map[string]*ir.Tensor{s.input: t}, nil
}
