package runtime

import (
	"math"
	"sort"

	"github.com/hone-ml/hone/ir"
)

// NonMaxSuppression (opsets 10, 11) and RoiAlign (opsets 10, 16): the detection post-processing ops.

// xBuildNMS compiles NonMaxSuppression: greedy selection per (batch, class) in descending score order, dropping
// boxes whose IoU with an already selected box exceeds iou_threshold (Neubeck & Van Gool, "Efficient
// Non-Maximum Suppression", ICPR 2006, as ONNX Runtime implements it).
func xBuildNMS(b *BuildCtx) (Kernel, error) {
	center := b.Node.AttrInt("center_point_box", 0)
	if center != 0 && center != 1 {
		return nil, Invalidf("center_point_box %d", center)
	}
	return KernelFunc(func(ctx *Ctx, in []*ir.Tensor) ([]*ir.Tensor, error) {
		boxesT, boxes, err := xFloatIn(in, 0, "boxes")
		if err != nil {
			return nil, err
		}
		scoresT, scores, err := xFloatIn(in, 1, "scores")
		if err != nil {
			return nil, err
		}
		if boxesT.Rank() != 3 || boxesT.Shape[2] != 4 {
			return nil, Invalidf("boxes has shape %v; want [batch, boxes, 4]", boxesT.Shape)
		}
		B, S := boxesT.Shape[0], boxesT.Shape[1]
		if scoresT.Rank() != 3 || scoresT.Shape[0] != B || scoresT.Shape[2] != S {
			return nil, Invalidf("scores has shape %v; want [%d, classes, %d]", scoresT.Shape, B, S)
		}
		C := scoresT.Shape[1]
		var maxOut int64
		if t := nnInput(in, 2); t != nil && t.Len() > 0 {
			if maxOut, err = tScalarInt(t, "max_output_boxes_per_class"); err != nil {
				return nil, err
			}
		}
		iouTh, scoreTh, hasScoreTh := 0.0, 0.0, false
		if t := nnInput(in, 3); t != nil && t.Len() > 0 {
			if !nnIsFloat(t.DType) || t.Len() != 1 {
				return nil, Invalidf("iou_threshold must be a float scalar, got %s", t)
			}
			iouTh = t.Float64s()[0]
			if iouTh < 0 || iouTh > 1 {
				return nil, Invalidf("iou_threshold %v outside [0, 1]", iouTh)
			}
		}
		if t := nnInput(in, 4); t != nil && t.Len() > 0 {
			if !nnIsFloat(t.DType) || t.Len() != 1 {
				return nil, Invalidf("score_threshold must be a float scalar, got %s", t)
			}
			scoreTh, hasScoreTh = t.Float64s()[0], true
		}
		// Corners as (y1, x1, y2, x2) with y1 ≤ y2 and x1 ≤ x2, whatever the input order.
		corner := make([][4]float64, B*S)
		for i := range corner {
			v := boxes[i*4 : i*4+4]
			if center == 1 {
				xc, yc, w, h := v[0], v[1], v[2], v[3]
				corner[i] = [4]float64{yc - h/2, xc - w/2, yc + h/2, xc + w/2}
			} else {
				corner[i] = [4]float64{min(v[0], v[2]), min(v[1], v[3]), max(v[0], v[2]), max(v[1], v[3])}
			}
		}
		var sel []int64
		order := make([]int, 0, S)
		var kept []int
		for bi := range B {
			for c := range C {
				if maxOut <= 0 {
					continue
				}
				sc := scores[(bi*C+c)*S : (bi*C+c+1)*S]
				order = order[:0]
				for i, s := range sc {
					if !hasScoreTh || s > scoreTh {
						order = append(order, i)
					}
				}
				sort.SliceStable(order, func(a, b int) bool { return sc[order[a]] > sc[order[b]] })
				kept = kept[:0]
				for _, i := range order {
					bx := corner[bi*S+i]
					ok := true
					for _, k := range kept {
						if xIoU(bx, corner[bi*S+k]) > iouTh {
							ok = false
							break
						}
					}
					if !ok {
						continue
					}
					kept = append(kept, i)
					sel = append(sel, int64(bi), int64(c), int64(i))
					if int64(len(kept)) >= maxOut {
						break
					}
				}
			}
		}
		out := ctx.Alloc(ir.Int64, len(sel)/3, 3)
		copy(out.I64(), sel)
		return []*ir.Tensor{out}, nil
	}), nil
}

// xIoU is the intersection over union of two (y1, x1, y2, x2) boxes; degenerate boxes overlap nothing.
func xIoU(a, b [4]float64) float64 {
	areaA := (a[2] - a[0]) * (a[3] - a[1])
	areaB := (b[2] - b[0]) * (b[3] - b[1])
	if areaA <= 0 || areaB <= 0 {
		return 0
	}
	ih := min(a[2], b[2]) - max(a[0], b[0])
	iw := min(a[3], b[3]) - max(a[1], b[1])
	if ih <= 0 || iw <= 0 {
		return 0
	}
	inter := ih * iw
	return inter / (areaA + areaB - inter)
}

