package runtime

import (
	"encoding/binary"
	"sync"

	"github.com/hone-ml/hone/ir"
	"github.com/hone-ml/hone/kernels"
)

// qConv compiles ConvInteger and QLinearConv (1-D and 2-D). Each image and group is lowered to one integer
// GEMM: the im2col matrix [output pixels × KH·KW·C] (uint8, padded with the input zero point so padding
// contributes 0) times the packed transposed weights [KH·KW·C × M/group] (int8), with the requantization in the
// GEMM's epilogue, which stores the result transposed, straight into the NCHW output. The image is first
// transposed to NHWC (shifting int8 to uint8 on the way): then each im2col row is a few contiguous copies of
// KW·C bytes, and a 1×1, stride-1 convolution needs no im2col at all: the NHWC image is the A matrix.
type qConv struct {
	win     nnWindow
	group   int
	qlinear bool
	float   bool                // hone's QConvFloat: float32 output, x_scale·w_scale per channel, no output quantization
	packed  []*kernels.QPackedB // per group, when W and its zero point are constants
	wShape  []int
	// packedRW is packed (one group) with the taps in (kw, kh, c) order, for the row-window layout: set for
	// constant ungrouped 2-D weights over a multiple of 4 channels, or fewer than 4 (an image stem), and wider
	// than one tap.
	packedRW *kernels.QPackedB
	// pointwise holds constant ungrouped 1×1 weights with zero point 0 for QLinearConv's transpose-free path
	// (kernels.QPointwise), where that path has a SIMD kernel.
	pointwise *kernels.QPackedPointwise
	// gather holds constant ungrouped 2-D weights over at most 3 input channels (a stem) with zero point 0, as
	// [M, C·KH·KW], for the gathering path (kernels.QConvGather), where that path has a SIMD kernel.
	gather *kernels.QPackedPointwise
	// rows holds constant ungrouped 2-D weights wider than 1×1 over a multiple of 4 channels with zero point 0, as
	// [M, KH·KW·C] in (tap, channel) order, for the packed-rows path (kernels.QConvRows).
	rows *kernels.QPackedPointwise
	// centred holds constant depthwise weights minus their zero points, computed once instead of every run, and
	// centred8 the same as int8 when they all fit (kernels.QDepthwise's form).
	centred  []int32
	centred8 []int8
}

// Input positions per op.
func (c *qConv) idx() (x, w, zx, zw int) {
	if c.float {
		return 0, 1, 4, 6
	}
	if c.qlinear {
		return 0, 3, 2, 5
	}
	return 0, 1, 2, 3
}

func qBuildConvInteger(b *BuildCtx) (Kernel, error) { return qBuildConv(b, false, false) }

// qBuildConvFloat compiles hone's QConvFloat (see ir.OpQConvFloat): the integer convolution with the GEMM's
// dequantizing epilogue, float32(S + B)·(x_scale·w_scale).
func qBuildConvFloat(b *BuildCtx) (Kernel, error)   { return qBuildConv(b, false, true) }
func qBuildQLinearConv(b *BuildCtx) (Kernel, error) { return qBuildConv(b, true, false) }

func qBuildConv(b *BuildCtx, qlinear, float bool) (Kernel, error) {
	win, err := nnParseWindow(b.Node)
	if err != nil {
		return nil, err
	}
	c := &qConv{win: win, group: int(b.Node.AttrInt("group", 1)), qlinear: qlinear, float: float}
	if c.group <= 0 {
		return nil, Invalidf("group %d must be positive", c.group)
	}
	_, iw, _, izw := c.idx()
	if w := nnConst(b, iw); w != nil && (!nnHasInput(b.Node, izw) || nnConst(b, izw) != nil) {
		if c.packed, err = c.pack(w, nnConst(b, izw), false); err != nil {
			return nil, err
		}
		c.wShape = w.Shape
		if c.group == 1 && w.Rank() == 4 && (w.Shape[1]%4 == 0 || w.Shape[1] < 4) && w.Shape[3] > 1 {
			rw, err := c.pack(w, nnConst(b, izw), true)
			if err != nil {
				return nil, err
			}
			c.packedRW = rw[0]
		}
		if c.pointwise, err = c.packPointwise(w, nnConst(b, izw)); err != nil {
			return nil, err
		}
		if c.gather, err = c.packGather(w, nnConst(b, izw)); err != nil {
			return nil, err
		}
		if c.rows, err = c.packRows(w, nnConst(b, izw)); err != nil {
			return nil, err
		}
		if w.Rank() >= 3 && w.Shape[1] == 1 && c.group == w.Shape[0] && c.group > 0 {
			if c.centred, err = qCentredDepthwise(w, nnConst(b, izw), c.group); err != nil {
				return nil, err
			}
			c.centred8 = qInt8s(c.centred)
		}
	}
	return KernelFunc(c.run), nil
}

// packPointwise packs W for kernels.QPointwise when it qualifies (see qConv.pointwise), else returns nil.
func (c *qConv) packPointwise(w, zp *ir.Tensor) (*kernels.QPackedPointwise, error) {
	if !(c.qlinear || c.float) || c.group != 1 || !kernels.QPointwiseFast() || w.Rank() < 3 {
		return nil, nil
	}
	for _, k := range w.Shape[2:] {
		if k != 1 {
			return nil, nil
		}
	}
	return qPackSymmetric(w, zp)
}

// packGather packs W for kernels.QConvGather when it qualifies (see qConv.gather), else returns nil.
func (c *qConv) packGather(w, zp *ir.Tensor) (*kernels.QPackedPointwise, error) {
	if !(c.qlinear || c.float) || c.group != 1 || !kernels.QConvGatherFast() || w.Rank() != 4 || w.Shape[1] > 3 {
		return nil, nil
	}
	return qPackSymmetric(w, zp)
}

// packRows packs W for kernels.QConvRows when it qualifies (see qConv.rows), else returns nil.
func (c *qConv) packRows(w, zp *ir.Tensor) (*kernels.QPackedPointwise, error) {
	if !c.qlinear || c.group != 1 || !kernels.QPointwiseFast() || w.Rank() != 4 || w.Shape[1]%4 != 0 || w.Shape[2]*w.Shape[3] == 1 {
		return nil, nil
	}
	// [M, C, KH, KW] → [M, KH, KW, C]: QConvRows reads each tap's channel groups in turn.
	M, C, taps := w.Shape[0], w.Shape[1], w.Shape[2]*w.Shape[3]
	t := ir.New(w.DType, M, taps*C)
	src, dst := w.Bytes(), t.Bytes()
	for m := range M {
		for ch := range C {
			for k := range taps {
				dst[(m*taps+k)*C+ch] = src[(m*C+ch)*taps+k]
			}
		}
	}
	return qPackSymmetric(t, zp)
}

