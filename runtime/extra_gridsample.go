package runtime

import (
	"math"

	"github.com/hone-ml/hone/ir"
)

// GridSample (opset 16: modes bilinear/nearest/bicubic; opset 20 renamed them linear/nearest/cubic and allowed N-D
// inputs; hone runs the 2-D case). Coordinates, padding and the bicubic kernel follow PyTorch's grid_sample, which
// the ONNX spec and its reference outputs follow.

type xGridSample struct {
	mode         string // "linear", "nearest" or "cubic"
	padding      string
	alignCorners bool
}

func xBuildGridSample(b *BuildCtx) (Kernel, error) {
	n := b.Node
	g := &xGridSample{alignCorners: n.AttrInt("align_corners", 0) != 0}
	def := "bilinear"
	if b.Opset >= 20 {
		def = "linear"
	}
	switch m := n.AttrString("mode", def); m {
	case "bilinear", "linear":
		g.mode = "linear"
	case "bicubic", "cubic":
		g.mode = "cubic"
	case "nearest":
		g.mode = "nearest"
	default:
		return nil, Invalidf("mode %q", m)
	}
	g.padding = n.AttrString("padding_mode", "zeros")
	switch g.padding {
	case "zeros", "border", "reflection":
	default:
		return nil, Invalidf("padding_mode %q", g.padding)
	}
	return KernelFunc(g.run), nil
}

// unnormalize maps a grid coordinate in [-1, 1] to a pixel coordinate.
func (g *xGridSample) unnormalize(c float64, size int) float64 {
	if g.alignCorners {
		return (c + 1) / 2 * float64(size-1)
	}
	return ((c+1)*float64(size) - 1) / 2
}

// pad applies border clamping or reflection to a pixel coordinate; zeros padding leaves it as it is.
func (g *xGridSample) pad(c float64, size int) float64 {
	switch g.padding {
	case "border":
		return min(max(c, 0), float64(size-1))
	case "reflection":
		if g.alignCorners {
			c = xReflect(c, 0, float64(2*(size-1)))
		} else {
			c = xReflect(c, -1, float64(2*size-1))
		}
		return min(max(c, 0), float64(size-1))
	}
	return c
}

// xReflect reflects c into [lo/2, hi/2] (bounds given doubled so half-pixel edges stay exact).
func xReflect(c, lo2, hi2 float64) float64 {
	if lo2 == hi2 {
		return 0
	}
	lo, span := lo2/2, (hi2-lo2)/2
	c = math.Abs(c - lo)
	extra := math.Mod(c, span)
	if int(math.Floor(c/span))%2 == 0 {
		return extra + lo
	}
	return span - extra + lo
}

func (g *xGridSample) run(ctx *Ctx, in []*ir.Tensor) ([]*ir.Tensor, error) {
	xt, x, err := xFloatIn(in, 0, "X")
	if err != nil {
		return nil, err
	}
	gt, grid, err := xFloatIn(in, 1, "grid")
	if err != nil {
		return nil, err
	}
	if xt.Rank() != 4 {
		return nil, Unsupportedf("X has shape %v: only 2-D (rank-4) sampling is implemented", xt.Shape)
	}
	N, C, H, W := xt.Shape[0], xt.Shape[1], xt.Shape[2], xt.Shape[3]
	if gt.Rank() != 4 || gt.Shape[0] != N || gt.Shape[3] != 2 {
		return nil, Invalidf("grid has shape %v; want [%d, H_out, W_out, 2]", gt.Shape, N)
	}
	Ho, Wo := gt.Shape[1], gt.Shape[2]
	out := make([]float64, N*C*Ho*Wo)
	for nb := range N {
		for c := range C {
			plane := x[(nb*C+c)*H*W : (nb*C+c+1)*H*W]
			at := func(yy, xx int) float64 {
				if yy < 0 || yy >= H || xx < 0 || xx >= W {
					return 0
				}
				return plane[yy*W+xx]
			}
			for i := range Ho * Wo {
				gx, gy := grid[(nb*Ho*Wo+i)*2], grid[(nb*Ho*Wo+i)*2+1]
				px, py := g.unnormalize(gx, W), g.unnormalize(gy, H)
				var v float64
				switch g.mode {
				case "nearest":
					px, py = g.pad(px, W), g.pad(py, H)
					v = at(int(math.RoundToEven(py)), int(math.RoundToEven(px)))
				case "linear":
					px, py = g.pad(px, W), g.pad(py, H)
					x0, y0 := math.Floor(px), math.Floor(py)
					lx, ly := px-x0, py-y0
					xi, yi := int(x0), int(y0)
					v = at(yi, xi)*(1-ly)*(1-lx) + at(yi, xi+1)*(1-ly)*lx + at(yi+1, xi)*ly*(1-lx) + at(yi+1, xi+1)*ly*lx
				case "cubic":
					// Each of the 4×4 taps is padded on its own (PyTorch's get_value_bounded).
					x0, y0 := math.Floor(px), math.Floor(py)
					wx, wy := xCubicWeights(px-x0), xCubicWeights(py-y0)
					for j := range 4 {
						yy := g.pad(y0-1+float64(j), H)
						for k := range 4 {
							xx := g.pad(x0-1+float64(k), W)
							v += wy[j] * wx[k] * at(int(yy), int(xx))
						}
					}
				}
				out[(nb*C+c)*Ho*Wo+i] = v
			}
		}
	}
	return []*ir.Tensor{xFloatOut(ctx, xt.DType, out, N, C, Ho, Wo)}, nil
}

// xCubicWeights are Keys' cubic convolution weights (A = -0.75, as PyTorch and ONNX use) for the four taps
// around a point at fraction t past the second tap.
func xCubicWeights(t float64) [4]float64 {
	const A = -0.75
	near := func(d float64) float64 { return ((A+2)*d-(A+3))*d*d + 1 }
	far := func(d float64) float64 { return ((A*d-5*A)*d+8*A)*d - 4*A }
	return [4]float64{far(t + 1), near(t), near(1 - t), far(2 - t)}
}
