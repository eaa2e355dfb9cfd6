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
	bias     []float32
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
	if w := nnConst(b, 1); w != nil && nnIsFloat(w.DType) {
		if err := c.checkWeights(w.Shape); err != nil {
			return nil, err
		}
		wf, err := nnF32(w)
		if err != nil {
			return nil, err
		}
		c.wShape = w.Shape
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
	ws, packed := c.wShape, c.packed
	if packed == nil {
		wt, err := nnFloatInput(in, 1, "W")
		if err != nil {
			return nil, err
		}
		if err := c.checkWeights(wt.Shape); err != nil {
			return nil, err
		}
		wf, err := nnF32(wt)
		if err != nil {
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
		c.runTiled(ctx, g, N, C, M, xf, packed, bias, o.F)
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
func (c *nnConvT) runTiled(ctx *Ctx, g nnGeom, N, C, M int, x []float32, packed []*kernels.PackedA, bias, y []float32) {
	in2, k2 := nnTo3(g.In, 1), nnTo3(g.K, 1)
	H, W, KH, KW := in2[1], in2[2], k2[1], k2[2]
	OH, OW := H*KH, W*KW
	inPlane, kvol := H*W, KH*KW
	cg, mg := C/c.group, M/c.group
	band := max(1, min(H, (1<<17)/max(1, W*mg*kvol))) // about 512 KiB of col per band
	colT := ctx.allocRaw(ir.Float32, mg*kvol*band*W)
	defer ctx.recycle(colT)
	col := colT.F32()
	for nb := 0; nb < N; nb++ {
		for grp := 0; grp < c.group; grp++ {
			xg := x[(nb*C+grp*cg)*inPlane:]
			for h0 := 0; h0 < H; h0 += band {
				h1 := min(H, h0+band)
				n := (h1 - h0) * W
				kernels.SgemmPackedA(ctx.Par, packed[grp], n, xg[h0*W:], inPlane, col, n, nil)
				nnParallel(ctx, mg, kvol*n, func(m int) {
					ch := nb*M + grp*mg + m
					var b float32
					if bias != nil {
						b = bias[grp*mg+m]
					}
					dst := y[ch*OH*OW : (ch+1)*OH*OW]
					for ih := h0; ih < h1; ih++ {
						for kh := 0; kh < KH; kh++ {
							orow := dst[(ih*KH+kh)*OW : (ih*KH+kh+1)*OW]
							for kw := 0; kw < KW; kw++ {
								src := col[(m*kvol+kh*KW+kw)*n+(ih-h0)*W:][:W]
								for iw, v := range src {
									orow[iw*KW+kw] = v + b
								}
							}
						}
					}
				})
			}
		}
	}
}
