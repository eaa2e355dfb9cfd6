package runtime

import (
	"slices"

	"github.com/hone-ml/hone/ir"
	"github.com/hone-ml/hone/kernels"
	"github.com/hone-ml/hone/opt"
)

// qConvT compiles hone's QConvTranspose (see ir.OpQConvTranspose): a transposed convolution whose kernel patches
// tile the output, on the integers. Every output pixel comes from one input pixel and one tap, so the whole op is
// one GEMM of the input pixels (NHWC, uint8) by W read as a [C, M·kh·kw] matrix (its own memory order), with the
// requantization or dequantization in the epilogue, stored transposed (each tap column's pixels in a run); each
// output row is then the kw tap columns of its input row interleaved. Bands of input rows keep the GEMM's output
// in cache for the interleave.
type qConvT struct {
	packed       *kernels.QPackedB
	pointwise    *kernels.QPackedPointwise // W as [M·kh·kw, C] for kernels.QPointwise, when zero points are 0
	C, M, kh, kw int
	float        bool // no y_scale: a float32 output
}

func qBuildConvTranspose(b *BuildCtx) (Kernel, error) {
	n := b.Node
	w := nnConst(b, 1)
	if w == nil {
		return nil, Unsupportedf("weights must be a constant")
	}
	if w.Rank() != 4 || n.AttrInt("group", 1) != 1 {
		return nil, Unsupportedf("weights of shape %v with group %d: only ungrouped 2-D", w.Shape, n.AttrInt("group", 1))
	}
	c := &qConvT{C: w.Shape[0], M: w.Shape[1], kh: w.Shape[2], kw: w.Shape[3], float: !nnHasInput(n, 7)}
	if !opt.ConvTransposeTiles(n, w.Shape) {
		return nil, Unsupportedf("only kernel = stride with no padding, dilation or output padding")
	}
	wd, shift, err := qWeights(w)
	if err != nil {
		return nil, err
	}
	if nnHasInput(n, 6) && nnConst(b, 6) == nil {
		return nil, Unsupportedf("w_zero_point must be a constant")
	}
	zw, err := qZeroVector(nnConst(b, 6), w.DType, c.M, shift, "W")
	if err != nil {
		return nil, err
	}
	taps, cols := c.kh*c.kw, c.M*c.kh*c.kw
	zb := make([]int32, cols)
	for j := range zb {
		zb[j] = zw[min(j/taps, len(zw)-1)]
	}
	if c.packed, err = kernels.QPackB(c.C, cols, wd, cols, zb); err != nil {
		return nil, Invalidf("%v", err)
	}
	// With symmetric weights the tap planes come from kernels.QPointwise on the NCHW input itself: no NHWC
	// transpose, and each tap's pixels stored as a run without a transposing epilogue.
	if kernels.QPointwiseFast() && !slices.ContainsFunc(zb, func(z int32) bool { return z != 0 }) {
		wt := make([]int8, len(wd))
		for ch := 0; ch < c.C; ch++ {
			for j := 0; j < cols; j++ {
				wt[j*c.C+ch] = wd[ch*cols+j]
			}
		}
		if c.pointwise, err = kernels.QPackPointwise(cols, c.C, wt); err != nil {
			return nil, Invalidf("%v", err)
		}
	}
	return KernelFunc(c.run), nil
}

