package runtime

import (
	"math"

	"github.com/hone-ml/hone/ir"
)

// nnResize is a compiled Resize (opsets 10–19) or Upsample (7–9) node. Interpolation is separable: each axis
// gets a table of taps (input index, weight) per output index, and axes are resized one after the other, which
// is the tensor-product interpolation ONNX specifies.
type nnResize struct {
	mode                     string  // nearest, linear, cubic
	coord                    string  // coordinate_transformation_mode
	nearest                  string  // nearest_mode, or "simple" for opsets before 11 (floor when upsampling, ceil when downsampling)
	cubicA                   float64 // cubic_coeff_a
	excludeOutside           bool
	extrap                   float32
	antialias                bool
	axes                     []int64
	keepAspect               string
	attrScales               []float32 // Upsample-7
	roiIn, scalesIn, sizesIn int       // input positions, -1 when the opset has none
}

func nnBuildResize(b *BuildCtx) (Kernel, error) {
	n := b.Node
	r := &nnResize{
		mode:       n.AttrString("mode", "nearest"),
		coord:      n.AttrString("coordinate_transformation_mode", "half_pixel"),
		nearest:    n.AttrString("nearest_mode", "round_prefer_floor"),
		cubicA:     float64(n.AttrFloat("cubic_coeff_a", -0.75)),
		extrap:     n.AttrFloat("extrapolation_value", 0),
		antialias:  n.AttrInt("antialias", 0) != 0,
		axes:       n.AttrInts("axes", nil),
		keepAspect: n.AttrString("keep_aspect_ratio_policy", "stretch"),
		roiIn:      1, scalesIn: 2, sizesIn: 3,
	}
	r.excludeOutside = n.AttrInt("exclude_outside", 0) != 0
	upsample := n.OpType == "Upsample"
	switch {
	case upsample && b.Opset < 9:
		r.attrScales = n.AttrFloats("scales", nil)
		if r.attrScales == nil {
			return nil, Invalidf("Upsample needs the scales attribute")
		}
		r.roiIn, r.scalesIn, r.sizesIn = -1, -1, -1
	case upsample || b.Opset < 11:
		r.roiIn, r.scalesIn, r.sizesIn = -1, 1, -1
	}
	if upsample || b.Opset < 11 {
		// Resize-10 and Upsample: asymmetric coordinates, ONNX Runtime's "simple" nearest rounding.
		r.coord, r.nearest = "asymmetric", "simple"
		if r.mode == "bilinear" || r.mode == "trilinear" {
			r.mode = "linear"
		}
	}
	switch r.mode {
	case "nearest", "linear":
	case "cubic":
		if upsample || b.Opset < 11 {
			return nil, Invalidf("mode cubic needs Resize opset 11 or later")
		}
	default:
		return nil, Unsupportedf("mode %q", r.mode)
	}
	switch r.coord {
	case "half_pixel", "pytorch_half_pixel", "align_corners", "asymmetric", "tf_half_pixel_for_nn", "tf_crop_and_resize":
	case "half_pixel_symmetric":
		if b.Opset < 19 {
			return nil, Invalidf("coordinate_transformation_mode half_pixel_symmetric needs opset 19")
		}
	default:
		return nil, Unsupportedf("coordinate_transformation_mode %q", r.coord)
	}
	switch r.nearest {
	case "round_prefer_floor", "round_prefer_ceil", "floor", "ceil", "simple":
	default:
		return nil, Unsupportedf("nearest_mode %q", r.nearest)
	}
	switch r.keepAspect {
	case "stretch", "not_larger", "not_smaller":
	default:
		return nil, Unsupportedf("keep_aspect_ratio_policy %q", r.keepAspect)
	}
	return KernelFunc(r.run), nil
}

// nnTaps is one axis's interpolation table: for output index o, taps T entries idx[o*T+j] with weights w[o*T+j];
// out[o] marks coordinates outside the input (tf_crop_and_resize), which take the extrapolation value.
type nnTaps struct {
	T   int
	idx []int
	w   []float32
	out []bool
}

