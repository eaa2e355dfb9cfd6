package serve

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	_ "image/gif" // decoders /predict accepts
	_ "image/jpeg"
	_ "image/png"
	"math"
	"net/http"
	"sort"

	"github.com/hone-ml/hone/api"
	"github.com/hone-ml/hone/ir"
)

// PredictRequest is the body of POST /predict and /v2/models/{name}/predict.
type PredictRequest struct {
	// Model is needed on /predict when more than one model is loaded.
	Model string `json:"model,omitempty"`
	// Image is a PNG, JPEG or GIF file, base64-encoded.
	Image string `json:"image"`
	// TopK is how many classes to return, best first. Default 1.
	TopK int `json:"top_k,omitempty"`
}

// PredictResponse lists the best classes.
type PredictResponse struct {
	Model       string       `json:"model"`
	Predictions []Prediction `json:"predictions"`
}

// Prediction is one class and its score (a probability when the config sets softmax or the model outputs
// probabilities).
type Prediction struct {
	Class      string  `json:"class"`
	Index      int     `json:"index"`
	Confidence float32 `json:"confidence"`
}

func (s *Server) predict(w http.ResponseWriter, r *http.Request) {
	body, err := s.readBody(w, r)
	if err != nil {
		writeError(w, err)
		return
	}
	var req PredictRequest
	if err := json.Unmarshal(body, &req); err != nil {
		writeError(w, fmt.Errorf("serve: predict: %w: %v", api.ErrBadRequest, err))
		return
	}
	name := r.PathValue("name")
	if name == "" {
		name = req.Model
	}
	if name == "" {
		if ms := s.Models(); len(ms) == 1 {
			name = ms[0].Name
		} else {
			writeError(w, fmt.Errorf("serve: predict: %w: %d models are loaded; name one in \"model\"", api.ErrBadRequest, len(ms)))
			return
		}
	}
	m, err := s.Model(name, r.PathValue("version"))
	if err != nil {
		writeError(w, err)
		return
	}
	if !s.Ready() {
		writeError(w, fmt.Errorf("serve: model %q: %w", m.Name, ErrClosed))
		return
	}
	if err := m.Admit(); err != nil { // before decoding the image, the costly part
		writeError(w, fmt.Errorf("serve: %w", err))
		return
	}
	resp, err := m.Predict(r, &req)
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, resp)
}

// Predict classifies one image: decode, preprocess as the model's predict config says, run, rank classes.
func (m *Model) Predict(r *http.Request, req *PredictRequest) (*PredictResponse, error) {
	p := m.Config.Predict
	if p == nil {
		return nil, fmt.Errorf("serve: model %q: %w: no predict section in its config", m.Name, api.ErrBadRequest)
	}
	if len(m.inputs) != 1 || len(m.outputs) < 1 {
		return nil, fmt.Errorf("serve: model %q: %w: /predict needs a model with one input", m.Name, api.ErrBadRequest)
	}
	raw, err := base64.StdEncoding.DecodeString(req.Image)
	if err != nil {
		return nil, fmt.Errorf("serve: model %q: %w: image is not base64: %v", m.Name, api.ErrBadRequest, err)
	}
	cfg, _, err := image.DecodeConfig(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("serve: model %q: %w: image: %v", m.Name, api.ErrBadRequest, err)
	}
	// Decoding allocates width·height pixels: refuse images the body size alone would not justify.
	if cfg.Width <= 0 || cfg.Height <= 0 || int64(cfg.Width)*int64(cfg.Height) > 50_000_000 {
		return nil, fmt.Errorf("serve: model %q: %w: image of %dx%d pixels", m.Name, api.ErrBadRequest, cfg.Width, cfg.Height)
	}
	img, _, err := image.Decode(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("serve: model %q: %w: image: %v", m.Name, api.ErrBadRequest, err)
	}
	x := Preprocess(img, p)
	in := m.inputs[0]
	if in.Type.DType != ir.Float32 {
		return nil, fmt.Errorf("serve: model %q: %w: /predict feeds float32, the input is %s", m.Name, api.ErrBadRequest, in.Type.DType)
	}
	res, _, err := m.Infer(r.Context(), map[string]*ir.Tensor{in.Name: x}, 0)
	if err != nil {
		return nil, fmt.Errorf("serve: %w", err)
	}
	out := res[m.outputs[0].Name]
	if out.DType != ir.Float32 || out.Len() == 0 || out.Shape[0] != 1 {
		return nil, fmt.Errorf("serve: model %q: output %q is %s%v, not float32 scores for one image", m.Name, m.outputs[0].Name, out.DType, out.Shape)
	}
	scores := append([]float32(nil), out.F32()...)
	if p.Softmax {
		softmax(scores)
	}
	k := req.TopK
	if k <= 0 {
		k = 1
	}
	idx := make([]int, len(scores))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return scores[idx[a]] > scores[idx[b]] })
	resp := &PredictResponse{Model: m.Name, Predictions: []Prediction{}}
	for _, i := range idx[:min(k, len(idx))] {
		name := fmt.Sprint(i)
		if i < len(m.labels) {
			name = m.labels[i]
		}
		resp.Predictions = append(resp.Predictions, Prediction{Class: name, Index: i, Confidence: scores[i]})
	}
	return resp, nil
}

