package runtime

import (
	"github.com/hone-ml/hone/ir"
	"github.com/hone-ml/hone/kernels"
)

// qBuildLookup compiles hone's QLookup: y[i] = table[byte(x[i])] for an 8-bit x and a 256-entry 8-bit table,
// which replaces a DQ → elementwise float ops → Q region of one quantized tensor (opt's fuse_qdq_lookup), or a
// float32 table per channel (see qLookupFloat).
func qBuildLookup(*BuildCtx) (Kernel, error) {
	return KernelFunc(func(ctx *Ctx, in []*ir.Tensor) ([]*ir.Tensor, error) {
		x, table := nnInput(in, 0), nnInput(in, 1)
		if x == nil || table == nil {
			return nil, Invalidf("QLookup needs x and a table")
		}
		if x.DType != ir.Int8 && x.DType != ir.Uint8 {
			return nil, Unsupportedf("input of dtype %s", x.DType)
		}
		if table.DType == ir.Float32 {
			return qLookupFloat(ctx, x, table)
		}
		if (table.DType != ir.Int8 && table.DType != ir.Uint8) || table.Len() != 256 {
			return nil, Invalidf("table must be 256 8-bit values, got %s", table)
		}
		y := ctx.allocRaw(table.DType, x.Shape...) // every element is written
		t := (*[256]uint8)(table.Bytes())
		xs, ys := x.Bytes(), y.Bytes()
		const chunk = 1 << 16
		ctx.Par.Run((len(xs)+chunk-1)/chunk, func(c int) {
			src := xs[c*chunk : min(len(xs), (c+1)*chunk)]
			dst := ys[c*chunk : c*chunk+len(src)]
			kernels.QLookup(dst, src, t)
		})
		return []*ir.Tensor{y}, nil
	}), nil
}

// qLookupFloat is QLookup with a float32 table of 256 values per channel (axis 1 of x, table shape [C, 256]):
// y[n, c, …] = table[c, byte(x[n, c, …])], the DQ → per-channel float ops regions of opt's
// fuse_qdq_lookup_float.
func qLookupFloat(ctx *Ctx, x, table *ir.Tensor) ([]*ir.Tensor, error) {
	if x.Rank() < 2 {
		return nil, Invalidf("a per-channel table needs an input of rank 2 or more, got %v", x.Shape)
	}
	C := x.Shape[1]
	if table.Rank() != 2 || table.Shape[0] != C || table.Shape[1] != 256 {
		return nil, Invalidf("float32 table of shape %v, want [%d 256] for input %v", table.Shape, C, x.Shape)
	}
	y := ctx.allocRaw(ir.Float32, x.Shape...) // every element is written
	plane := 1
	for _, d := range x.Shape[2:] {
		plane *= d
	}
	xs, ys, tf := x.Bytes(), y.F32(), table.F32()
	const chunk = 1 << 14
	per := (plane + chunk - 1) / chunk
	ctx.Par.Run(x.Shape[0]*C*per, func(t int) {
		pl, k := t/per, t%per
		t0 := pl % C * 256
		tab := (*[256]float32)(tf[t0 : t0+256])
		lo, hi := pl*plane+k*chunk, pl*plane+min(plane, (k+1)*chunk)
		src, dst := xs[lo:hi], ys[lo:hi]
		dst = dst[:len(src)]
		for i, v := range src {
			dst[i] = tab[v]
		}
	})
	return []*ir.Tensor{y}, nil
}