func (t *nnTaps) identity(L int) bool {
	if len(t.out) != L {
		return false
	}
	for o := 0; o < L; o++ {
		if t.out[o] {
			return false
		}
		for j := 0; j < t.T; j++ {
			k := o*t.T + j
			if t.w[k] != 0 && (t.idx[k] != o || t.w[k] != 1) {
				return false
			}
		}
	}
	return true
}

// plan works out output sizes and per-axis scales for input shape in.
// lenR is the real-valued resized length the coordinate formulas use: the output size when sizes were given,
// input size × scale (not rounded) when scales were, as ONNX's reference implementation does.
func (r *nnResize) plan(in []*ir.Tensor, shape []int) (outSize []int, scales, lenR, roi []float64, err error) {
	rank := len(shape)
	nIn := func(i int) *ir.Tensor {
		if i < 0 {
			return nil
		}
		if t := nnInput(in, i); t != nil && t.Len() > 0 {
			return t
		}
		return nil
	}
	axes := make([]int, 0, rank)
	if r.axes != nil {
		seen := make([]bool, rank)
		for _, a := range r.axes {
			ax, err := nnAxis(a, rank)
			if err != nil {
				return nil, nil, nil, nil, err
			}
			if seen[ax] {
				return nil, nil, nil, nil, Invalidf("axes %v repeat an axis", r.axes)
			}
			seen[ax] = true
			axes = append(axes, ax)
		}
	} else {
		for i := 0; i < rank; i++ {
			axes = append(axes, i)
		}
	}
	outSize, scales, lenR = append([]int(nil), shape...), make([]float64, rank), make([]float64, rank)
	for i := range scales {
		scales[i], lenR[i] = 1, float64(shape[i])
	}
	roi = make([]float64, 2*rank)
	for i := 0; i < rank; i++ {
		roi[rank+i] = 1
	}
	if rt := nIn(r.roiIn); rt != nil && r.coord == "tf_crop_and_resize" {
		v := rt.Float64s()
		if len(v) != 2*len(axes) {
			return nil, nil, nil, nil, Invalidf("roi has %d values, want %d", len(v), 2*len(axes))
		}
		for j, ax := range axes {
			roi[ax], roi[rank+ax] = v[j], v[len(axes)+j]
		}
	}
	st, zt := nIn(r.scalesIn), nIn(r.sizesIn)
	var sv []float64
	switch {
	case r.attrScales != nil:
		for _, v := range r.attrScales {
			sv = append(sv, float64(v))
		}
	case st != nil:
		if !nnIsFloat(st.DType) {
			return nil, nil, nil, nil, Invalidf("scales must be float, got %s", st.DType)
		}
		sv = st.Float64s()
	}
	switch {
	case sv != nil && zt != nil:
		return nil, nil, nil, nil, Invalidf("only one of scales and sizes may be given")
	case sv != nil:
		if len(sv) != len(axes) {
			return nil, nil, nil, nil, Invalidf("scales has %d values for %d axes", len(sv), len(axes))
		}
		for j, ax := range axes {
			if sv[j] <= 0 {
				return nil, nil, nil, nil, Invalidf("scales %v must be positive", sv)
			}
			// Scales are float32 in ONNX; computing the size in float32 matches ONNX Runtime's rounding.
			s := float32(sv[j])
			ext := float32(shape[ax])
			if r.coord == "tf_crop_and_resize" {
				ext *= float32(roi[rank+ax] - roi[ax])
			}
			scales[ax], outSize[ax], lenR[ax] = float64(s), int(ext*s), float64(ext*s)
		}
	case zt != nil:
		sz, err := zt.Int64s()
		if err != nil {
			return nil, nil, nil, nil, Invalidf("sizes: %v", err)
		}
		if len(sz) != len(axes) {
			return nil, nil, nil, nil, Invalidf("sizes has %d values for %d axes", len(sz), len(axes))
		}
		for j, ax := range axes {
			if sz[j] <= 0 {
				return nil, nil, nil, nil, Invalidf("sizes %v must be positive", sz)
			}
			outSize[ax] = int(sz[j])
			scales[ax] = float64(float32(sz[j]) / float32(shape[ax]))
		}
		if r.keepAspect != "stretch" {
			s := scales[axes[0]]
			for _, ax := range axes {
				if r.keepAspect == "not_larger" {
					s = min(s, scales[ax])
				} else {
					s = max(s, scales[ax])
				}
			}
			for _, ax := range axes {
				scales[ax] = s
				outSize[ax] = int(math.Round(s * float64(shape[ax])))
			}
		}
	default:
		return nil, nil, nil, nil, Invalidf("one of scales and sizes is required")
	}
	for i, o := range outSize {
		if zt != nil {
			lenR[i] = float64(o)
		}
		if o <= 0 && shape[i] > 0 {
			return nil, nil, nil, nil, Invalidf("output shape %v has an empty dimension", outSize)
		}
	}
	return outSize, scales, lenR, roi, nil
}

