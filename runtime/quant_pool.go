package runtime

import "github.com/hone-ml/hone/ir"

// qMaxPool8 is MaxPool on 8-bit integer planes (what fuse_qdq_maxpool leaves between quantized convolutions),
// computed on the bytes instead of through float32 and back: max commutes with the monotone dequantization, so
// the result is exact. Like nnMaxPool2D it is separable: the maximum over the window's rows for every column,
// then a short scan per output. int8 bytes are compared after flipping the sign bit (v ^ 0x80 orders int8 values
// as uint8). It returns nil where it does not apply (other dtypes, not 2-D, dilation, or a window with no tap
// inside the image), and the caller takes the general path.
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
	var flip uint8
	if x.DType == ir.Int8 {
		flip = 0x80
	}
	planes := x.Len() / max(H*W, 1)
	y := ctx.allocRaw(x.DType, append(append([]int{}, x.Shape[:len(x.Shape)-2]...), OH, OW)...)
	xd, yd := x.Bytes(), y.Bytes()
	nnParallel(ctx, planes, OH*OW*KH*KW, func(j int) {
		src, dst := xd[j*H*W:(j+1)*H*W], yd[j*OH*OW:(j+1)*OH*OW]
		colMax := make([]uint8, W)
		for oh := 0; oh < OH; oh++ {
			r0, r1 := rowLo[oh], rowHi[oh]
			for i, v := range src[r0*W : (r0+1)*W] {
				colMax[i] = v ^ flip
			}
			for r := r0 + 1; r < r1; r++ {
				for i, v := range src[r*W : (r+1)*W] {
					colMax[i] = max(colMax[i], v^flip)
				}
			}
			drow := dst[oh*OW : (oh+1)*OW]
			for ow := range drow {
				best := colMax[colLo[ow]]
				for _, v := range colMax[colLo[ow]+1 : colHi[ow]] {
					best = max(best, v)
				}
				drow[ow] = best ^ flip
			}
		}
	})
	return y
}
