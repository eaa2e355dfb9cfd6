package runtime

import (
	"github.com/hone-ml/hone/ir"
	"github.com/hone-ml/hone/kernels"
)

// qConv compiles ConvInteger and QLinearConv (1-D and 2-D). Each image and group is lowered to one integer
// GEMM: the im2col matrix [output pixels × C·KH·KW] (uint8, padded with the input zero point so padding
// contributes 0) times the packed transposed weights [C·KH·KW × M/group] (int8), written pixel-major and then
// transposed to NCHW.
type qConv struct {
	win     nnWindow
	group   int
	qlinear bool
	packed  []*kernels.QPackedB // per group, when W and its zero point are constants
	wShape  []int
}

// Input positions per op.
func (c *qConv) idx() (x, w, zx, zw int) {
	if c.qlinear {
		return 0, 3, 2, 5
	}
	return 0, 1, 2, 3
}

func qBuildConvInteger(b *BuildCtx) (Kernel, error) { return qBuildConv(b, false) }
func qBuildQLinearConv(b *BuildCtx) (Kernel, error) { return qBuildConv(b, true) }

func qBuildConv(b *BuildCtx, qlinear bool) (Kernel, error) {
	win, err := nnParseWindow(b.Node)
	if err != nil {
		return nil, err
	}
	c := &qConv{win: win, group: int(b.Node.AttrInt("group", 1)), qlinear: qlinear}
	if c.group <= 0 {
		return nil, Invalidf("group %d must be positive", c.group)
	}
	_, iw, _, izw := c.idx()
	if w := nnConst(b, iw); w != nil && (!nnHasInput(b.Node, izw) || nnConst(b, izw) != nil) {
		if c.packed, err = c.pack(w, nnConst(b, izw)); err != nil {
			return nil, err
		}
		c.wShape = w.Shape
	}
	return KernelFunc(c.run), nil
}

// pack checks the weights' shape and packs each group's W^T with its zero points (scalar or per output channel).
func (c *qConv) pack(w, zp *ir.Tensor) ([]*kernels.QPackedB, error) {
	if w.Rank() != 3 && w.Rank() != 4 {
		return nil, Unsupportedf("weights of shape %v: only 1-D and 2-D convolutions are supported", w.Shape)
	}
	M := w.Shape[0]
	if M%c.group != 0 {
		return nil, Invalidf("%d output channels are not divisible by group %d", M, c.group)
	}
	if c.win.Kernel != nil && !nnEqualInts(c.win.Kernel, w.Shape[2:]) {
		return nil, Invalidf("kernel_shape %v does not match weights of shape %v", c.win.Kernel, w.Shape)
	}
	wd, shift, err := qWeights(w)
	if err != nil {
		return nil, err
	}
	zw, err := qZeroVector(zp, w.DType, M, shift, "W")
	if err != nil {
		return nil, err
	}
	mg, k := M/c.group, w.Len()/max(M, 1)
	out := make([]*kernels.QPackedB, c.group)
	wt := make([]int8, k*mg)
	for g := range out {
		for m := 0; m < mg; m++ {
			for p := 0; p < k; p++ {
				wt[p*mg+m] = wd[(g*mg+m)*k+p]
			}
		}
		z := zw
		if len(zw) > 1 {
			z = zw[g*mg : (g+1)*mg]
		}
		if out[g], err = kernels.QPackB(k, mg, wt, mg, z); err != nil {
			return nil, Invalidf("%v", err)
		}
	}
	return out, nil
}