// xBuildRoiAlign compiles RoiAlign (He et al., "Mask R-CNN", ICCV 2017): each output bin averages (or takes the
// max of) bilinear samples on a regular grid inside the bin. Opset 16 added coordinate_transformation_mode, whose
// default half_pixel shifts by -0.5; before it, coordinates were used as given ("output_half_pixel").
func xBuildRoiAlign(b *BuildCtx) (Kernel, error) {
	n := b.Node
	mode := n.AttrString("mode", "avg")
	if mode != "avg" && mode != "max" {
		return nil, Invalidf("mode %q", mode)
	}
	ctm := "output_half_pixel"
	if b.Opset >= 16 {
		ctm = n.AttrString("coordinate_transformation_mode", "half_pixel")
	}
	if ctm != "half_pixel" && ctm != "output_half_pixel" {
		return nil, Invalidf("coordinate_transformation_mode %q", ctm)
	}
	oh, ow := int(n.AttrInt("output_height", 1)), int(n.AttrInt("output_width", 1))
	ratio := int(n.AttrInt("sampling_ratio", 0))
	scale := float64(n.AttrFloat("spatial_scale", 1))
	if oh <= 0 || ow <= 0 || ratio < 0 {
		return nil, Invalidf("output %dx%d, sampling_ratio %d", oh, ow, ratio)
	}
	halfPixel := ctm == "half_pixel"
	return KernelFunc(func(ctx *Ctx, in []*ir.Tensor) ([]*ir.Tensor, error) {
		xt, x, err := xFloatIn(in, 0, "X")
		if err != nil {
			return nil, err
		}
		rt, rois, err := xFloatIn(in, 1, "rois")
		if err != nil {
			return nil, err
		}
		bt := nnInput(in, 2)
		if bt == nil {
			return nil, Invalidf("missing input batch_indices")
		}
		bidx, err := tInts(bt, "batch_indices")
		if err != nil {
			return nil, err
		}
		if xt.Rank() != 4 {
			return nil, Invalidf("X has shape %v; want [N, C, H, W]", xt.Shape)
		}
		N, C, H, W := xt.Shape[0], xt.Shape[1], xt.Shape[2], xt.Shape[3]
		if rt.Rank() != 2 || rt.Shape[1] != 4 || len(bidx) != rt.Shape[0] {
			return nil, Invalidf("rois %v and batch_indices %v do not match [num_rois, 4] and [num_rois]", rt.Shape, bt.Shape)
		}
		R := rt.Shape[0]
		out := make([]float64, R*C*oh*ow)
		off := 0.0
		if halfPixel {
			off = 0.5
		}
		for r := range R {
			bi := bidx[r]
			if bi < 0 || bi >= int64(N) {
				return nil, Invalidf("batch_indices[%d] = %d outside [0, %d)", r, bi, N)
			}
			sw, sh := rois[r*4]*scale-off, rois[r*4+1]*scale-off
			rw, rh := rois[r*4+2]*scale-off-sw, rois[r*4+3]*scale-off-sh
			if !halfPixel {
				rw, rh = max(rw, 1), max(rh, 1)
			}
			binH, binW := rh/float64(oh), rw/float64(ow)
			gh, gw := ratio, ratio
			if ratio == 0 {
				gh, gw = int(math.Ceil(rh/float64(oh))), int(math.Ceil(rw/float64(ow)))
			}
			count := float64(max(gh*gw, 1))
			for c := range C {
				plane := x[(int(bi)*C+c)*H*W : (int(bi)*C+c+1)*H*W]
				for ph := range oh {
					for pw := range ow {
						acc, mx := 0.0, math.Inf(-1)
						for iy := range gh {
							y := sh + float64(ph)*binH + (float64(iy)+0.5)*binH/float64(gh)
							for ix := range gw {
								xx := sw + float64(pw)*binW + (float64(ix)+0.5)*binW/float64(gw)
								v, vm := xBilinear(plane, H, W, y, xx)
								acc += v
								mx = max(mx, vm)
							}
						}
						o := ((r*C+c)*oh+ph)*ow + pw
						if mode == "avg" {
							out[o] = acc / count
						} else if gh*gw > 0 {
							out[o] = mx
						}
					}
				}
			}
		}
		return []*ir.Tensor{xFloatOut(ctx, xt.DType, out, R, C, oh, ow)}, nil
	}), nil
}

// xBilinear samples plane at (y, x) the way RoiAlign does: points more than one pixel outside read 0, others
// are clamped to the edge. It returns the interpolated value and, for max mode, the largest weighted corner
// term (ONNX Runtime's definition of RoiAlign max pooling).
func xBilinear(plane []float64, H, W int, y, x float64) (float64, float64) {
	if H == 0 || W == 0 || y < -1 || y > float64(H) || x < -1 || x > float64(W) {
		return 0, 0
	}
	y, x = max(y, 0), max(x, 0)
	y0, x0 := int(y), int(x)
	y1, x1 := y0+1, x0+1
	if y0 >= H-1 {
		y0, y1, y = H-1, H-1, float64(H-1)
	}
	if x0 >= W-1 {
		x0, x1, x = W-1, W-1, float64(W-1)
	}
	ly, lx := y-float64(y0), x-float64(x0)
	hy, hx := 1-ly, 1-lx
	a := hy * hx * plane[y0*W+x0]
	b := hy * lx * plane[y0*W+x1]
	c := ly * hx * plane[y1*W+x0]
	d := ly * lx * plane[y1*W+x1]
	return a + b + c + d, max(a, b, c, d)
}