// taps builds the interpolation table for one axis of input length L, output length O, scale s and roi range.
func (r *nnResize) taps(L, O int, s, lenR, roiStart, roiEnd float64) nnTaps {
	var t nnTaps
	aa := r.antialias && s < 1 && r.mode != "nearest"
	switch {
	case r.mode == "nearest":
		t.T = 1
	case aa && r.mode == "linear":
		t.T = 2 - 2*int(math.Floor(-1/s)+1)
	case aa:
		t.T = 2 - 2*int(math.Floor(-2/s)+1)
	case r.mode == "linear":
		t.T = 2
	default:
		t.T = 4
	}
	t.idx, t.w, t.out = make([]int, O*t.T), make([]float32, O*t.T), make([]bool, O)
	coef := make([]float64, t.T)
	for o := 0; o < O; o++ {
		x := r.coordinate(float64(o), L, lenR, s, roiStart, roiEnd)
		if r.coord == "tf_crop_and_resize" && (x < 0 || x > float64(L-1)) {
			t.out[o] = true
			continue
		}
		ti, tw := t.idx[o*t.T:(o+1)*t.T], t.w[o*t.T:(o+1)*t.T]
		if r.mode == "nearest" {
			ti[0], tw[0] = min(max(r.round(x, s), 0), L-1), 1
			continue
		}
		x0 := math.Floor(x)
		ratio := x - x0
		first := 0 // offset of tap 0 from x0
		switch {
		case aa && r.mode == "linear":
			first = int(math.Floor(-1/s) + 1)
			for j := range coef {
				coef[j] = max(0, 1-math.Abs((float64(first+j)-ratio)*s))
			}
		case aa:
			first = int(math.Floor(-2/s) + 1)
			for j := range coef {
				coef[j] = nnCubic(math.Abs((float64(first+j)-ratio)*s), r.cubicA)
			}
		case r.mode == "linear":
			coef[0], coef[1] = 1-ratio, ratio
		default:
			first = -1
			for j := range coef {
				coef[j] = nnCubic(math.Abs(float64(first+j)-ratio), r.cubicA)
			}
		}
		var sum float64
		for j := range coef {
			i := int(x0) + first + j
			if r.excludeOutside && (i < 0 || i >= L) {
				coef[j] = 0
			}
			sum += coef[j]
		}
		if sum == 0 {
			sum = 1
		}
		// Antialias and exclude_outside renormalise the kernel; plain linear and cubic weights already sum to 1.
		norm := aa || r.excludeOutside
		for j := range coef {
			ti[j] = min(max(int(x0)+first+j, 0), L-1)
			if norm {
				tw[j] = float32(coef[j] / sum)
			} else {
				tw[j] = float32(coef[j])
			}
		}
	}
	return t
}

