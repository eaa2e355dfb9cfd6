package runtime

import (
	"github.com/hone-ml/hone/ir"
	"github.com/hone-ml/hone/kernels"
)

// qBuildLookup compiles hone's QLookup: y[i] = table[byte(x[i])] for an 8-bit x and a 256-entry 8-bit table,
// which replaces a DQ → elementwise float ops → Q region of one quantized tensor (opt's fuse_qdq_lookup).
func qBuildLookup(*BuildCtx) (Kernel, error) {
	return KernelFunc(func(ctx *Ctx, in []*ir.Tensor) ([]*ir.Tensor, error) {
		x, table := nnInput(in, 0), nnInput(in, 1)
		if x == nil || table == nil {
			return nil, Invalidf("QLookup needs x and a table")
		}
		if x.DType != ir.Int8 && x.DType != ir.Uint8 {
			return nil, Unsupportedf("input of dtype %s", x.DType)
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