func (c *qConvT) run(ctx *Ctx, in []*ir.Tensor) ([]*ir.Tensor, error) {
	x := nnInput(in, 0)
	if x == nil || x.Rank() != 4 || x.Shape[1] != c.C {
		return nil, Invalidf("input X must be [N, %d, H, W], got %v", c.C, x)
	}
	xshift, flip, err := qFlip(x.DType)
	if err != nil {
		return nil, err
	}
	zx, err := qZeroVector(nnInput(in, 4), x.DType, 1, xshift, "X")
	if err != nil {
		return nil, err
	}
	xs, err := qScalarF32(nnInput(in, 3), "x_scale")
	if err != nil {
		return nil, err
	}
	wf, err := qChannelScales(nnInput(in, 5), c.M, "w_scale")
	if err != nil {
		return nil, err
	}
	ys, yt := float32(1), ir.Float32
	var yzp int32
	if !c.float {
		if ys, err = qScalarF32(nnInput(in, 7), "y_scale"); err != nil {
			return nil, err
		}
		yt = ir.Uint8
		if yz := nnInput(in, 8); yz != nil {
			if yz.Len() != 1 || (yz.DType != ir.Uint8 && yz.DType != ir.Int8) {
				return nil, Invalidf("y_zero_point must be an 8-bit scalar")
			}
			yt = yz.DType
			v, _ := yz.Int64s()
			yzp = int32(v[0])
		}
	}
	taps, cols := c.kh*c.kw, c.M*c.kh*c.kw
	out := kernels.QOutput{Scale: make([]float32, cols), ZeroPoint: yzp, Trans: true}
	for j := range out.Scale {
		s := xs * wf[min(j/taps, len(wf)-1)]
		if !c.float {
			s /= ys // ONNX Runtime's multiplier, in float32
		}
		out.Scale[j] = s
	}
	if bt := nnInput(in, 2); bt != nil {
		if bt.DType != ir.Int32 || bt.Len() != c.M {
			return nil, Invalidf("bias must be int32 with %d values, got %s", c.M, bt)
		}
		out.Bias = make([]int32, cols)
		for j := range out.Bias {
			out.Bias[j] = bt.I32()[j/taps]
		}
	}
	N, H, W := x.Shape[0], x.Shape[2], x.Shape[3]
	OH, OW := H*c.kh, W*c.kw
	y := ctx.allocRaw(yt, N, c.M, OH, OW) // every element is written
	esz := 1
	if c.float {
		esz = 4
	}
	band := max(1, min(H, qConvBandBytes/max(1, cols*W*esz)))
	nhwcSize := H * W * c.C
	if c.pointwise != nil {
		nhwcSize = 0
	}
	nt := ctx.allocRaw(ir.Uint8, nhwcSize)
	defer ctx.recycle(nt)
	tt := ctx.allocRaw(yt, cols*band*W)
	defer ctx.recycle(tt)
	nhwc := nt.U8()
	for n := 0; n < N; n++ {
		xn := x.Bytes()[n*c.C*H*W : (n+1)*c.C*H*W]
		if c.pointwise == nil {
			qToNHWC(ctx, nhwc, xn, c.C, H*W, flip)
		}
		for h0 := 0; h0 < H; h0 += band {
			h1 := min(H, h0+band)
			rows := (h1 - h0) * W
			o := out
			o.Ldc = rows
			switch yt {
			case ir.Float32:
				o.F32 = tt.F32()[:cols*rows]
			case ir.Uint8:
				o.U8 = tt.U8()[:cols*rows]
			default:
				o.I8 = tt.I8()[:cols*rows]
			}
			var err error
			if c.pointwise != nil {
				o.Trans = false
				err = kernels.QPointwise(ctx.Par, c.pointwise, xn[h0*W:], H*W, flip, zx[0], rows, &o)
			} else {
				err = kernels.QGemm(ctx.Par, rows, nhwc[h0*W*c.C:h1*W*c.C], c.C, zx, c.packed, &o)
			}
			if err != nil {
				return nil, Invalidf("%v", err)
			}
			// Output row ih·kh + a of channel m interleaves tap columns (m, a, 0…kw−1) of input row ih.
			nnParallel(ctx, c.M*(h1-h0), taps*W, func(t int) {
				m, ih := t/(h1-h0), h0+t%(h1-h0)
				for a := 0; a < c.kh; a++ {
					orow := (n*c.M+m)*OH*OW + (ih*c.kh+a)*OW
					col := (m*taps + a*c.kw) * rows
					src := (ih - h0) * W
					if c.float {
						c.interleave32(y.F32()[orow:orow+OW], tt.F32()[col:], src, rows, W)
					} else {
						c.interleave8(y.Bytes()[orow:orow+OW], tt.Bytes()[col:], src, rows, W)
					}
				}
			})
		}
	}
	return []*ir.Tensor{y}, nil
}

// interleave32 writes one float32 output row of w·kw values from the kw tap columns t[b·rows + src …].
func (c *qConvT) interleave32(d, t []float32, src, rows, w int) {
	if c.kw == 2 {
		kernels.Interleave2(d, t[src:src+w], t[rows+src:rows+src+w], 0)
		return
	}
	for b := 0; b < c.kw; b++ {
		for i, v := range t[b*rows+src : b*rows+src+w] {
			d[i*c.kw+b] = v
		}
	}
}

// interleave8 is interleave32 for bytes.
func (c *qConvT) interleave8(d, t []uint8, src, rows, w int) {
	if c.kw == 2 {
		kernels.InterleaveBytes(d, t[src:src+w], t[rows+src:rows+src+w])
		return
	}
	for b := 0; b < c.kw; b++ {
		for i, v := range t[b*rows+src : b*rows+src+w] {
			d[i*c.kw+b] = v
		}
	}
}