// nnCubic is the cubic convolution kernel of Keys (1981), "Cubic convolution interpolation for digital image
// processing", with parameter A (ONNX's cubic_coeff_a), at distance d ≥ 0.
func nnCubic(d, A float64) float64 {
	switch {
	case d < 1:
		return ((A+2)*d-(A+3))*d*d + 1
	case d < 2:
		return ((A*d-5*A)*d+8*A)*d - 4*A
	}
	return 0
}

// coordinate maps output index x to an input coordinate (coordinate_transformation_mode).
func (r *nnResize) coordinate(x float64, L int, O, s, roiStart, roiEnd float64) float64 {
	switch r.coord {
	case "half_pixel":
		return (x+0.5)/s - 0.5
	case "half_pixel_symmetric":
		adj := O / (s * float64(L))
		center := float64(L) / 2
		return center*(1-adj) + (x+0.5)/s - 0.5
	case "pytorch_half_pixel":
		if O > 1 {
			return (x+0.5)/s - 0.5
		}
		return 0
	case "align_corners":
		if O == 1 {
			return 0
		}
		return x * float64(L-1) / (O - 1)
	case "tf_half_pixel_for_nn":
		return (x + 0.5) / s
	case "tf_crop_and_resize":
		if O > 1 {
			return roiStart*float64(L-1) + x*(roiEnd-roiStart)*float64(L-1)/(O-1)
		}
		return 0.5 * (roiStart + roiEnd) * float64(L-1)
	}
	return x / s // asymmetric
}

// round applies nearest_mode.
func (r *nnResize) round(x, s float64) int {
	switch r.nearest {
	case "round_prefer_ceil":
		return int(math.Floor(x + 0.5))
	case "floor":
		return int(math.Floor(x))
	case "ceil":
		return int(math.Ceil(x))
	case "simple":
		if s < 1 {
			return int(math.Ceil(x))
		}
		return int(math.Floor(x))
	}
	return int(math.Ceil(x - 0.5)) // round_prefer_floor
}

func (r *nnResize) run(ctx *Ctx, in []*ir.Tensor) ([]*ir.Tensor, error) {
	x := nnInput(in, 0)
	if x == nil {
		return nil, Invalidf("missing input X")
	}
	if !nnIsFloat(x.DType) && x.DType != ir.Int8 && x.DType != ir.Uint8 {
		return nil, Unsupportedf("input dtype %s", x.DType)
	}
	if x.Rank() == 0 {
		return nil, Invalidf("input must have rank ≥ 1")
	}
	outSize, scales, lenR, roi, err := r.plan(in, x.Shape)
	if err != nil {
		return nil, err
	}
	rank := x.Rank()
	taps := make([]*nnTaps, rank)
	for ax := 0; ax < rank; ax++ {
		t := r.taps(x.Shape[ax], outSize[ax], scales[ax], lenR[ax], roi[ax], roi[rank+ax])
		if !t.identity(x.Shape[ax]) {
			taps[ax] = &t
		}
	}
	if r.coord != "tf_crop_and_resize" {
		if y := qResizeNearest8(ctx, x, outSize, taps); y != nil { // 8-bit nearest: bytes, not float32
			return []*ir.Tensor{y}, nil
		}
	}
	cur, err := nnF32(x)
	if err != nil {
		return nil, err
	}
	o := nnAllocRaw(ctx, x.DType, outSize...) // every path below writes every element
	if x.Len() == 0 || o.T.Len() == 0 {
		return []*ir.Tensor{o.done()}, nil
	}
	// Fast path: only the last two axes change (NCHW images) and no extrapolation: one 2-D pass per plane.
	if rank >= 2 && r.coord != "tf_crop_and_resize" {
		only2D := true
		for ax := 0; ax < rank-2; ax++ {
			if taps[ax] != nil {
				only2D = false
			}
		}
		if only2D {
			H, W := x.Shape[rank-2], x.Shape[rank-1]
			ty, tx := taps[rank-2], taps[rank-1]
			if ty == nil {
				t := r.identityTaps(H)
				ty = &t
			}
			if tx == nil {
				t := r.identityTaps(W)
				tx = &t
			}
			nnResize2D(ctx, cur, o.F, nnProd(x.Shape[:rank-2]), H, W, ty, tx)
			return []*ir.Tensor{o.done()}, nil
		}
	}
	shape := append([]int(nil), x.Shape...)
	last := -1
	for ax := range taps {
		if taps[ax] != nil {
			last = ax
		}
	}
	if last < 0 {
		copy(o.F, cur)
		return []*ir.Tensor{o.done()}, nil
	}
	for ax := 0; ax <= last; ax++ {
		t := taps[ax]
		if t == nil {
			continue
		}
		outer, inner := nnProd(shape[:ax]), nnProd(shape[ax+1:])
		L, O := shape[ax], outSize[ax]
		var dst []float32
		if ax == last {
			dst = o.F
		} else {
			dst = make([]float32, outer*O*inner)
		}
		src := cur
		nnParallel(ctx, outer, O*inner*t.T, func(i int) {
			for oi := 0; oi < O; oi++ {
				d := dst[(i*O+oi)*inner : (i*O+oi+1)*inner]
				if t.out[oi] {
					for k := range d {
						d[k] = r.extrap
					}
					continue
				}
				for k := range d {
					d[k] = 0
				}
				for j := 0; j < t.T; j++ {
					w := t.w[oi*t.T+j]
					if w == 0 {
						continue
					}
					s := src[(i*L+t.idx[oi*t.T+j])*inner:]
					for k := range d {
						d[k] += w * s[k]
					}
				}
			}
		})
		cur = dst
		shape[ax] = O
	}
	return []*ir.Tensor{o.done()}, nil
}