func (c *qConv) run(ctx *Ctx, in []*ir.Tensor) ([]*ir.Tensor, error) {
	ix, iw, izx, izw := c.idx()
	x, w := nnInput(in, ix), nnInput(in, iw)
	if x == nil || w == nil {
		return nil, Invalidf("needs inputs X and W")
	}
	packed, ws := c.packed, c.wShape
	if packed == nil {
		var err error
		if packed, err = c.pack(w, nnInput(in, izw)); err != nil {
			return nil, err
		}
		ws = w.Shape
	}
	if x.Rank() != len(ws) {
		return nil, Invalidf("input X of shape %v and weights of shape %v differ in rank", x.Shape, ws)
	}
	N, C, M := x.Shape[0], x.Shape[1], ws[0]
	if C != ws[1]*c.group {
		return nil, Invalidf("input has %d channels; weights %v with group %d expect %d", C, ws, c.group, ws[1]*c.group)
	}
	xd, xshift, err := qActivations(x)
	if err != nil {
		return nil, err
	}
	zx, err := qZeroVector(nnInput(in, izx), x.DType, 1, xshift, "X")
	if err != nil {
		return nil, err
	}
	g, err := c.win.resolve(x.Shape[2:], ws[2:])
	if err != nil {
		return nil, err
	}
	out := kernels.QOutput{}
	outShape := append([]int{N, M}, g.Out...)
	var y *ir.Tensor
	if c.qlinear {
		if y, err = c.requant(ctx, in, &out, M, outShape); err != nil {
			return nil, err
		}
	} else {
		y = ctx.Alloc(ir.Int32, outShape...)
	}
	k, s, d := nnTo3(ws[2:], 1), nnTo3(g.S, 1), nnTo3(g.D, 1)
	pb, inSz, outSz := nnTo3(g.PadB, 0), nnTo3(g.In, 1), nnTo3(g.Out, 1)
	H, W, OH, OW := inSz[1], inSz[2], outSz[1], outSz[2]
	cg, mg, P := C/c.group, M/c.group, OH*OW
	kk := cg * k[1] * k[2]
	col := make([]uint8, P*kk)
	acc32 := make([]int32, P*mg)
	acc8 := make([]uint8, P*mg)
	pad := uint8(zx[0])
	for n := 0; n < N; n++ {
		for gi := 0; gi < c.group; gi++ {
			xg := xd[(n*C+gi*cg)*H*W:]
			// im2col: row p = output pixel, columns (c, kh, kw) as the weights are laid out.
			ctx.Par.Run(OH, func(oh int) {
				for ow := 0; ow < OW; ow++ {
					row := col[(oh*OW+ow)*kk : (oh*OW+ow+1)*kk]
					i := 0
					for ch := 0; ch < cg; ch++ {
						for kh := 0; kh < k[1]; kh++ {
							ih := oh*s[1] - pb[1] + kh*d[1]
							for kw := 0; kw < k[2]; kw++ {
								iw := ow*s[2] - pb[2] + kw*d[2]
								if ih < 0 || ih >= H || iw < 0 || iw >= W {
									row[i] = pad
								} else {
									row[i] = xg[(ch*H+ih)*W+iw]
								}
								i++
							}
						}
					}
				}
			})
			o := out
			o.Ldc = mg
			if o.Bias != nil {
				o.Bias = o.Bias[gi*mg : (gi+1)*mg]
			}
			if len(o.Scale) > 1 {
				o.Scale = o.Scale[gi*mg : (gi+1)*mg]
			}
			switch {
			case !c.qlinear:
				o.I32 = acc32
			case y.DType == ir.Uint8:
				o.U8 = acc8
			default:
				o.I8 = qI8View(acc8)
			}
			if err := kernels.QGemm(ctx.Par, P, col, kk, zx, packed[gi], &o); err != nil {
				return nil, Invalidf("%v", err)
			}
			// Transpose [P, mg] into the NCHW output's channels gi·mg … (gi+1)·mg.
			base := (n*M + gi*mg) * P
			switch {
			case !c.qlinear:
				yd := y.I32()[base:]
				for p := 0; p < P; p++ {
					for m := 0; m < mg; m++ {
						yd[m*P+p] = acc32[p*mg+m]
					}
				}
			default:
				yd := y.Bytes()[base:]
				for p := 0; p < P; p++ {
					for m := 0; m < mg; m++ {
						yd[m*P+p] = acc8[p*mg+m]
					}
				}
			}
		}
	}
	return []*ir.Tensor{y}, nil
}

// requant reads QLinearConv's scales, zero point and bias into out and allocates the output.
func (c *qConv) requant(ctx *Ctx, in []*ir.Tensor, out *kernels.QOutput, M int, shape []int) (*ir.Tensor, error) {
	xs, err := qScalarF32(nnInput(in, 1), "x_scale")
	if err != nil {
		return nil, err
	}
	ys, err := qScalarF32(nnInput(in, 6), "y_scale")
	if err != nil {
		return nil, err
	}
	wsc := nnInput(in, 4)
	if wsc == nil || !nnIsFloat(wsc.DType) || (wsc.Len() != 1 && wsc.Len() != M) {
		return nil, Invalidf("w_scale must be a float scalar or have %d values", M)
	}
	wf, err := nnF32(wsc)
	if err != nil {
		return nil, err
	}
	out.Scale = make([]float32, M)
	for j := range out.Scale {
		out.Scale[j] = xs * wf[min(j, len(wf)-1)] / ys // ONNX Runtime's multiplier, in float32
	}
	yt := ir.Uint8
	if yz := nnInput(in, 7); yz != nil {
		if yz.Len() != 1 {
			return nil, Invalidf("y_zero_point must be a scalar")
		}
		yt = yz.DType
		v, _ := yz.Int64s()
		out.ZeroPoint = int32(v[0])
	}
	if yt != ir.Uint8 && yt != ir.Int8 {
		return nil, Unsupportedf("output of dtype %s", yt)
	}
	if bt := nnInput(in, 8); bt != nil {
		if bt.DType != ir.Int32 || bt.Len() != M {
			return nil, Invalidf("bias must be int32 with %d values, got %s", M, bt)
		}
		out.Bias = bt.I32()
	}
	return ctx.Alloc(yt, shape...), nil
}
