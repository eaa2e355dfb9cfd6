package runtime

import (
	"fmt"

	"github.com/hone-ml/hone/ir"
	"github.com/hone-ml/hone/kernels"
)

// nnConv is a compiled Conv or hone:FusedConv node.
type nnConv struct {
	win    nnWindow
	group  int
	act    kernels.Activation
	fused  bool
	w      []float32 // float32 weights when W is constant
	wShape []int
	packed *kernels.ConvWeights // pre-packed 2-D (or 1-D as 2-D) weights when W is constant
	bias   []float32            // float32 bias when B is constant
}

// nnBuildConv compiles Conv (opsets 1–21 share one form) and hone:FusedConv.
func nnBuildConv(b *BuildCtx) (Kernel, error) {
	n := b.Node
	win, err := nnParseWindow(n)
	if err != nil {
		return nil, err
	}
	c := &nnConv{win: win, group: int(n.AttrInt("group", 1))}
	if c.group <= 0 {
		return nil, Invalidf("group %d must be positive", c.group)
	}
	if n.OpType == ir.OpFusedConv {
		c.fused = true
		if c.act, err = nnActivation(n); err != nil {
			return nil, err
		}
	}
	if w := nnConst(b, 1); w != nil {
		if !nnIsFloat(w.DType) {
			return nil, Unsupportedf("weights of dtype %s", w.DType)
		}
		if err := c.checkWeights(w.Shape); err != nil {
			return nil, err
		}
		wf, err := nnF32(w)
		if err != nil {
			return nil, err
		}
		c.w, c.wShape = wf, w.Shape
		if len(w.Shape) == 3 || len(w.Shape) == 4 {
			c.packed = kernels.PackConvWeights(c.params2D(w.Shape, c.staticGeom(b, w.Shape)), wf)
		}
	}
	if bt := nnConst(b, 2); bt != nil {
		if !nnIsFloat(bt.DType) {
			return nil, Unsupportedf("bias of dtype %s", bt.DType)
		}
		if c.bias, err = nnF32(bt); err != nil {
			return nil, err
		}
	}
	return KernelFunc(c.run), nil
}

func (c *nnConv) checkWeights(ws []int) error {
	if len(ws) < 3 || len(ws) > 5 {
		return Unsupportedf("weights of shape %v: only 1-D, 2-D and 3-D convolutions are supported", ws)
	}
	if ws[0]%c.group != 0 {
		return Invalidf("%d output channels are not divisible by group %d", ws[0], c.group)
	}
	if c.win.Kernel != nil && (len(c.win.Kernel) != len(ws)-2 || !nnEqualInts(c.win.Kernel, ws[2:])) {
		return Invalidf("kernel_shape %v does not match weights of shape %v", c.win.Kernel, ws)
	}
	return nil
}

// staticGeom resolves the window for X's static spatial shape, or returns nil when it is not fully known (or does
// not resolve; run reports that). With it the weights are packed only in the GEMM form that output size runs.
func (c *nnConv) staticGeom(b *BuildCtx, ws []int) *nnGeom {
	if len(b.Types) == 0 || !b.Types[0].HasShape || len(b.Types[0].Shape) != len(ws) {
		return nil
	}
	in := make([]int, len(ws)-2)
	for i, d := range b.Types[0].Shape[2:] {
		if !d.Known() {
			return nil
		}
		in[i] = int(d.Size)
	}
	g, err := c.win.resolve(in, ws[2:])
	if err != nil {
		return nil
	}
	return &g
}

// params2D fills kernels.ConvParams for a 1-D (as H=1) or 2-D convolution; g may be nil at pack time.
func (c *nnConv) params2D(ws []int, g *nnGeom) kernels.ConvParams {
	k := nnTo3(ws[2:], 1)
	p := kernels.ConvParams{M: ws[0], C: ws[1] * c.group, KH: k[1], KW: k[2], Group: c.group, StrideH: 1, StrideW: 1, DilH: 1, DilW: 1}
	if g != nil {
		s, d := nnTo3(g.S, 1), nnTo3(g.D, 1)
		pb, pe := nnTo3(g.PadB, 0), nnTo3(g.PadE, 0)
		in, out := nnTo3(g.In, 1), nnTo3(g.Out, 1)
		p.StrideH, p.StrideW, p.DilH, p.DilW = s[1], s[2], d[1], d[2]
		p.PadTop, p.PadLeft, p.PadBottom, p.PadRight = pb[1], pb[2], pe[1], pe[2]
		p.H, p.W, p.OH, p.OW = in[1], in[2], out[1], out[2]
	}
	return p
}