func softmax(v []float32) {
	mx := float32(math.Inf(-1))
	for _, x := range v {
		mx = max(mx, x)
	}
	var sum float64
	for i, x := range v {
		e := math.Exp(float64(x - mx))
		v[i] = float32(e)
		sum += e
	}
	for i := range v {
		v[i] = float32(float64(v[i]) / sum)
	}
}

// Preprocess turns an image into a [1,C,H,W] (or [1,H,W,C]) float32 tensor: optional shorter-side resize and
// centre crop, else a direct resize, then (pixel·Scale − Mean)/Std per channel. Resizing is bilinear with
// half-pixel centres and no antialiasing, i.e. torch.nn.functional.interpolate(mode="bilinear",
// align_corners=False), and the shorter-side path is torchvision's Resize + CenterCrop on tensors with
// antialias off (testdata/resize_ref.json holds PyTorch's outputs); grey conversion uses ITU-R BT.601
// luma (L = 0.299R + 0.587G + 0.114B), as PIL does.
func Preprocess(img image.Image, p *PredictConfig) *ir.Tensor {
	ch := p.Channels
	if ch == 0 {
		ch = 3
	}
	src := toPlanes(img, ch)
	b := img.Bounds()
	sw, sh := b.Dx(), b.Dy()
	var planes [][]float32
	if p.ResizeShorter > 0 {
		rw, rh := p.ResizeShorter, p.ResizeShorter
		if sw < sh {
			rh = int(float64(p.ResizeShorter) * float64(sh) / float64(sw))
		} else {
			rw = int(float64(p.ResizeShorter) * float64(sw) / float64(sh))
		}
		planes = make([][]float32, ch)
		// torchvision's CenterCrop rounds the offset with Python's round, which takes halves to even.
		top := int(math.RoundToEven(float64(rh-p.Height) / 2))
		left := int(math.RoundToEven(float64(rw-p.Width) / 2))
		for c := range planes {
			planes[c] = crop(resizeBilinear(src[c], sw, sh, rw, rh), rw, rh, left, top, p.Width, p.Height)
		}
	} else {
		planes = make([][]float32, ch)
		for c := range planes {
			planes[c] = resizeBilinear(src[c], sw, sh, p.Width, p.Height)
		}
	}
	scale := p.Scale
	if scale == 0 {
		scale = 1.0 / 255
	}
	W, H := p.Width, p.Height
	var t *ir.Tensor
	if p.Layout == "NHWC" {
		t = ir.New(ir.Float32, 1, H, W, ch)
	} else {
		t = ir.New(ir.Float32, 1, ch, H, W)
	}
	f := t.F32()
	for c := 0; c < ch; c++ {
		mean, std := float32(0), float32(1)
		if len(p.Mean) > c {
			mean = p.Mean[c]
		}
		if len(p.Std) > c {
			std = p.Std[c]
		}
		for i, v := range planes[c] {
			x := (v*scale - mean) / std
			if p.Layout == "NHWC" {
				f[i*ch+c] = x
			} else {
				f[c*H*W+i] = x
			}
		}
	}
	return t
}

// toPlanes splits an image into ch planes of 0–255 values (8-bit precision, as image files store them).
func toPlanes(img image.Image, ch int) [][]float32 {
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	planes := make([][]float32, ch)
	for c := range planes {
		planes[c] = make([]float32, w*h)
	}
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			i := y*w + x
			if ch == 1 {
				if g, ok := img.At(b.Min.X+x, b.Min.Y+y).(color.Gray); ok {
					planes[0][i] = float32(g.Y)
					continue
				}
			}
			r, g, bl, _ := img.At(b.Min.X+x, b.Min.Y+y).RGBA()
			r8, g8, b8 := float32(r>>8), float32(g>>8), float32(bl>>8)
			if ch == 1 {
				planes[0][i] = 0.299*r8 + 0.587*g8 + 0.114*b8
			} else {
				planes[0][i], planes[1][i], planes[2][i] = r8, g8, b8
			}
		}
	}
	return planes
}

// resizeBilinear resamples one plane with half-pixel centres: source coordinate (dst+0.5)·scale − 0.5,
// clamped at 0, with the far neighbour clamped at the edge.
func resizeBilinear(src []float32, sw, sh, dw, dh int) []float32 {
	dst := make([]float32, dw*dh)
	if sw == dw && sh == dh {
		copy(dst, src)
		return dst
	}
	sx, sy := float64(sw)/float64(dw), float64(sh)/float64(dh)
	for y := 0; y < dh; y++ {
		fy := max((float64(y)+0.5)*sy-0.5, 0)
		y0 := min(int(fy), sh-1)
		y1 := min(y0+1, sh-1)
		wy := float32(fy - float64(y0))
		for x := 0; x < dw; x++ {
			fx := max((float64(x)+0.5)*sx-0.5, 0)
			x0 := min(int(fx), sw-1)
			x1 := min(x0+1, sw-1)
			wx := float32(fx - float64(x0))
			top := src[y0*sw+x0]*(1-wx) + src[y0*sw+x1]*wx
			bot := src[y1*sw+x0]*(1-wx) + src[y1*sw+x1]*wx
			dst[y*dw+x] = top*(1-wy) + bot*wy
		}
	}
	return dst
}

func crop(src []float32, sw, sh, left, top, w, h int) []float32 {
	dst := make([]float32, w*h)
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			sx, sy := x+left, y+top
			if sx >= 0 && sx < sw && sy >= 0 && sy < sh {
				dst[y*w+x] = src[sy*sw+sx]
			}
		}
	}
	return dst
}
