package runtime

import (
	"github.com/hone-ml/hone/ir"
	"github.com/hone-ml/hone/kernels"
)

// nnConvT is a compiled ConvTranspose node, computed per (image, group) as a GEMM col = Wᵀ·X followed by col2im,
// which scatters each column's kernel-sized patch into the output.
type nnConvT struct {
	win      nnWindow
	group    int
	outPad   []int
	outShape []int
	wShape   []int
	packed   []*kernels.PackedA // per group: Wᵀ (M/group·kvol × C/group), when W is constant
	w        []float32          // the constant W itself, for runTiled's few-row path
	bias     []float32
	act      kernels.Activation // FusedConvTranspose's activation, applied to each output row as it is written
}

func nnBuildConvTranspose(b *BuildCtx) (Kernel, error) {
	n := b.Node
	win, err := nnParseWindow(n)
	if err != nil {
		return nil, err
	}
	c := &nnConvT{win: win, group: int(n.AttrInt("group", 1)),
		outPad: nnInts(n.AttrInts("output_padding", nil)), outShape: nnInts(n.AttrInts("output_shape", nil))}
	if c.group <= 0 {
		return nil, Invalidf("group %d must be positive", c.group)
	}
	for _, v := range c.outPad {
		if v < 0 {
			return nil, Invalidf("output_padding %v has a negative entry", c.outPad)
		}
	}
	if n.OpType == ir.OpFusedConvTranspose {
		if c.act, err = nnActivation(n); err != nil {
			return nil, err
		}
	}
	if w := nnConst(b, 1); w != nil && nnIsFloat(w.DType) {
		if err := c.checkWeights(w.Shape); err != nil {
			return nil, err
		}
		wf, err := nnF32(w)
		if err != nil {
			return nil, err
		}
		c.wShape, c.w = w.Shape, wf
		c.packed = c.pack(w.Shape, wf)
	}
	if bt := nnConst(b, 2); bt != nil && nnIsFloat(bt.DType) {
		if c.bias, err = nnF32(bt); err != nil {
			return nil, err
		}
	}
	return KernelFunc(c.run), nil
}

func (c *nnConvT) checkWeights(ws []int) error {
	if len(ws) < 3 || len(ws) > 5 {
		return Unsupportedf("weights of shape %v: only 1-D, 2-D and 3-D transposed convolutions are supported", ws)
	}
	if ws[0]%c.group != 0 {
		return Invalidf("%d input channels of the weights are not divisible by group %d", ws[0], c.group)
	}
	if c.win.Kernel != nil && !nnEqualInts(c.win.Kernel, ws[2:]) {
		return Invalidf("kernel_shape %v does not match weights of shape %v", c.win.Kernel, ws)
	}
	return nil
}

// pack transposes and packs each group's weights (C/group × M/group·kvol) for the col = Wᵀ·X product.
func (c *nnConvT) pack(ws []int, w []float32) []*kernels.PackedA {
	cg, rows := ws[0]/c.group, ws[1]*nnProd(ws[2:])
	out := make([]*kernels.PackedA, c.group)
	for g := range out {
		out[g] = kernels.PackA(true, rows, cg, w[g*cg*rows:(g+1)*cg*rows], rows)
	}
	return out
}

// geometry resolves output sizes and pads for input spatial sizes in (ONNX ConvTranspose shape rules).
func (c *nnConvT) geometry(in, k []int) (nnGeom, error) {
	nsp := len(in)
	g := nnGeom{In: in, K: k, Out: make([]int, nsp), S: make([]int, nsp), D: make([]int, nsp), PadB: make([]int, nsp), PadE: make([]int, nsp)}
	w := c.win
	if (w.Strides != nil && len(w.Strides) != nsp) || (w.Dilations != nil && len(w.Dilations) != nsp) ||
		(c.outPad != nil && len(c.outPad) != nsp) || (w.Pads != nil && len(w.Pads) != 2*nsp) {
		return g, Invalidf("strides %v, dilations %v, pads %v or output_padding %v do not match %d spatial dims",
			w.Strides, w.Dilations, w.Pads, c.outPad, nsp)
	}
	outShape := c.outShape
	if len(outShape) == nsp+2 {
		outShape = outShape[2:]
	}
	if outShape != nil && len(outShape) != nsp {
		return g, Invalidf("output_shape %v does not match %d spatial dims", c.outShape, nsp)
	}
	for i := 0; i < nsp; i++ {
		g.S[i], g.D[i] = 1, 1
		if w.Strides != nil {
			g.S[i] = w.Strides[i]
		}
		if w.Dilations != nil {
			g.D[i] = w.Dilations[i]
		}
		op := 0
		if c.outPad != nil {
			op = c.outPad[i]
		}
		full := g.S[i]*(in[i]-1) + op + (k[i]-1)*g.D[i] + 1 // output size with no padding
		target := -1
		switch {
		case outShape != nil:
			target = outShape[i]
		case w.AutoPad == "SAME_UPPER" || w.AutoPad == "SAME_LOWER":
			target = in[i] * g.S[i]
		}
		if target >= 0 {
			// An output_shape beyond the unpadded size acts as extra output padding (zeros plus bias), as in
			// ONNX's reference and ONNX Runtime.
			total := max(0, full-target)
			// ONNX: SAME_UPPER puts the odd padding at the end; otherwise at the beginning.
			if w.AutoPad == "SAME_UPPER" {
				g.PadB[i] = total / 2
			} else {
				g.PadB[i] = total - total/2
			}
			g.PadE[i] = total - g.PadB[i]
			g.Out[i] = target
		} else {
			if w.AutoPad != "VALID" && w.Pads != nil {
				g.PadB[i], g.PadE[i] = w.Pads[i], w.Pads[i+nsp]
			}
			g.Out[i] = full - g.PadB[i] - g.PadE[i]
		}
		if g.Out[i] <= 0 {
			return g, Invalidf("output spatial size %v is empty", g.Out)
		}
	}
	return g, nil
}