func (r *nnResize) identityTaps(L int) nnTaps {
	t := nnTaps{T: 1, idx: make([]int, L), w: make([]float32, L), out: make([]bool, L)}
	for i := range t.idx {
		t.idx[i], t.w[i] = i, 1
	}
	return t
}

// nnResize2D resizes planes of H×W into planes of len(ty.out)×len(tx.out) with the given tap tables; nearest
// (one tap per axis) is a pure gather, the common 2× upsample of detection and segmentation heads.
func nnResize2D(ctx *Ctx, src, dst []float32, planes, H, W int, ty, tx *nnTaps) {
	OH, OW := len(ty.out), len(tx.out)
	nnParallel(ctx, planes, OH*OW*ty.T*tx.T, func(p int) {
		s := src[p*H*W : (p+1)*H*W]
		d := dst[p*OH*OW : (p+1)*OH*OW]
		if ty.T == 1 && tx.T == 1 {
			for oy := 0; oy < OH; oy++ {
				drow := d[oy*OW : (oy+1)*OW]
				if oy > 0 && ty.idx[oy] == ty.idx[oy-1] {
					copy(drow, d[(oy-1)*OW:oy*OW]) // upsampling repeats rows: copy the one just gathered
					continue
				}
				row := s[ty.idx[oy]*W : (ty.idx[oy]+1)*W]
				for ox, ix := range tx.idx[:len(drow)] {
					drow[ox] = row[ix]
				}
			}
			return
		}
		for oy := 0; oy < OH; oy++ {
			drow := d[oy*OW : (oy+1)*OW]
			for ox := range drow {
				var acc float32
				for j := 0; j < ty.T; j++ {
					wy := ty.w[oy*ty.T+j]
					if wy == 0 {
						continue
					}
					row := s[ty.idx[oy*ty.T+j]*W:]
					var racc float32
					for k := 0; k < tx.T; k++ {
						racc += tx.w[ox*tx.T+k] * row[tx.idx[ox*tx.T+k]]
					}
					acc += wy * racc
				}
				drow[ox] = acc
			}
		}
	})
}
