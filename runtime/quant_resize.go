package runtime

import (
	"encoding/binary"

	"github.com/hone-ml/hone/ir"
	"github.com/hone-ml/hone/kernels"
)

// qResizeNearest8 is Resize's path for 8-bit data (what opt's fuse_qdq_resize leaves in the quantized feature
// pyramid) when only the last two axes change and both are nearest-neighbour gathers (one tap of weight 1, none
// outside the input): each output row is gathered from its source row in bytes, or copied from the row before
// when both read the same source row (every other row of a 2× upsample); rows of a 2×, 4× or 8× upsample repeat
// each byte with one store. It returns nil where it does not apply,
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
	up := qUpsampleFactor(ix, W)
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
			if up != 0 {
				qRepeatBytes(d, row, up)
				continue
			}
			for ow, i := range ix {
				d[ow] = row[i]
			}
		}
	})
	return y
}

// qUpsampleFactor returns k when the gather ix repeats each of w inputs k times in order (ix[o] = o/k) and k is
// 2, 4 or 8 (the feature pyramid's nearest upsamples), else 0.
func qUpsampleFactor(ix []int, w int) int {
	if w == 0 || len(ix)%w != 0 {
		return 0
	}
	k := len(ix) / w
	if k != 2 && k != 4 && k != 8 {
		return 0
	}
	for o, i := range ix {
		if i != o/k {
			return 0
		}
	}
	return k
}

// qRepeatBytes writes each byte of row k times into d (len(d) = k·len(row), k = 2, 4 or 8): at 2 the row
// interleaved with itself by the vector kernel, else one 8-byte store per 8 output bytes instead of k gathers per
// source byte.
func qRepeatBytes(d, row []uint8, k int) {
	switch k {
	case 2:
		kernels.InterleaveBytes(d, row, row)
	case 4:
		// Two source bytes to bytes 0 and 4 of a word, each then repeated across its half.
		i := 0
		for ; i+2 <= len(row); i += 2 {
			x := uint64(row[i]) | uint64(row[i+1])<<32
			binary.LittleEndian.PutUint64(d[4*i:], x*0x01010101)
		}
		for ; i < len(row); i++ {
			binary.LittleEndian.PutUint32(d[4*i:], uint32(row[i])*0x01010101)
		}
	case 8:
		for i, v := range row {
			binary.LittleEndian.PutUint64(d[8*i:], uint64(v)*0x0101010101010101)
		}
	}
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