func (c *nnConvT) run(ctx *Ctx, in []*ir.Tensor) ([]*ir.Tensor, error) {
	x, err := nnFloatInput(in, 0, "X")
	if err != nil {
		return nil, err
	}
	ws, packed, wf := c.wShape, c.packed, c.w
	if packed == nil {
		wt, err := nnFloatInput(in, 1, "W")
		if err != nil {
			return nil, err
		}
		if err := c.checkWeights(wt.Shape); err != nil {
			return nil, err
		}
		if wf, err = nnF32(wt); err != nil {
			return nil, err
		}
		ws, packed = wt.Shape, c.pack(wt.Shape, wf)
	}
	if x.Rank() != len(ws) {
		return nil, Invalidf("input X of shape %v and weights of shape %v differ in rank", x.Shape, ws)
	}
	N, C := x.Shape[0], x.Shape[1]
	if C != ws[0] {
		return nil, Invalidf("input has %d channels, weights %v expect %d", C, ws, ws[0])
	}
	M := ws[1] * c.group
	bias := c.bias
	if bias == nil {
		if bt := nnInput(in, 2); bt != nil {
			if bias, err = nnF32(bt); err != nil {
				return nil, err
			}
		}
	}
	if bias != nil && len(bias) != M {
		return nil, Invalidf("bias has %d elements, want %d", len(bias), M)
	}
	g, err := c.geometry(x.Shape[2:], ws[2:])
	if err != nil {
		return nil, err
	}
	xf, err := nnF32(x)
	if err != nil {
		return nil, err
	}
	if tiles(g) {
		o := nnAllocRaw(ctx, x.DType, append([]int{N, M}, g.Out...)...) // every element is written once
		c.runTiled(ctx, g, N, C, M, xf, packed, wf, bias, o.F)
		return []*ir.Tensor{o.done()}, nil
	}
	o := nnAlloc(ctx, x.DType, append([]int{N, M}, g.Out...)...)
	in3, out3 := nnTo3(g.In, 1), nnTo3(g.Out, 1)
	k3, s3, d3, pb3 := nnTo3(g.K, 1), nnTo3(g.S, 1), nnTo3(g.D, 1), nnTo3(g.PadB, 0)
	inPlane, outPlane, kvol := nnProd(in3[:]), nnProd(out3[:]), nnProd(k3[:])
	cg, mg := C/c.group, M/c.group
	colT := ctx.allocRaw(ir.Float32, mg*kvol*inPlane) // the GEMM overwrites it
	defer ctx.recycle(colT)
	col := colT.F32()
	for nb := 0; nb < N; nb++ {
		for grp := 0; grp < c.group; grp++ {
			xg := xf[(nb*C+grp*cg)*inPlane:]
			kernels.SgemmPackedA(ctx.Par, packed[grp], inPlane, xg, inPlane, col, inPlane, nil)
			nnParallel(ctx, mg, kvol*inPlane, func(m int) {
				ch := nb*M + grp*mg + m
				dst := o.F[ch*outPlane : (ch+1)*outPlane]
				if bias != nil {
					for i := range dst {
						dst[i] = bias[grp*mg+m]
					}
				}
				for kd := 0; kd < k3[0]; kd++ {
					for kh := 0; kh < k3[1]; kh++ {
						for kw := 0; kw < k3[2]; kw++ {
							src := col[(m*kvol+(kd*k3[1]+kh)*k3[2]+kw)*inPlane:]
							for id := 0; id < in3[0]; id++ {
								od := id*s3[0] - pb3[0] + kd*d3[0]
								if od < 0 || od >= out3[0] {
									continue
								}
								for ih := 0; ih < in3[1]; ih++ {
									oh := ih*s3[1] - pb3[1] + kh*d3[1]
									if oh < 0 || oh >= out3[1] {
										continue
									}
									row := src[(id*in3[1]+ih)*in3[2]:]
									orow := dst[(od*out3[1]+oh)*out3[2]:]
									for iw := 0; iw < in3[2]; iw++ {
										if ow := iw*s3[2] - pb3[2] + kw*d3[2]; ow >= 0 && ow < out3[2] {
											orow[ow] += row[iw]
										}
									}
								}
							}
						}
					}
				}
				c.act.Apply(dst)
			})
		}
	}
	return []*ir.Tensor{o.done()}, nil
}

