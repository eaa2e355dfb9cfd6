package runtime

import (
	"github.com/hone-ml/hone/ir"
	"github.com/hone-ml/hone/kernels"
)

// qMaxPool8 is MaxPool on 8-bit integer planes (what fuse_qdq_maxpool leaves between quantized convolutions),
// computed on the bytes instead of through float32 and back: max commutes with the monotone dequantization, so
// the result is exact. Like nnMaxPool2D it is separable, and both passes run over the whole plane at once with the
// byte-maximum kernel (int8 compared signed): V, the maximum over KH consecutive rows for every row and column,
// then Hm, the maximum of KW consecutive bytes of V, which for every window wholly inside the image is its output
// (the bytes that straddle two rows are never read). Whole planes keep the kernel's calls few and long: per
// output row, ResNet-18's 112-wide stride-2 MaxPool spent more in calls and copies than in maxima. Windows the
// image edge cuts short are scanned one by one. It returns nil where it does not apply (other dtypes, not 2-D,
// dilation, or a window with no tap inside the image), and the caller takes the general path.
func qMaxPool8(ctx *Ctx, x *ir.Tensor, g nnGeom) *ir.Tensor {
	if (x.DType != ir.Uint8 && x.DType != ir.Int8) || len(g.In) != 2 || g.D[0] != 1 || g.D[1] != 1 {
		return nil
	}
	H, W, OH, OW := g.In[0], g.In[1], g.Out[0], g.Out[1]
	KH, KW, SH, SW, PH, PW := g.K[0], g.K[1], g.S[0], g.S[1], g.PadB[0], g.PadB[1]
	rowLo, rowHi := make([]int, OH), make([]int, OH)
	for oh := range rowLo {
		lo, hi := nnTapRange(oh*SH-PH, 1, KH, 0, H)
		if lo >= hi {
			return nil
		}
		rowLo[oh], rowHi[oh] = oh*SH-PH+lo, oh*SH-PH+hi
	}
	colLo, colHi := make([]int, OW), make([]int, OW)
	for ow := range colLo {
		lo, hi := nnTapRange(ow*SW-PW, 1, KW, 0, W)
		if lo >= hi {
			return nil
		}
		colLo[ow], colHi[ow] = ow*SW-PW+lo, ow*SW-PW+hi
	}
	signed := x.DType == ir.Int8
	planes := x.Len() / max(H*W, 1)
	y := ctx.allocRaw(x.DType, append(append([]int{}, x.Shape[:len(x.Shape)-2]...), OH, OW)...)
	xd, yd := x.Bytes(), y.Bytes()
	// V covers the rows where KH of them fit (none when the kernel is taller than the image), Hm the bytes of V
	// where KW fit.
	vRows := max(0, H-KH+1)
	vLen := vRows * W
	hLen := max(0, vLen-KW+1)
	// One task per thread, each with its own scratch, over a contiguous share of the planes.
	tasks := max(1, min(planes, ctx.Threads))
	if planes*OH*OW*KH*KW < 1<<15 {
		tasks = 1
	}
	per := (planes + tasks - 1) / tasks
	// V, Hm, a row for windows cut by the top or bottom edge, and Hm's every other byte.
	each := vLen + hLen + W + hLen/2 + 1
	scratch := ctx.allocRaw(ir.Uint8, tasks*each)
	defer ctx.recycle(scratch)
	sb := scratch.U8()
	nnParallel(ctx, tasks, per*OH*OW*KH*KW, func(tk int) {
		s := sb[tk*each : (tk+1)*each]
		sc := qMaxScratch{v: s[:vLen], hm: s[vLen : vLen+hLen], edge: s[vLen+hLen : vLen+hLen+W], every2: s[vLen+hLen+W:]}
		for j := tk * per; j < min(planes, (tk+1)*per); j++ {
			qMaxPlane(xd[j*H*W:(j+1)*H*W], yd[j*OH*OW:(j+1)*OH*OW], sc, W, OW, KH, KW, SW, rowLo, rowHi, colLo, colHi, signed)
		}
	})
	return y
}

// qMaxScratch is one qMaxPool8 task's scratch: V, Hm, a row for windows the top or bottom edge cuts, and Hm's
// bytes 2j + parity (every2) for stride-2 rows.
type qMaxScratch struct{ v, hm, edge, every2 []byte }