func (c *nnConv) run(ctx *Ctx, in []*ir.Tensor) ([]*ir.Tensor, error) {
	x, err := nnFloatInput(in, 0, "X")
	if err != nil {
		return nil, err
	}
	wt := nnInput(in, 1)
	if wt == nil {
		return nil, Invalidf("missing input W")
	}
	ws, wf, packed := c.wShape, c.w, c.packed
	if wf == nil {
		if !nnIsFloat(wt.DType) {
			return nil, Unsupportedf("weights of dtype %s", wt.DType)
		}
		if err := c.checkWeights(wt.Shape); err != nil {
			return nil, err
		}
		ws = wt.Shape
		if wf, err = nnF32(wt); err != nil {
			return nil, err
		}
	}
	if x.Rank() != len(ws) {
		return nil, Invalidf("input X of shape %v and weights of shape %v differ in rank", x.Shape, ws)
	}
	N, C := x.Shape[0], x.Shape[1]
	M := ws[0]
	if C != ws[1]*c.group {
		return nil, Invalidf("input has %d channels; weights %v with group %d expect %d", C, ws, c.group, ws[1]*c.group)
	}
	bias := c.bias
	if bias == nil {
		if bt := nnInput(in, 2); bt != nil {
			if !nnIsFloat(bt.DType) {
				return nil, Unsupportedf("bias of dtype %s", bt.DType)
			}
			if bias, err = nnF32(bt); err != nil {
				return nil, err
			}
		}
	}
	if bias != nil && len(bias) != M {
		return nil, Invalidf("bias has %d elements, want %d", len(bias), M)
	}
	g, err := c.win.resolve(x.Shape[2:], ws[2:])
	if err != nil {
		return nil, err
	}
	xf, err := nnF32(x)
	if err != nil {
		return nil, err
	}
	outShape := append([]int{N, M}, g.Out...)
	o := nnAllocRaw(ctx, x.DType, outShape...) // Conv2D and nnConv3D write every output element
	act := c.act
	var z *ir.Tensor
	if c.fused {
		if z = nnInput(in, 3); z != nil {
			if z.DType != x.DType {
				return nil, Invalidf("sum input Z %s does not match X's dtype %s", z, x.DType)
			}
			act = kernels.Activation{} // applied after Z is added
		}
	}
	if len(ws) == 5 {
		nnConv3D(ctx.Par, g, N, C, M, c.group, xf, wf, bias, o.F)
		act.Apply(o.F)
	} else {
		p := c.params2D(ws, &g)
		p.N = N
		if packed == nil {
			packed = kernels.PackConvWeights(p, wf)
		}
		kernels.Conv2D(ctx.Par, p, xf, packed, bias, act, o.F)
	}
	if z != nil {
		return c.addZ(ctx, o, z)
	}
	return []*ir.Tensor{o.done()}, nil
}

// addZ adds the sum input Z to the convolution output and applies the activation: y = act(conv + Z). Z of the
// output's shape is added in place; any other shape is broadcast exactly as the Add that fuse_conv_sum replaced
// would have (including an output wider than the convolution's), so the fusion never changes results.
func (c *nnConv) addZ(ctx *Ctx, o nnOut, z *ir.Tensor) ([]*ir.Tensor, error) {
	if z.DType == ir.Float32 && nnEqualInts(z.Shape, o.T.Shape) {
		zf := z.F32()
		tParallel(ctx.Par, ctx.Threads, len(o.F), func(lo, hi int) {
			kernels.Add(o.F[lo:hi], o.F[lo:hi], zf[lo:hi])
			c.act.Apply(o.F[lo:hi])
		})
		return []*ir.Tensor{o.done()}, nil
	}
	conv := o.done()
	sum, err := tArith(ctx, tOpAdd, conv, z)
	if err != nil {
		return nil, fmt.Errorf("sum input Z: %w", err)
	}
	if ctx.arena != nil && conv != sum {
		ctx.arena.recycle(conv)
	}
	if c.act.Kind == kernels.ActNone {
		return []*ir.Tensor{sum}, nil
	}
	sf, err := nnF32(sum)
	if err != nil {
		return nil, err
	}
	c.act.Apply(sf)
	if sum.DType != ir.Float32 {
		so := nnOut{T: sum, F: sf}
		return []*ir.Tensor{so.done()}, nil
	}
	return []*ir.Tensor{sum}, nil
}

// nnConv3D is the direct loop for 3-D convolutions (NCDHW), parallel over (batch, output channel).
func nnConv3D(r kernels.Runner, g nnGeom, N, C, M, group int, x, w, bias, y []float32) {
	in, out := g.In, g.Out
	k := g.K
	cg, mg := C/group, M/group
	inPlane := in[0] * in[1] * in[2]
	outPlane := out[0] * out[1] * out[2]
	kVol := k[0] * k[1] * k[2]
	r.Run(N*M, func(job int) {
		nb, m := job/M, job%M
		grp := m / mg
		dst := y[job*outPlane : (job+1)*outPlane]
		var b float32
		if bias != nil {
			b = bias[m]
		}
		for od := 0; od < out[0]; od++ {
			for oh := 0; oh < out[1]; oh++ {
				for ow := 0; ow < out[2]; ow++ {
					s := b
					for ci := 0; ci < cg; ci++ {
						src := x[(nb*C+grp*cg+ci)*inPlane:]
						wk := w[(m*cg+ci)*kVol:]
						for kd := 0; kd < k[0]; kd++ {
							id := od*g.S[0] - g.PadB[0] + kd*g.D[0]
							if id < 0 || id >= in[0] {
								continue
							}
							for kh := 0; kh < k[1]; kh++ {
								ih := oh*g.S[1] - g.PadB[1] + kh*g.D[1]
								if ih < 0 || ih >= in[1] {
									continue
								}
								row := src[(id*in[1]+ih)*in[2]:]
								wrow := wk[(kd*k[1]+kh)*k[2]:]
								for kw := 0; kw < k[2]; kw++ {
									iw := ow*g.S[2] - g.PadB[2] + kw*g.D[2]
									if iw >= 0 && iw < in[2] {
										s += row[iw] * wrow[kw]
									}
								}
							}
						}
					}
					dst[(od*out[1]+oh)*out[2]+ow] = s
				}
			}
		}
	})
}

func nnEqualInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