// tiles reports whether a 1-D or 2-D transposed convolution's kernel patches tile the output exactly: kernel =
// stride, no dilation, padding or extra output size. Each output element then comes from exactly one input pixel
// and one tap (the 2×2/stride-2 upsampling of U-Net and DB text-detection heads), so no col2im accumulation is
// needed.
func tiles(g nnGeom) bool {
	if len(g.In) > 2 {
		return false
	}
	for i := range g.In {
		if g.K[i] != g.S[i] || g.D[i] != 1 || g.PadB[i] != 0 || g.PadE[i] != 0 || g.Out[i] != g.In[i]*g.S[i] {
			return false
		}
	}
	return true
}

// runTiled computes a tiling transposed convolution a band of input rows at a time: the GEMM col = Wᵀ·X for
// the band (M/group·KH·KW rows), then each output row copies its taps' values with the bias added. The band
// keeps col in cache and needs no output-sized scratch.
func (c *nnConvT) runTiled(ctx *Ctx, g nnGeom, N, C, M int, x []float32, packed []*kernels.PackedA, w, bias, y []float32) {
	in2, k2 := nnTo3(g.In, 1), nnTo3(g.K, 1)
	H, W, KH, KW := in2[1], in2[2], k2[1], k2[2]
	OH, OW := H*KH, W*KW
	inPlane, kvol := H*W, KH*KW
	cg, mg := C/c.group, M/c.group
	rows := mg * kvol
	band := max(1, min(H, (1<<17)/max(1, W*rows))) // about 512 KiB of col per band
	few := rows <= nnConvTFewRows && cg > 0
	size := rows * band * W
	colT := ctx.allocRaw(ir.Float32, size)
	defer ctx.recycle(colT)
	col := colT.F32()
	for nb := 0; nb < N; nb++ {
		for grp := 0; grp < c.group; grp++ {
			xg := x[(nb*C+grp*cg)*inPlane:]
			for h0 := 0; h0 < H; h0 += band {
				h1 := min(H, h0+band)
				n := (h1 - h0) * W
				if few {
					convTFewRows(ctx, col[:rows*n], w[grp*cg*rows:(grp+1)*cg*rows], rows, cg, xg[h0*W:], inPlane, n)
				} else {
					kernels.SgemmPackedA(ctx.Par, packed[grp], n, xg[h0*W:], inPlane, col, n, nil)
				}
				// One task per (channel, input row): a one-channel head still spreads over the threads.
				bh := h1 - h0
				nnParallel(ctx, mg*bh, kvol*W, func(t int) {
					m, ih := t/bh, h0+t%bh
					ch := nb*M + grp*mg + m
					var b float32
					if bias != nil {
						b = bias[grp*mg+m]
					}
					dst := y[ch*OH*OW : (ch+1)*OH*OW]
					for kh := 0; kh < KH; kh++ {
						orow := dst[(ih*KH+kh)*OW : (ih*KH+kh+1)*OW]
						src := col[(m*kvol+kh*KW)*n+(ih-h0)*W:]
						if KW == 2 {
							kernels.Interleave2(orow[:2*W], src[:W], src[n:n+W], b)
						} else {
							for kw := 0; kw < KW; kw++ {
								for iw, v := range src[kw*n : kw*n+W] {
									orow[iw*KW+kw] = v + b
								}
							}
						}
						c.act.Apply(orow)
					}
				})
			}
		}
	}
}

// nnConvTFewRows bounds the rows of col (M/group·KH·KW) that runTiled computes as weighted sums of input planes
// instead of through the GEMM. DB text-detection heads end in a 2×2/stride-2 transposed convolution to one
// channel: 4 rows, for which the GEMM's 12-row tiles run a third full and its per-run packing of X (24 channels
// of 320×320) costs more than the arithmetic.
const nnConvTFewRows = 8

// convTFewRows computes col (rows × n, row stride n) = Wᵀ·X for n pixels of cg input planes x (plane stride
// ldx), where w is the group's row-major cg × rows weight block: row r is Σ_c w[c·rows + r]·x_c. It works on
// chunks of pixels that keep every row's partial sums in L1 while each plane's chunk is read once and added to
// all rows, one fused multiply-add pass per row.
func convTFewRows(ctx *Ctx, col, w []float32, rows, cg int, x []float32, ldx, n int) {
	const chunk = 1024
	ctx.Par.Run((n+chunk-1)/chunk, func(t int) {
		p0, p1 := t*chunk, min(n, (t+1)*chunk)
		for ch := 0; ch < cg; ch++ {
			xc := x[ch*ldx+p0 : ch*ldx+p1]
			for r := 0; r < rows; r++ {
				dst := col[r*n+p0 : r*n+p1]
				if ch == 0 {
					kernels.MulScalar(dst, xc, w[r])
				} else {
					kernels.Axpy(dst, xc, w[ch*rows+r])
				}
			}
		}
	})
}