// qMaxPlane pools one plane src (rows W bytes wide) into dst (rows OW wide) for qMaxPool8.
func qMaxPlane(src, dst []byte, sc qMaxScratch, W, OW, KH, KW, SW int, rowLo, rowHi, colLo, colHi []int, signed bool) {
	v, hm, edge := sc.v, sc.hm, sc.edge
	vLen, hLen := len(v), len(hm)
	if vLen > 0 {
		copy(v, src[:vLen])
		for t := 1; t < KH; t++ {
			kernels.MaxBytes(v, src[t*W:t*W+vLen], signed)
		}
	}
	if hLen > 0 {
		copy(hm, v[:hLen])
		for t := 1; t < KW; t++ {
			kernels.MaxBytes(hm, v[t:t+hLen], signed)
		}
	}
	// At stride 2 over rows of even width every row's windows start at Hm bytes of one parity: one EvenBytes call
	// over the whole plane's Hm, and each output row copies its run, instead of a call per output row (ResNet-18's
	// 56-wide rows spent more in calls than in gathering).
	par := -1
	if SW == 2 && W%2 == 0 && hLen > 0 {
		for ow := range OW {
			if colHi[ow]-colLo[ow] == KW {
				par = colLo[ow] % 2
				break
			}
		}
		if par >= 0 && hLen > par {
			kernels.EvenBytes(sc.every2[:(hLen-par+1)/2], hm[par:])
		}
	}
	for oh := range rowLo {
		r0, r1 := rowLo[oh], rowHi[oh]
		drow := dst[oh*OW : (oh+1)*OW]
		if r1-r0 == KH { // the window's rows are V's row r0
			base := r0 * W
			for ow := range drow {
				lo, hi := colLo[ow], colHi[ow]
				if hi-lo < KW {
					drow[ow] = qMaxOf(v[base+lo:base+hi], signed)
					continue
				}
				// The windows inside the image are a run of columns SW apart in Hm.
				in := drow[ow:]
				for e := len(in) - 1; e >= 0 && colHi[ow+e]-colLo[ow+e] < KW; e-- {
					in = in[:e]
				}
				h := hm[base+lo:]
				_ = h[(len(in)-1)*SW]
				switch {
				case par >= 0:
					copy(in, sc.every2[(base+lo-par)/2:])
				case SW == 2:
					kernels.EvenBytes(in, h)
				default:
					for i := range in {
						in[i] = h[i*SW]
					}
				}
				for ow2 := ow + len(in); ow2 < OW; ow2++ {
					drow[ow2] = qMaxOf(v[base+colLo[ow2]:base+colHi[ow2]], signed)
				}
				break
			}
			continue
		}
		// A row window cut by the top or bottom edge: the maximum of its rows [r0, r1), then each window's.
		copy(edge, src[r0*W:(r0+1)*W])
		for r := r0 + 1; r < r1; r++ {
			kernels.MaxBytes(edge, src[r*W:(r+1)*W], signed)
		}
		for ow := range drow {
			drow[ow] = qMaxOf(edge[colLo[ow]:colHi[ow]], signed)
		}
	}
}

// qMaxOf is the largest byte of b (int8 compared signed); b is not empty.
func qMaxOf(b []byte, signed bool) byte {
	best := b[0]
	for _, v := range b[1:] {
		best = qMax2(best, v, signed)
	}
	return best
}

func qMax2(a, b byte, signed bool) byte {
	if signed && int8(b) > int8(a) || !signed && b > a {
		return b
	}
	return a
}

// qBuildGlobalAvgPool compiles ONNX Runtime's QLinearGlobalAveragePool (com.microsoft; inputs X, x_scale,
// x_zero_point, y_scale, y_zero_point; NCHW only), which opt's fuse_qdq_gap makes of DQ → GlobalAveragePool → Q:
// y = Q(x_scale·Σ(x − zx)/plane). The integer sum is exact where the float chain rounds each dequantized value to
// float32 before summing, so a mean sitting on a rounding boundary may land one step away from the chain's.
func qBuildGlobalAvgPool(b *BuildCtx) (Kernel, error) {
	if b.Node.AttrInt("channels_last", 0) != 0 {
		return nil, Unsupportedf("channels_last")
	}
	return KernelFunc(func(ctx *Ctx, in []*ir.Tensor) ([]*ir.Tensor, error) {
		x := nnInput(in, 0)
		if x == nil {
			return nil, Invalidf("needs input X")
		}
		if x.Rank() < 3 {
			return nil, Invalidf("input of shape %v needs at least 3 dims", x.Shape)
		}
		px, err := q8Params(x.DType, nnInput(in, 1), nnInput(in, 2), "X")
		if err != nil {
			return nil, err
		}
		ydt := x.DType
		if yz := nnInput(in, 4); yz != nil {
			ydt = yz.DType
		}
		py, err := q8Params(ydt, nnInput(in, 3), nnInput(in, 4), "Y")
		if err != nil {
			return nil, err
		}
		shape := append([]int(nil), x.Shape...)
		for i := 2; i < len(shape); i++ {
			shape[i] = 1
		}
		nc, plane := x.Shape[0]*x.Shape[1], nnProd(x.Shape[2:])
		y := ctx.allocRaw(ydt, shape...)
		mean := make([]float32, nc)
		var flip uint8
		zx := int64(px.zp)
		if x.DType == ir.Int8 {
			flip, zx = 0x80, zx+128 // read int8 bytes as uint8 v + 128; the zero point moves with them
		}
		xb := x.Bytes()
		nnParallel(ctx, nc, plane, func(j int) {
			s := int64(kernels.SumBytes(xb[j*plane:(j+1)*plane], flip)) - zx*int64(plane)
			mean[j] = float32(float64(s) * float64(px.scale) / float64(plane))
		})
		py.quant(y.Bytes(), mean)
		return []*ir.Tensor{y}, nil
	}), nil
}
