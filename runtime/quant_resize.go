package runtime

import "github.com/hone-ml/hone/ir"

// qResizeNearest8 is Resize's path for 8-bit data (what opt's fuse_qdq_resize leaves in the quantized feature
// pyramid) when only the last two axes change and both are nearest-neighbour gathers (one tap of weight 1, none
// outside the input): each output row is gathered from its source row in bytes, or copied from the row before
// when both read the same source row (every other row of a 2× upsample). It returns nil where it does not apply,
// and Resize takes its general path through float32.
func qResizeNearest8(ctx *Ctx, x *ir.Tensor, outSize []int, taps []*nnTaps) *ir.Tensor {
	rank := x.Rank()
	if (x.DType != ir.Int8 && x.DType != ir.Uint8) || rank < 2 || x.Len() == 0 {
		return nil
	}
	for ax, t := range taps {
		if t == nil {
			continue
		}
		if ax < rank-2 || t.T != 1 {
			return nil
		}
		for o := range t.out {
			if t.out[o] || t.w[o] != 1 {
				return nil
			}
		}
	}
	H, W, OH, OW := x.Shape[rank-2], x.Shape[rank-1], outSize[rank-2], outSize[rank-1]
	iy, ix := qNearestIndex(taps[rank-2], OH), qNearestIndex(taps[rank-1], OW)
	y := ctx.allocRaw(x.DType, outSize...) // every element is written
	xb, yb := x.Bytes(), y.Bytes()
	nnParallel(ctx, nnProd(x.Shape[:rank-2]), OH*OW, func(p int) {
		src, dst := xb[p*H*W:(p+1)*H*W], yb[p*OH*OW:(p+1)*OH*OW]
		for oh := 0; oh < OH; oh++ {
			d := dst[oh*OW : (oh+1)*OW]
			if oh > 0 && iy[oh] == iy[oh-1] {
				copy(d, dst[(oh-1)*OW:oh*OW])
				continue
			}
			row := src[iy[oh]*W : (iy[oh]+1)*W]
			for ow, i := range ix {
				d[ow] = row[i]
			}
		}
	})
	return y
}

// qNearestIndex returns the source index of each of n outputs along an axis (nil taps: the axis is unchanged).
func qNearestIndex(t *nnTaps, n int) []int {
	if t == nil {
		idx := make([]int, n)
		for i := range idx {
			idx[i] = i
		}
		return idx
	}
	return t.idx
}