// qPackSymmetric packs the weights [M, C, …] as an M × (their other dimensions) matrix for kernels.QPointwise and
// kernels.QConvGather, or returns nil when their zero point is not 0 (after moving uint8 weights to int8).
func qPackSymmetric(w, zp *ir.Tensor) (*kernels.QPackedPointwise, error) {
	wd, shift, err := qWeights(w)
	if err != nil {
		return nil, err
	}
	zw, err := qZeroVector(zp, w.DType, w.Shape[0], shift, "W")
	if err != nil {
		return nil, err
	}
	for _, z := range zw {
		if z != 0 {
			return nil, nil
		}
	}
	pw, err := kernels.QPackPointwise(w.Shape[0], w.Len()/max(w.Shape[0], 1), wd)
	if err != nil {
		return nil, Invalidf("%v", err)
	}
	return pw, nil
}

// pack checks the weights' shape and packs each group's W^T with its zero points (scalar or per output channel),
// its rows in (kh, kw, c) order, or in (kw, kh, c) order for the row-window layout when rowWin is set.
func (c *qConv) pack(w, zp *ir.Tensor, rowWin bool) ([]*kernels.QPackedB, error) {
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
	cg, taps := w.Shape[1], k/max(w.Shape[1], 1) // taps = KH·KW
	kw := w.Shape[w.Rank()-1]
	kh := taps / max(kw, 1)
	kr := taps * cg
	out := make([]*kernels.QPackedB, c.group)
	wt := make([]int8, kr*mg)
	for g := range out {
		// Row (tap, ch) of W^T, matching the (kh, kw, c) order of the NHWC im2col, or (kw, kh, c).
		for m := 0; m < mg; m++ {
			for ch := 0; ch < cg; ch++ {
				for t := 0; t < taps; t++ {
					r := t
					if rowWin {
						r = t%kw*kh + t/kw
					}
					wt[(r*cg+ch)*mg+m] = wd[(g*mg+m)*k+ch*taps+t]
				}
			}
		}
		z := zw
		if len(zw) > 1 {
			z = zw[g*mg : (g+1)*mg]
		}
		if out[g], err = kernels.QPackB(kr, mg, wt, mg, z); err != nil {
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
		if packed, err = c.pack(w, nnInput(in, izw), false); err != nil {
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
	// int8 activations become uint8 (v + 128, the zero point moving with them) during the NHWC transpose.
	xshift, flip, err := qFlip(x.DType)
	if err != nil {
		return nil, err
	}
	xd := x.Bytes()
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
	switch {
	case c.float:
		if y, err = c.dequantOut(ctx, in, &out, M, outShape); err != nil {
			return nil, err
		}
	case c.qlinear:
		if y, err = c.requant(ctx, in, &out, M, outShape); err != nil {
			return nil, err
		}
	default:
		y = ctx.allocRaw(ir.Int32, outShape...) // every element is written
	}
	k, s, d := nnTo3(ws[2:], 1), nnTo3(g.S, 1), nnTo3(g.D, 1)
	pb, inSz, outSz := nnTo3(g.PadB, 0), nnTo3(g.In, 1), nnTo3(g.Out, 1)
	H, W, OH, OW := inSz[1], inSz[2], outSz[1], outSz[2]
	cg, mg, P := C/c.group, M/c.group, OH*OW
	kk := cg * k[1] * k[2]
	if c.pointwise != nil && qPointwiseOn && s == [3]int{1, 1, 1} && pb == [3]int{} && OH*OW == H*W {
		return c.runPointwise(ctx, y, &out, xd, flip, zx[0], N, C, M, H*W)
	}
	if c.gather != nil && qGatherOn && len(ws) == 4 && s[2] <= 4 {
		return c.runGather(ctx, y, &out, xd, flip, zx[0], N, C, M, H, W, OH, OW, k, s, d, pb)
	}
	if c.rows != nil && qRowsOn && len(ws) == 4 && s[2] == 1 && qPanelWaste(OW) < qPanelWaste(M) {
		return c.runRows(ctx, y, &out, xd, flip, zx[0], N, C, M, H, W, OH, OW, k, s, d, pb)
	}
	if cg == 1 && mg == 1 {
		if err := c.depthwise(ctx, in, w, y, &out, xd, flip, zx[0], N, C, H, W, OH, OW, k, s, d, pb); err != nil {
			return nil, err
		}
		return []*ir.Tensor{y}, nil
	}
	// Wide enough rows keep the row-window layout's per-row last blocks (rounded up to 8 pixels) nearly full.
	if qRowWindowsOn && c.packedRW != nil && len(ws) == 4 && d[2] == 1 && (OW%8 == 0 || OW >= 40) {
		if err := c.runRowWindows(ctx, y, &out, xd, flip, zx, N, C, M, H, W, OH, OW, k, s, d, pb); err != nil {
			return nil, err
		}
		return []*ir.Tensor{y}, nil
	}
	kp, _ := kernels.QPackedASize(P, kk)
	// A 1×1, stride-1, unpadded, ungrouped convolution reads the NHWC image itself as A when its rows need no
	// padding to the kernel's multiple of 4.
	direct := c.group == 1 && k[1] == 1 && k[2] == 1 && s[1] == 1 && s[2] == 1 && pb[1] == 0 && pb[2] == 0 &&
		OH == H && OW == W && kp == C
	// Otherwise im2col and the GEMM go band by band of output rows whose im2col block stays in cache, instead of
	// writing the whole im2col matrix (22 MB for det's 96→24 3×3 at 160×160) to memory and reading it back. With
	// several threads each band is one task, its im2col and its GEMM on one thread (bands is a multiple of the
	// threads): a parallel im2col and then a parallel GEMM per band made ResNet-18's 28×28 layers wait on each
	// other's stragglers eight times a layer (1.24× from a second thread). Bands of fewer than 64 pixels (7×7
	// maps) keep one band with the GEMM split across its panels instead.
	band, bands := OH, 1
	if !direct {
		band = max(1, min(OH, qConvBandBytes/max(OW*kp, 1)))
		bands = (OH + band - 1) / band
		if t := ctx.Threads; t > 1 && (OH+t-1)/t*OW >= 64 {
			bands = (bands + t - 1) / t * t
			band = (OH + bands - 1) / bands
		}
		bands = (OH + band - 1) / band
	}
	_, size := kernels.QPackedASize(band*OW, kk)
	// Scratch needs no zeroing: A's padding columns meet B's zero rows, and its padding rows are never stored.
	// Read directly, the image also needs room for the kernel's last partial row block.
	nsz := H * W * C
	if direct {
		nsz = max(nsz, size)
	}
	// A 3-channel 3-wide kernel (the image stem) gathers its im2col rows from the NCHW planes themselves: the NHWC
	// transpose and then the im2col copy of its 9-byte runs cost twice as much as the gather.
	planes := C == 3 && k[2] == 3 && c.group == 1 && d[2] == 1
	if planes {
		nsz = 0
	}
	nt := ctx.allocRaw(ir.Uint8, nsz)
	defer ctx.recycle(nt)
	nhwc := nt.U8()
	// One im2col block per task running at once (the runner runs at most Threads of them): a free list.
	slots := min(c.group*bands, max(ctx.Threads, 1))
	free := make(chan []uint8, slots)
	if !direct {
		ct := ctx.allocRaw(ir.Uint8, slots*size)
		defer ctx.recycle(ct)
		for i := range slots {
			free <- ct.U8()[i*size : (i+1)*size]
		}
	}
	pad := uint8(zx[0])
	errs := make([]error, c.group*bands)
	for n := 0; n < N; n++ {
		xn := xd[n*C*H*W : (n+1)*C*H*W]
		if !planes {
			qToNHWC(ctx, nhwc, xn, C, H*W, flip)
		}
		// Within a task the band's im2col rows and its GEMM run serially when the tasks themselves are spread.
		par := ctx.Par
		if bands > 1 {
			par = nil
		}
		ctx.Par.Run(c.group*bands, func(t int) {
			gi, oh0 := t/bands, t%bands*band
			oh1 := min(OH, oh0+band)
			p0, rows := oh0*OW, (oh1-oh0)*OW
			a := &kernels.QPackedA{M: rows, K: kk, Kp: kp, Data: nhwc}
			if !direct {
				col := <-free
				defer func() { free <- col }()
				a.Data = col
				par.Run(oh1-oh0, func(r int) {
					oh := oh0 + r
					dst := col[r*OW*kp : (r+1)*OW*kp]
					if planes {
						qIm2col3Planes(dst, kp, xn, oh*s[1]-pb[1], -pb[2], s[2], OW, H, W, k[1], d[1], pad, flip)
						return
					}
					if cg == C && d[2] == 1 {
						qIm2colOutRow(dst, kp, nhwc, oh*s[1]-pb[1], -pb[2], s[2], OW, H, W, C, k[1], k[2], d[1], pad)
						return
					}
					for ow := 0; ow < OW; ow++ {
						qIm2colRow(dst[ow*kp:ow*kp+kk], nhwc, oh*s[1]-pb[1], ow*s[2]-pb[2], H, W, C, gi*cg, cg, k[1], k[2], d[1], d[2], pad)
					}
				})
			}
			o := out
			o.Ldc, o.Trans = P, true
			if o.Bias != nil {
				o.Bias = o.Bias[gi*mg : (gi+1)*mg]
			}
			if o.FBias != nil {
				o.FBias = o.FBias[gi*mg : (gi+1)*mg]
			}
			if len(o.Scale) > 1 {
				o.Scale = o.Scale[gi*mg : (gi+1)*mg]
			}
			// The band's (pixel, channel) element lands at channel·P + pixel from its first pixel on.
			lo, hi := (n*M+gi*mg)*P+p0, (n*M+gi*mg+mg)*P
			c.target(&o, y, lo, hi)
			errs[t] = kernels.QGemmPacked(par, a, zx, packed[gi], &o)
		})
		for _, err := range errs {
			if err != nil {
				return nil, Invalidf("%v", err)
			}
		}
	}
	return []*ir.Tensor{y}, nil
}

// qPointwiseOn enables runPointwise; benchmarks turn it off to compare with the GEMM path.
var qPointwiseOn = true

// runPointwise computes a 1×1, stride-1, unpadded QLinearConv image by image on the NCHW planes themselves
// (kernels.QPointwise): no NHWC transpose of the input and no transposed stores of the output. det's 16→32
// 1×1 at 320×320 (K = 16) spent most of its GEMM-path time in those and in per-tile overhead.
func (c *qConv) runPointwise(ctx *Ctx, y *ir.Tensor, out *kernels.QOutput, xd []uint8, flip uint8, zx int32, N, C, M, P int) ([]*ir.Tensor, error) {
	o := *out
	o.Ldc = P
	for n := range N {
		c.target(&o, y, n*M*P, (n+1)*M*P)
		if err := kernels.QPointwise(ctx.Par, c.pointwise, xd[n*C*P:(n+1)*C*P], P, flip, zx, P, &o); err != nil {
			return nil, Invalidf("%v", err)
		}
	}
	return []*ir.Tensor{y}, nil
}

// qGatherOn enables runGather; benchmarks turn it off to compare with the row windows.
var qGatherOn = true

// runGather computes a stem (at most 3 input channels) image by image with kernels.QConvGather: the planes are
// copied into padded ones whose border holds the input's zero point, and each panel of 32 output pixels is
// gathered from them tap by tap. det's 3→16 3×3 stride-2 stem ran its row windows at 19 GMAC/s.
func (c *qConv) runGather(ctx *Ctx, y *ir.Tensor, out *kernels.QOutput, xd []uint8, flip uint8, zx int32,
	N, C, M, H, W, OH, OW int, k, s, d, pb [3]int) ([]*ir.Tensor, error) {
	pt, pl := pb[1], pb[2]
	hp := max(pt+H, (OH-1)*s[1]+(k[1]-1)*d[1]+1)
	wp := max(pl+W, (OW-1)*s[2]+(k[2]-1)*d[2]+1)
	bt := ctx.allocRaw(ir.Uint8, C*hp*wp+kernels.QConvGatherSlack)
	defer ctx.recycle(bt)
	b := bt.U8()
	pad := uint8(zx) ^ flip // the zero point as the input stores it
	g := kernels.QConvGeom{C: C, HP: hp, WP: wp, KH: k[1], KW: k[2], SH: s[1], SW: s[2], DH: d[1], DW: d[2], OH: OH, OW: OW}
	o := *out
	o.Ldc = OH * OW
	for n := range N {
		for ch := range C {
			qPadPlane(b[ch*hp*wp:(ch+1)*hp*wp], xd[(n*C+ch)*H*W:(n*C+ch+1)*H*W], H, W, pt, pl, wp, pad)
		}
		qFill(b[C*hp*wp:], pad)
		c.target(&o, y, n*M*OH*OW, (n+1)*M*OH*OW)
		if err := kernels.QConvGather(ctx.Par, c.gather, b, g, flip, zx, &o); err != nil {
			return nil, Invalidf("%v", err)
		}
	}
	return []*ir.Tensor{y}, nil
}

// qRowsOn enables runRows; benchmarks turn it off to compare with the row windows.
var qRowsOn = true

// qPanelWaste is the share of 32-wide panels that n columns leave empty. runRows' panels are 32 pixels of one
// output row, the row-window GEMM's 32 output channels: runRows is taken where its panels waste less (det's
// 96→24 layers, 160 and 80 wide; not ResNet-18's 56-wide 64-channel ones, measured 8 % slower on runRows).
func qPanelWaste(n int) float64 {
	return 1 - float64(n)/float64((n+31)/32*32)
}

// runRows computes an ungrouped convolution at horizontal stride 1 over a multiple of 4 channels with
// kernels.QConvRows: each image is packed once into rows of 4-channel groups (int8 moved to uint8, the border
// holding the zero point) that every tap reads in place, and each block of 8 output channels is stored straight
// into its NCHW planes. det's 96→24 3×3 layers spent a quarter of their row-window GEMM on padding columns and
// more on the NHWC transpose and the transposed stores.
func (c *qConv) runRows(ctx *Ctx, y *ir.Tensor, out *kernels.QOutput, xd []uint8, flip uint8, zx int32,
	N, C, M, H, W, OH, OW int, k, s, d, pb [3]int) ([]*ir.Tensor, error) {
	pt, pl := pb[1], pb[2]
	hp := max(pt+H, (OH-1)*s[1]+(k[1]-1)*d[1]+1)
	wp := max(pl+W, OW+(k[2]-1)*d[2])
	bt := ctx.allocRaw(ir.Uint8, kernels.QPackedRowsSize(C, hp, wp))
	defer ctx.recycle(bt)
	b := bt.U8()
	g := kernels.QConvGeom{C: C, HP: hp, WP: wp, KH: k[1], KW: k[2], SH: s[1], SW: 1, DH: d[1], DW: d[2], OH: OH, OW: OW}
	o := *out
	o.Ldc = OH * OW
	for n := range N {
		if err := kernels.QPackRows(ctx.Par, b, xd[n*C*H*W:(n+1)*C*H*W], C, H, W, pt, pl, hp, wp, flip, uint8(zx)); err != nil {
			return nil, Invalidf("%v", err)
		}
		c.target(&o, y, n*M*OH*OW, (n+1)*M*OH*OW)
		if err := kernels.QConvRows(ctx.Par, c.rows, b, g, zx, &o); err != nil {
			return nil, Invalidf("%v", err)
		}
	}
	return []*ir.Tensor{y}, nil
}

// qPadPlane copies the H×W plane src into dst (rows wp bytes apart) from row pt and column pl on, and fills the
// rest of dst with pad.
func qPadPlane(dst, src []uint8, H, W, pt, pl, wp int, pad uint8) {
	qFill(dst[:pt*wp], pad)
	for i := range H {
		row := dst[(pt+i)*wp : (pt+i+1)*wp]
		qFill(row[:pl], pad)
		copy(row[pl:], src[i*W:(i+1)*W])
		qFill(row[pl+W:], pad)
	}
	qFill(dst[(pt+H)*wp:], pad)
}

// target points o at y's elements [lo, hi) in the output's representation: float (QConvFloat), int32
// (ConvInteger) or requantized uint8/int8 (QLinearConv).
func (c *qConv) target(o *kernels.QOutput, y *ir.Tensor, lo, hi int) {
	switch {
	case c.float:
		o.F32 = y.F32()[lo:hi]
	case !c.qlinear:
		o.I32 = y.I32()[lo:hi]
	case y.DType == ir.Uint8:
		o.U8 = y.U8()[lo:hi]
	default:
		o.I8 = y.I8()[lo:hi]
	}
}

// qRowWindowsOn enables runRowWindows; benchmarks turn it off to compare with im2col.
var qRowWindowsOn = true

// runRowWindows computes an ungrouped convolution with horizontal dilation 1 without im2col. For each output row
// it lays the kh input rows that row reads side by side (the row window: pixel j holds their C channels each at
// image column j − left padding), so output pixel ow's taps in (kw, kh, c) order — packedRW's order — are the
// kw·kh·C bytes from window pixel ow·sw on, and the GEMM reads A as windows sw·kh·C bytes apart (QPackedA.Lda).
// The row window is a kw-th (at stride 1) of the im2col rows it replaces: det's 96→24 3×3 layers spent a third
// of their time writing im2col. An image of fewer than 4 channels (a stem) is read from its planes: its window
// pixels are kh·C bytes (21 for ResNet's 7×7 stem, 9 for det's 3×3), so neither K (kw·kh·C) nor the windows'
// stride is a multiple of the GEMM's 4-byte groups; a row's bytes past K meet B's zero padding rows. Padding the
// taps to 4 channels instead cost a third more multiply-adds (K 196 against 147).
func (c *qConv) runRowWindows(ctx *Ctx, y *ir.Tensor, out *kernels.QOutput, xd []uint8, flip uint8, zx []int32,
	N, C, M, H, W, OH, OW int, k, s, d, pb [3]int) error {
	kh, kw, sw := k[1], k[2], s[2]
	pix, kk, wv, P := kh*C, kh*kw*C, (OW-1)*sw+kw, OH*OW
	kp, _ := kernels.QPackedASize(1, kk)
	lda := sw * pix
	planes := C < 4
	// The GEMM reads whole 8-pixel blocks: room for the last one's windows past the row's end (never stored).
	// A stem's window is built from kh·C plane rows gathered first (rsz bytes).
	vsz, rsz := max(wv*pix, (OW+8)*lda+kp), 0
	if planes && pix >= 16 {
		rsz = wv * pix
	}
	band := max(1, min(OH, qConvBandBytes/(vsz+rsz)))
	if band > ctx.Threads {
		band -= band % max(ctx.Threads, 1)
	}
	nsz := H * W * C
	if planes {
		nsz = 0
	}
	nt := ctx.allocRaw(ir.Uint8, nsz)
	defer ctx.recycle(nt)
	vt := ctx.allocRaw(ir.Uint8, band*(vsz+rsz))
	defer ctx.recycle(vt)
	nhwc, vb := nt.U8(), vt.U8()
	errs := make([]error, band)
	for n := 0; n < N; n++ {
		xn := xd[n*C*H*W : (n+1)*C*H*W]
		if !planes {
			qToNHWC(ctx, nhwc, xn, C, H*W, flip)
		}
		for oh0 := 0; oh0 < OH; oh0 += band {
			oh1 := min(OH, oh0+band)
			ctx.Par.Run(oh1-oh0, func(r int) {
				oh := oh0 + r
				v := vb[r*(vsz+rsz) : r*(vsz+rsz)+vsz]
				if planes {
					rows := vb[r*(vsz+rsz)+vsz : (r+1)*(vsz+rsz)]
					qRowWindowPlanes(v, rows, xn, oh*s[1]-pb[1], -pb[2], wv, H, W, C, kh, d[1], uint8(zx[0]), flip)
				} else {
					qRowWindow(v, nhwc, oh*s[1]-pb[1], -pb[2], wv, H, W, C, kh, d[1], uint8(zx[0]))
				}
				o := *out
				o.Ldc, o.Trans = P, true
				lo, hi := n*M*P+oh*OW, (n+1)*M*P
				c.target(&o, y, lo, hi)
				a := &kernels.QPackedA{M: OW, K: kk, Kp: kp, Data: v, Lda: lda}
				errs[r] = kernels.QGemmPacked(nil, a, zx, c.packedRW, &o)
			})
			for _, err := range errs[:oh1-oh0] {
				if err != nil {
					return Invalidf("%v", err)
				}
			}
		}
	}
	return nil
}

// qRowWindow fills the row window v (wv pixels of kh·c bytes) from the NHWC image x of h×w pixels: pixel j holds
// image rows ih0, ih0+dh, … at column iw0+j, c channels each; rows and columns outside the image hold the zero
// point pad, so those taps add nothing to Σ (a − za)·b.
func qRowWindow(v, x []uint8, ih0, iw0, wv, h, w, c, kh, dh int, pad uint8) {
	lda := kh * c
	j0 := min(wv, max(0, -iw0))
	j1 := max(j0, min(wv, w-iw0))
	qFill(v[:j0*lda], pad)
	qFill(v[j1*lda:wv*lda], pad)
	for a := 0; a < kh; a++ {
		ih := ih0 + a*dh
		if ih < 0 || ih >= h {
			for j := j0; j < j1; j++ {
				qFill(v[j*lda+a*c:j*lda+a*c+c], pad)
			}
			continue
		}
		// The row's pixels are one contiguous run of the NHWC image, scattered lda bytes apart.
		if j1 > j0 {
			o := (ih*w + iw0 + j0) * c
			kernels.ScatterRows(v[j0*lda+a*c:], lda, x[o:o+(j1-j0)*c], c, j1-j0)
		}
	}
}

// qRowWindowPlanes is qRowWindow for an image of c < 4 channels read from its NCHW planes x (h×w each), each byte
// xor-ed with flip: window pixel j holds, for each kernel row a, the c bytes at image row ih0 + a·dh, column
// iw0 + j (pad, already flipped, outside the image). Pixels of 16 bytes or
// more (ResNet's 7×7 stem: 21) are built from the kh·c plane rows copied side by side into rows (wv bytes each)
// and transposed as one image of kh·c channels by kernels.QToNHWC; gathering them byte by byte cost that stem a
// third of its GEMM time. Smaller pixels (det's 3×3 stem: 9 bytes) are written a kernel row at a time straight
// from the planes.
func qRowWindowPlanes(v, rows, x []uint8, ih0, iw0, wv, h, w, c, kh, dh int, pad, flip uint8) {
	hw, pix := h*w, kh*c
	j0 := min(wv, max(0, -iw0))
	j1 := max(j0, min(wv, w-iw0))
	if pix < 16 {
		for a := range kh {
			ih := ih0 + a*dh
			inside := ih >= 0 && ih < h
			o := ih*w + iw0
			dst := v[a*c:]
			if c != 3 { // 1- and 2-channel images: byte by byte
				for j := range wv {
					for ch := range c {
						b := pad
						if inside && j >= j0 && j < j1 {
							b = x[ch*hw+o+j] ^ flip
						}
						dst[j*pix+ch] = b
					}
				}
				continue
			}
			// Each tap's 3 bytes go as one 4-byte store whose spare byte the next kernel row's store
			// overwrites; the last kernel row's would land on the next pixel's first byte, already stored.
			exact := a == kh-1
			padWord, f := uint32(pad)*0x01010101, uint32(flip)*0x01010101
			lo, hi := j0, j1
			if !inside {
				lo, hi = wv, wv
			}
			for j := range lo {
				qPut3(dst[j*pix:], padWord, exact)
			}
			if lo < hi {
				p0, p1, p2 := x[o+lo:o+hi], x[hw+o+lo:hw+o+hi], x[2*hw+o+lo:2*hw+o+hi]
				p1, p2 = p1[:len(p0)], p2[:len(p0)]
				d := dst[lo*pix:]
				if exact {
					for i, k := 0, 0; i < len(p0); i, k = i+1, k+pix {
						d[k], d[k+1], d[k+2] = p0[i]^flip, p1[i]^flip, p2[i]^flip
					}
				} else {
					for i, k := 0, 0; i < len(p0); i, k = i+1, k+pix {
						binary.LittleEndian.PutUint32(d[k:k+4], (uint32(p0[i])|uint32(p1[i])<<8|uint32(p2[i])<<16)^f)
					}
				}
			}
			for j := hi; j < wv; j++ {
				qPut3(dst[j*pix:], padWord, exact)
			}
		}
		return
	}
	pf := pad ^ flip // QToNHWC flips every byte
	for a := 0; a < kh; a++ {
		ih := ih0 + a*dh
		for ch := 0; ch < c; ch++ {
			row := rows[(a*c+ch)*wv : (a*c+ch+1)*wv]
			if ih < 0 || ih >= h {
				qFill(row, pf)
				continue
			}
			qFill(row[:j0], pf)
			qFill(row[j1:], pf)
			o := ch*hw + ih*w + iw0
			copy(row[j0:j1], x[o+j0:o+j1])
		}
	}
	kernels.QToNHWC(v, rows, pix, wv, wv, flip)
}

// qPut3 stores the low 3 bytes of word at d: as one 4-byte store (d must reach that far), or exactly.
func qPut3(d []uint8, word uint32, exact bool) {
	if exact {
		binary.LittleEndian.PutUint16(d, uint16(word))
		d[2] = uint8(word >> 16)
		return
	}
	binary.LittleEndian.PutUint32(d, word)
}

// qToNHWC transposes one image's c planes of hw bytes into pixel-major order, xor-ing each byte with flip
// (kernels.QToNHWC), in blocks of pixels split across threads so both sides stay in cache.
func qToNHWC(ctx *Ctx, dst, src []uint8, c, hw int, flip uint8) {
	const blk = 256
	ctx.Par.Run((hw+blk-1)/blk, func(b int) {
		p0, p1 := b*blk, min(hw, (b+1)*blk)
		kernels.QToNHWC(dst[p0*c:p1*c], src[p0:], c, p1-p0, hw, flip)
	})
}

// qIm2colRow fills one im2col row (taps in (kh, kw) order, cg channels each, starting at channel c0) for the
// output pixel whose window starts at (ih0, iw0) in the NHWC image x of h×w pixels and c channels. Taps outside
// the image get the input zero point, so they add nothing to Σ (a − za)·b. With one group and no dilation a
// kernel row's in-bounds taps are one contiguous run of the image.
func qIm2colRow(row, x []uint8, ih0, iw0, h, w, c, c0, cg, kh, kw, dh, dw int, pad uint8) {
	i := 0
	for a := 0; a < kh; a++ {
		ih := ih0 + a*dh
		if ih < 0 || ih >= h {
			qFill(row[i:i+kw*cg], pad)
			i += kw * cg
			continue
		}
		line := x[ih*w*c:]
		if cg == c && dw == 1 {
			lo, hi := max(0, -iw0), min(kw, w-iw0) // taps in [lo, hi) are inside
			if hi <= lo {
				qFill(row[i:i+kw*cg], pad)
				i += kw * cg
				continue
			}
			qFill(row[i:i+lo*c], pad)
			copy(row[i+lo*c:i+hi*c], line[(iw0+lo)*c:(iw0+hi)*c])
			qFill(row[i+hi*c:i+kw*c], pad)
			i += kw * c
			continue
		}
		for b := 0; b < kw; b++ {
			iw := iw0 + b*dw
			if iw < 0 || iw >= w {
				qFill(row[i:i+cg], pad)
			} else {
				copy(row[i:i+cg], line[iw*c+c0:iw*c+c0+cg])
			}
			i += cg
		}
	}
}

// qIm2colOutRow fills the im2col rows (stride kp) of one output row of ow pixels for an ungrouped convolution
// without horizontal dilation: pixel j's window starts at (ih0, iw0 + j·sw). Each kernel row's taps are one run
// of kw·c bytes of the NHWC image when the window lies inside it, which small kernels over few channels (the
// 3-channel stem: 9 bytes) copy faster byte by byte than through a memmove call; windows over the edge go
// through qIm2colRow. A run of at most 32 bytes is moved as one 32-byte block where both slices reach that far:
// the bytes past the run land in the next run (or the next pixel's row), which is written after it, or in the
// padding columns past kh·kw·c, which meet B's zero rows (ResNet-18's 7×7 stem, 21-byte runs: im2col 0.9 →
// 0.45 ms of the layer's 2.0 → 1.7 ms).
func qIm2colOutRow(dst []uint8, kp int, x []uint8, ih0, iw0, sw, ow, h, w, c, kh, kw, dh int, pad uint8) {
	run := kw * c
	for j := 0; j < ow; j++ {
		iw := iw0 + j*sw
		row := dst[j*kp : j*kp+kh*run]
		if iw < 0 || iw+kw > w {
			qIm2colRow(row, x, ih0, iw, h, w, c, 0, c, kh, kw, dh, 1, pad)
			continue
		}
		for a := 0; a < kh; a++ {
			seg := row[a*run : (a+1)*run]
			ih := ih0 + a*dh
			if ih < 0 || ih >= h {
				qFill(seg, pad)
				continue
			}
			o, d := (ih*w+iw)*c, j*kp+a*run
			if run <= 32 && o+32 <= len(x) && d+32 <= len(dst) {
				qMove32(dst[d:d+32], x[o:o+32])
				continue
			}
			qCopySmall(seg, x[o:o+run])
		}
	}
}

// qIm2col3Planes fills the im2col rows (stride kp, taps in (kh, kw, channel) order) of one output row of ow
// pixels for an ungrouped kernel of kh×3 taps over the 3 planes of an h×w NCHW image x, each byte xor-ed with
// flip: pixel j's window starts at (ih0, iw0 + j·sw), kernel rows dh apart. Inside the image a kernel row's 9
// bytes are gathered into one 8-byte word and a byte; taps outside get pad (already flipped, like zx).
func qIm2col3Planes(dst []uint8, kp int, x []uint8, ih0, iw0, sw, ow, h, w, kh, dh int, pad, flip uint8) {
	hw := h * w
	x0, x1, x2 := x[:hw], x[hw:2*hw], x[2*hw:3*hw]
	f := uint64(flip) * 0x0101010101010101
	for j := 0; j < ow; j++ {
		iw := iw0 + j*sw
		row := dst[j*kp : j*kp+kh*9]
		for a := 0; a < kh; a++ {
			seg := row[a*9 : a*9+9]
			ih := ih0 + a*dh
			if ih < 0 || ih >= h {
				qFill(seg, pad)
				continue
			}
			o := ih*w + iw
			if iw < 0 || iw+3 > w {
				for b := 0; b < 3; b++ {
					if iw+b < 0 || iw+b >= w {
						seg[3*b], seg[3*b+1], seg[3*b+2] = pad, pad, pad
					} else {
						seg[3*b], seg[3*b+1], seg[3*b+2] = x0[o+b]^flip, x1[o+b]^flip, x2[o+b]^flip
					}
				}
				continue
			}
			p0, p1, p2 := x0[o:o+3], x1[o:o+3], x2[o:o+3]
			v := uint64(p0[0]) | uint64(p1[0])<<8 | uint64(p2[0])<<16 | uint64(p0[1])<<24 | uint64(p1[1])<<32 |
				uint64(p2[1])<<40 | uint64(p0[2])<<48 | uint64(p1[2])<<56
			binary.LittleEndian.PutUint64(seg, v^f)
			seg[8] = p2[2] ^ flip
		}
	}
}

// qCopySmall copies src to dst (same length): runs over 32 bytes through copy, shorter ones as 8-byte words, the
// last word overlapping the one before, which is faster than a memmove call or a byte loop for the stem's 9-byte
// runs; under 8 bytes, byte by byte.
func qCopySmall(dst, src []uint8) {
	n := len(src)
	switch {
	case n > 32:
		copy(dst, src)
	case n >= 8:
		dst = dst[:n]
		for i := 0; i < n-8; i += 8 {
			binary.LittleEndian.PutUint64(dst[i:], binary.LittleEndian.Uint64(src[i:]))
		}
		binary.LittleEndian.PutUint64(dst[n-8:], binary.LittleEndian.Uint64(src[n-8:]))
	default:
		for i := range src {
			dst[i] = src[i]
		}
	}
}

// qMove32 copies 32 bytes as four 8-byte words, loaded before any is stored (an array assignment of this size
// compiles to a memmove call).
func qMove32(dst, src []uint8) {
	_, _ = dst[31], src[31]
	v0, v1 := binary.LittleEndian.Uint64(src), binary.LittleEndian.Uint64(src[8:])
	v2, v3 := binary.LittleEndian.Uint64(src[16:]), binary.LittleEndian.Uint64(src[24:])
	binary.LittleEndian.PutUint64(dst, v0)
	binary.LittleEndian.PutUint64(dst[8:], v1)
	binary.LittleEndian.PutUint64(dst[16:], v2)
	binary.LittleEndian.PutUint64(dst[24:], v3)
}

// qConvBandBytes bounds one band's im2col block: well inside a core's L2, so the GEMM reads it from cache.
const qConvBandBytes = 256 << 10

// qFill sets every byte of b to v, eight at a time (a byte loop with v ≠ 0 is not turned into a memset, and the
// row windows' padding rows are C bytes per pixel: 0.3 ms of ResNet-18's int8 run went to filling them).
func qFill(b []uint8, v uint8) {
	w := uint64(v) * 0x0101010101010101
	i := 0
	for ; i+8 <= len(b); i += 8 {
		binary.LittleEndian.PutUint64(b[i:], w)
	}
	for ; i < len(b); i++ {
		b[i] = v
	}
}

// dequantOut reads QConvFloat's scales and biases into out (multiplier x_scale·w_scale per output channel, the
// int32 bias added before it, the float bias after it) and allocates the float32 output.
func (c *qConv) dequantOut(ctx *Ctx, in []*ir.Tensor, out *kernels.QOutput, M int, shape []int) (*ir.Tensor, error) {
	xs, err := qScalarF32(nnInput(in, 3), "x_scale")
	if err != nil {
		return nil, err
	}
	wf, err := qChannelScales(nnInput(in, 5), M, "w_scale")
	if err != nil {
		return nil, err
	}
	out.Scale = make([]float32, M)
	for j := range out.Scale {
		out.Scale[j] = xs * wf[min(j, len(wf)-1)]
	}
	if bt := nnInput(in, 2); bt != nil {
		if bt.DType != ir.Int32 || bt.Len() != M {
			return nil, Invalidf("bias must be int32 with %d values, got %s", M, bt)
		}
		out.Bias = bt.I32()
	}
	if ft := nnInput(in, 7); ft != nil {
		if ft.DType != ir.Float32 || ft.Len() != M {
			return nil, Invalidf("float bias must be float32 with %d values, got %s", M, ft)
		}
		out.FBias = ft.F32()
	}
	return ctx.allocRaw(ir.Float32, shape...), nil // every element is written
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
	wf, err := qChannelScales(nnInput(in, 4), M, "w_scale")
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
	return ctx.allocRaw(yt, shape...), nil // every element is written
}

// depthwise runs a convolution with one input and one output channel per group directly: a GEMM per group would
// have one column, so almost all of its 32-wide panel would be padding. Taps outside the image are skipped (they
// hold the zero point, so they add nothing), and each sum is requantized as the GEMM epilogue does.
func (c *qConv) depthwise(ctx *Ctx, in []*ir.Tensor, w, y *ir.Tensor, out *kernels.QOutput, xd []uint8, flip uint8, zx int32,
	N, C, H, W, OH, OW int, k, s, d, pb [3]int) error {
	_, _, _, izw := c.idx()
	taps := k[1] * k[2]
	wv := c.centred
	if wv == nil {
		var err error
		if wv, err = qCentredDepthwise(w, nnInput(in, izw), C); err != nil {
			return err
		}
	}
	lo, hi := int32(0), int32(255)
	if y.DType == ir.Int8 {
		lo, hi = -128, 127
	}
	if c.qlinear && kernels.QDepthwiseFast(s[2]) && d[1] == 1 && d[2] == 1 {
		w8 := c.centred8
		if c.centred == nil { // weights given at run time
			w8 = qInt8s(wv)
		}
		if w8 != nil {
			return c.depthwiseInt8(ctx, w8, y, out, xd, flip, zx, N, C, H, W, OH, OW, k, s, pb, lo, hi)
		}
	}
	if (c.qlinear || c.float) && C > 1 && qDepthwiseExact(wv, taps) {
		c.depthwiseFloat(ctx, wv, y, out, xd, flip, zx, N, C, H, W, OH, OW, k, s, d, pb, lo, hi)
		return nil
	}
	ctx.Par.Run(N*C, func(nc int) {
		ch := nc % C
		src := xd[nc*H*W : (nc+1)*H*W]
		kw := wv[ch*taps : (ch+1)*taps]
		var bias int32
		var scale float32
		if c.qlinear || c.float {
			scale = out.Scale[min(ch, len(out.Scale)-1)]
			if out.Bias != nil {
				bias = out.Bias[ch]
			}
		}
		for oh := 0; oh < OH; oh++ {
			for ow := 0; ow < OW; ow++ {
				var acc int32
				for a := 0; a < k[1]; a++ {
					ih := oh*s[1] - pb[1] + a*d[1]
					if ih < 0 || ih >= H {
						continue
					}
					row := src[ih*W : (ih+1)*W]
					for b := 0; b < k[2]; b++ {
						if iw := ow*s[2] - pb[2] + b*d[2]; iw >= 0 && iw < W {
							acc += (int32(row[iw]^flip) - zx) * kw[a*k[2]+b]
						}
					}
				}
				o := nc*OH*OW + oh*OW + ow
				switch {
				case c.float && out.FBias != nil: // the explicit conversion rounds the product before the add
					y.F32()[o] = float32(float32(acc+bias)*scale) + out.FBias[ch]
				case c.float:
					y.F32()[o] = float32(acc+bias) * scale
				case !c.qlinear:
					y.I32()[o] = acc
				case y.DType == ir.Uint8:
					y.U8()[o] = uint8(kernels.QRequantize(acc+bias, scale, out.ZeroPoint, lo, hi))
				default:
					y.I8()[o] = int8(kernels.QRequantize(acc+bias, scale, out.ZeroPoint, lo, hi))
				}
			}
		}
	})
	return nil
}

// qCentredDepthwise returns depthwise weights (C channels) minus their zero points (a scalar or one per channel).
func qCentredDepthwise(w, zp *ir.Tensor, C int) ([]int32, error) {
	wd, shift, err := qWeights(w)
	if err != nil {
		return nil, err
	}
	zw, err := qZeroVector(zp, w.DType, C, shift, "W")
	if err != nil {
		return nil, err
	}
	taps := len(wd) / max(C, 1)
	wv := make([]int32, len(wd))
	for i := range wv {
		wv[i] = int32(wd[i]) - zw[min(i/max(taps, 1), len(zw)-1)]
	}
	return wv, nil
}

// qInt8s returns the centred weights w − zw as int8, or nil when one does not fit (they always do for zero point
// 0, and for uint8 weights centred at 128), as kernels.QDepthwise takes them.
func qInt8s(wv []int32) []int8 {
	out := make([]int8, len(wv))
	for i, v := range wv {
		if v < -128 || v > 127 {
			return nil
		}
		out[i] = int8(v)
	}
	return out
}

// depthwiseInt8 runs QLinearConv's depthwise case on the 8-bit planes themselves (kernels.QDepthwise), channel
// by channel: each plane is copied into a padded one whose border holds the input's zero point (so padding adds
// nothing) and convolved 16 outputs at a time (VPERMB windows and VPDPBUSD with AVX-512 VNNI; int16 tap pairs
// and VPMADDWD with AVX2, horizontal strides 1 and 2). On PP-OCRv4 det the float32 route (dequantize, convolve,
// requantize) made its 14 int8 depthwise layers as slow as the float model's; at AVX2 they took 11.2 ms on it,
// against 8.3 ms on this kernel (fp32: 10.7 ms).
func (c *qConv) depthwiseInt8(ctx *Ctx, w8 []int8, y *ir.Tensor, out *kernels.QOutput, xd []uint8, flip uint8, zx int32,
	N, C, H, W, OH, OW int, k, s, pb [3]int, lo, hi int32) error {
	kh, kw, sh, sw := k[1], k[2], s[1], s[2]
	pt, pl := pb[1], pb[2]
	wp := max(pl+W, (OW-1)*sw+kw)
	hp := max(pt+H, (OH-1)*sh+kh)
	size := hp*wp + kernels.QDepthwiseSlack
	taps := kh * kw
	pad := uint8(zx) ^ flip // the zero point as the input stores it
	yb := y.Bytes()
	errs := make([]error, N*C)
	ctx.Par.Run(N*C, func(nc int) {
		ch := nc % C
		sc := qDWPool.Get().(*qDWScratch)
		defer qDWPool.Put(sc)
		if cap(sc.b) < size {
			sc.b = make([]uint8, size)
		}
		b := sc.b[:size]
		qPadPlane(b, xd[nc*H*W:(nc+1)*H*W], H, W, pt, pl, wp, pad)
		var bias int32
		if out.Bias != nil {
			bias = out.Bias[ch]
		}
		p := kernels.QDepthwisePlane{X: b, Ldx: wp, Flip: flip, KH: kh, KW: kw, SH: sh, SW: sw, W: w8[ch*taps : (ch+1)*taps],
			OH: OH, OW: OW, Y: yb[nc*OH*OW : (nc+1)*OH*OW], Ldy: OW, Za: zx, Bias: bias,
			Scale: out.Scale[min(ch, len(out.Scale)-1)], ZeroPoint: out.ZeroPoint, Lo: lo, Hi: hi}
		errs[nc] = kernels.QDepthwise(&p)
	})
	for _, err := range errs {
		if err != nil {
			return Invalidf("%v", err)
		}
	}
	return nil
}

// qDepthwiseExact reports whether every partial sum of a depthwise channel, Σ (x − zx)·(w − zw), is an integer
// of magnitude below 2²⁴: then float32 computes it exactly in any order, and the vectorised float32 depthwise
// kernel gives the same accumulator as the integer loop. |x − zx| ≤ 255 for 8-bit data.
func qDepthwiseExact(wv []int32, taps int) bool {
	for ch := 0; ch < len(wv)/taps; ch++ {
		var bound int64
		for _, v := range wv[ch*taps : (ch+1)*taps] {
			bound += 255 * int64(max(v, -v))
		}
		if bound >= 1<<24 {
			return false
		}
	}
	return true
}

// depthwiseFloat runs QLinearConv's and QConvFloat's depthwise case on the float32 depthwise kernel (AVX-512
// where available): the input minus its zero point and the weights minus theirs become float32 exactly,
// qDepthwiseExact guarantees the accumulation is exact, and each channel's sums are requantized (or, for
// QConvFloat, dequantized) with its integer bias and multiplier as the GEMM epilogue does (kernels.QRequantizeSums). Work goes in chunks of channels small enough
// that their float planes stay in cache between the conversion, the convolution and the requantization.
func (c *qConv) depthwiseFloat(ctx *Ctx, wv []int32, y *ir.Tensor, out *kernels.QOutput, xd []uint8, flip uint8, zx int32,
	N, C, H, W, OH, OW int, k, s, d, pb [3]int, lo, hi int32) {
	wf := make([]float32, len(wv))
	for i, v := range wv {
		wf[i] = float32(v)
	}
	taps := len(wv) / C
	const budget = 1 << 20 // bytes of float planes per chunk
	chunks := max(1, min(C/2, (C*max(H*W, OH*OW)*4+budget-1)/budget))
	yb := y.Bytes()
	var yf []float32
	if c.float {
		yf = y.F32()
	}
	HW, P := H*W, OH*OW
	// flip 0x80 means int8 data whose zero point was moved by +128 with it: read the bytes as int8 instead.
	zf := float32(zx - int32(flip))
	ctx.Par.Run(N*chunks, func(t int) {
		n, ch := t/chunks, t%chunks
		c0, c1 := ch*C/chunks, (ch+1)*C/chunks // at least 2 channels, so the kernel sees a depthwise layer
		cn := c1 - c0
		sc := qDWPool.Get().(*qDWScratch)
		defer qDWPool.Put(sc)
		sc.x, sc.acc = grow32(sc.x, cn*HW), grow32(sc.acc, cn*P)
		base := n*C + c0
		kernels.QDequantize(sc.x, xd[base*HW:(base+cn)*HW], flip != 0, zf, 1)
		p := kernels.ConvParams{N: 1, C: cn, H: H, W: W, M: cn, KH: k[1], KW: k[2], StrideH: s[1], StrideW: s[2],
			DilH: d[1], DilW: d[2], PadTop: pb[1], PadLeft: pb[2], Group: cn, OH: OH, OW: OW}
		p.PadBottom = max(0, (OH-1)*s[1]+(k[1]-1)*d[1]+1-H-pb[1])
		p.PadRight = max(0, (OW-1)*s[2]+(k[2]-1)*d[2]+1-W-pb[2])
		kernels.Conv2D(nil, p, sc.x, kernels.PackConvWeights(p, wf[c0*taps:c1*taps]), nil, kernels.Activation{}, sc.acc)
		for i := 0; i < cn; i++ {
			var bias int32
			if out.Bias != nil {
				bias = out.Bias[c0+i]
			}
			o, scale := (base+i)*P, out.Scale[min(c0+i, len(out.Scale)-1)]
			if c.float { // QConvFloat: float32(S + B)·scale [+ F], as the GEMM's dequantizing epilogue computes it
				dst := yf[o : o+P]
				for j, v := range sc.acc[i*P : (i+1)*P] {
					dst[j] = float32(int32(v)+bias) * scale
				}
				if out.FBias != nil {
					kernels.AddScalar(dst, dst, out.FBias[c0+i])
				}
				continue
			}
			kernels.QRequantizeSums(yb[o:o+P], sc.acc[i*P:(i+1)*P], bias, scale, out.ZeroPoint, lo, hi)
		}
	})
}

// qDWScratch holds one depthwise task's planes.
type qDWScratch struct {
	x, acc []float32
	b      []uint8 // a padded 8-bit plane (depthwiseInt8)
}

var qDWPool = sync.Pool{New: func() any { return new(qDWScratch) }}

func grow32(b []float32, n int) []float32 {
	if cap(b) < n {
		return make([]float32, n)
	}
	return b[:n]
}
