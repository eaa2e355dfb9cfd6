package runtime

import (
	"math"

	"github.com/hone-ml/hone/ir"
	"github.com/hone-ml/hone/kernels"
)

type nnPoolKind uint8

const (
	nnPoolMax nnPoolKind = iota
	nnPoolAvg
	nnPoolLp
)

// nnPool is a compiled MaxPool, AveragePool or LpPool node.
type nnPool struct {
	kind         nnPoolKind
	win          nnWindow
	includePad   bool    // AveragePool count_include_pad
	p            float64 // LpPool p
	colMajor     bool    // MaxPool storage_order=1 for Indices
	wantsIndices bool
}

func nnBuildPool(kind nnPoolKind) Builder {
	return func(b *BuildCtx) (Kernel, error) {
		n := b.Node
		win, err := nnParseWindow(n)
		if err != nil {
			return nil, err
		}
		if len(win.Kernel) == 0 {
			return nil, Invalidf("kernel_shape is required")
		}
		if len(win.Kernel) > 3 {
			return nil, Unsupportedf("%d-D pooling (up to 3-D is supported)", len(win.Kernel))
		}
		pl := &nnPool{kind: kind, win: win}
		switch kind {
		case nnPoolMax:
			so := n.AttrInt("storage_order", 0)
			if so != 0 && so != 1 {
				return nil, Invalidf("storage_order %d", so)
			}
			pl.colMajor = so == 1
			pl.wantsIndices = nnHasOutput(n, 1)
		case nnPoolAvg:
			pl.includePad = n.AttrInt("count_include_pad", 0) != 0
		case nnPoolLp:
			pl.p = float64(n.AttrInt("p", 2))
			if b.Opset < 2 {
				pl.p = float64(n.AttrFloat("p", 2))
			}
			if pl.p <= 0 {
				return nil, Invalidf("p %v must be positive", pl.p)
			}
		}
		return KernelFunc(pl.run), nil
	}
}

func (pl *nnPool) run(ctx *Ctx, in []*ir.Tensor) ([]*ir.Tensor, error) {
	x := nnInput(in, 0)
	if x == nil {
		return nil, Invalidf("missing input X")
	}
	switch {
	case nnIsFloat(x.DType):
	case pl.kind == nnPoolMax && (x.DType == ir.Int8 || x.DType == ir.Uint8):
	default:
		return nil, Unsupportedf("input dtype %s", x.DType)
	}
	nsp := len(pl.win.Kernel)
	if x.Rank() != nsp+2 {
		return nil, Invalidf("input of shape %v does not have %d spatial dims (kernel_shape %v)", x.Shape, nsp, pl.win.Kernel)
	}
	g, err := pl.win.resolve(x.Shape[2:], pl.win.Kernel)
	if err != nil {
		return nil, err
	}
	if pl.kind == nnPoolMax && !pl.wantsIndices {
		if y := qMaxPool8(ctx, x, g); y != nil { // 8-bit data stays in bytes (quant_pool.go)
			return []*ir.Tensor{y, nil}, nil
		}
	}
	xf, err := nnF32(x)
	if err != nil {
		return nil, err
	}
	N, C := x.Shape[0], x.Shape[1]
	o := nnAlloc(ctx, x.DType, append([]int{N, C}, g.Out...)...)
	var idx []int64
	var it *ir.Tensor
	if pl.wantsIndices {
		it = ctx.Alloc(ir.Int64, o.T.Shape...)
		idx = it.I64()
	}
	in3, out3 := nnTo3(g.In, 1), nnTo3(g.Out, 1)
	k3, s3, d3 := nnTo3(g.K, 1), nnTo3(g.S, 1), nnTo3(g.D, 1)
	pb3, pe3 := nnTo3(g.PadB, 0), nnTo3(g.PadE, 0)
	inPlane, outPlane := nnProd(in3[:]), nnProd(out3[:])
	// Element strides used for Indices: row-major, or column-major over the spatial dims (storage_order=1).
	st := [3]int{in3[1] * in3[2], in3[2], 1}
	if pl.colMajor {
		st = [3]int{1, in3[0], in3[0] * in3[1]}
	}
	if pl.kind == nnPoolMax && idx == nil && in3[0] == 1 && k3[0] == 1 && d3[1] == 1 && d3[2] == 1 {
		nnMaxPool2D(ctx, xf, o.F, N*C, in3[1], in3[2], out3[1], out3[2], k3[1], k3[2], s3[1], s3[2], pb3[1], pb3[2])
		return []*ir.Tensor{o.done(), it}, nil
	}
	if pl.kind == nnPoolAvg && in3[0] == 1 && k3[0] == 1 && d3[1] == 1 && d3[2] == 1 {
		nnAvgPool2D(ctx, xf, o.F, N*C, in3, out3, k3, s3, pb3, pe3, pl.includePad)
		return []*ir.Tensor{o.done(), it}, nil
	}
	nnParallel(ctx, N*C, outPlane*nnProd(k3[:]), func(j int) {
		src := xf[j*inPlane : (j+1)*inPlane]
		dst := o.F[j*outPlane : (j+1)*outPlane]
		var pos [3]int
		var lo, hi [3]int // first/last+1 tap index in range per dim
		for od := 0; od < out3[0]; od++ {
			for oh := 0; oh < out3[1]; oh++ {
				for ow := 0; ow < out3[2]; ow++ {
					pos = [3]int{od, oh, ow}
					count := 1 // taps counted by count_include_pad: inside input + pads
					for a := 0; a < 3; a++ {
						start := pos[a]*s3[a] - pb3[a]
						lo[a], hi[a] = nnTapRange(start, d3[a], k3[a], 0, in3[a])
						if pl.includePad {
							l, h := nnTapRange(start, d3[a], k3[a], -pb3[a], in3[a]+pe3[a])
							count *= h - l
						}
					}
					oi := (od*out3[1]+oh)*out3[2] + ow
					switch pl.kind {
					case nnPoolMax:
						best, bi := float32(math.Inf(-1)), -1
						for a := lo[0]; a < hi[0]; a++ {
							id := pos[0]*s3[0] - pb3[0] + a*d3[0]
							for b := lo[1]; b < hi[1]; b++ {
								ih := pos[1]*s3[1] - pb3[1] + b*d3[1]
								row := (id*in3[1] + ih) * in3[2]
								for c := lo[2]; c < hi[2]; c++ {
									iw := pos[2]*s3[2] - pb3[2] + c*d3[2]
									if v := src[row+iw]; v > best || bi < 0 {
										best, bi = v, id*st[0]+ih*st[1]+iw*st[2]
									}
								}
							}
						}
						dst[oi] = best
						if idx != nil {
							idx[j*outPlane+oi] = int64(j*inPlane + max(bi, 0))
						}
					default:
						var sum float64
						taps := 0
						for a := lo[0]; a < hi[0]; a++ {
							id := pos[0]*s3[0] - pb3[0] + a*d3[0]
							for b := lo[1]; b < hi[1]; b++ {
								ih := pos[1]*s3[1] - pb3[1] + b*d3[1]
								row := (id*in3[1] + ih) * in3[2]
								for c := lo[2]; c < hi[2]; c++ {
									v := float64(src[row+pos[2]*s3[2]-pb3[2]+c*d3[2]])
									if pl.kind == nnPoolLp {
										v = math.Pow(math.Abs(v), pl.p)
									}
									sum += v
									taps++
								}
							}
						}
						if pl.kind == nnPoolLp {
							dst[oi] = float32(math.Pow(sum, 1/pl.p))
						} else {
							if !pl.includePad {
								count = taps
							}
							dst[oi] = float32(sum / float64(max(count, 1)))
						}
					}
				}
			}
		}
	})
	return []*ir.Tensor{o.done(), it}, nil
}

// nnAvgPool2D is AveragePool over 2-D (or 1-D) planes without dilation: for each output row the input rows its
// windows cover are summed into one row (kernels.Add), and each window then sums its columns of that row. The
// general loop spent about 24 ns per output finding tap ranges (PP-OCRv4 rec's 3×2 pool: 0.46 ms for 19 200
// outputs). Sums are float32, as ONNX Runtime's are.
func nnAvgPool2D(ctx *Ctx, x, y []float32, planes int, in, out, k, s, pb, pe [3]int, includePad bool) {
	H, W, OH, OW := in[1], in[2], out[1], out[2]
	nnParallel(ctx, planes, OH*OW*k[1]*k[2], func(j int) {
		src, dst := x[j*H*W:(j+1)*H*W], y[j*OH*OW:(j+1)*OH*OW]
		acc := make([]float32, W)
		for oh := range OH {
			start := oh*s[1] - pb[1]
			r0, r1, rows := nnAvgSpan(start, k[1], H, pb[1], pe[1], includePad)
			if r1 > r0 {
				copy(acc, src[(start+r0)*W:(start+r0+1)*W])
				for r := start + r0 + 1; r < start+r1; r++ {
					kernels.Add(acc, acc, src[r*W:(r+1)*W])
				}
			} else {
				clear(acc)
			}
			for ow := range OW {
				cs := ow*s[2] - pb[2]
				c0, c1, cols := nnAvgSpan(cs, k[2], W, pb[2], pe[2], includePad)
				var sum float32
				for _, v := range acc[cs+c0 : cs+c1] {
					sum += v
				}
				dst[oh*OW+ow] = sum / float32(max(rows*cols, 1))
			}
		}
	})
}

// nnAvgSpan returns the taps [lo, hi) of a window starting at start that fall inside an axis of n values, and
// how many taps the average divides by: those, or with count_include_pad those inside the padded axis.
func nnAvgSpan(start, k, n, padB, padE int, includePad bool) (lo, hi, count int) {
	lo, hi = nnTapRange(start, 1, k, 0, n)
	count = hi - lo
	if includePad {
		l, h := nnTapRange(start, 1, k, -padB, n+padE)
		count = h - l
	}
	return lo, hi, count
}

// nnTapRange returns the range [lo, hi) of tap numbers k (0 ≤ k < taps) whose position start + k·dil lies in
// [from, to).
func nnTapRange(start, dil, taps, from, to int) (int, int) {
	lo := 0
	if start < from {
		lo = (from - start + dil - 1) / dil
	}
	hi := taps
	if last := start + (taps-1)*dil; last >= to {
		hi = (to - start + dil - 1) / dil
	}
	if hi < lo {
		hi = lo
	}
	return lo, hi
}

// nnBuildGlobalPool compiles GlobalAveragePool, GlobalMaxPool and GlobalLpPool: one value per (n, c) plane.
func nnBuildGlobalPool(kind nnPoolKind) Builder {
	return func(b *BuildCtx) (Kernel, error) {
		p := float64(b.Node.AttrInt("p", 2))
		if b.Opset < 2 && kind == nnPoolLp {
			p = float64(b.Node.AttrFloat("p", 2))
		}
		return KernelFunc(func(ctx *Ctx, in []*ir.Tensor) ([]*ir.Tensor, error) {
			x, err := nnFloatInput(in, 0, "X")
			if err != nil {
				return nil, err
			}
			if x.Rank() < 2 {
				return nil, Invalidf("input of shape %v needs at least 2 dims", x.Shape)
			}
			xf, err := nnF32(x)
			if err != nil {
				return nil, err
			}
			shape := append([]int(nil), x.Shape...)
			for i := 2; i < len(shape); i++ {
				shape[i] = 1
			}
			nc, plane := x.Shape[0]*x.Shape[1], nnProd(x.Shape[2:])
			o := nnAlloc(ctx, x.DType, shape...)
			nnParallel(ctx, nc, plane, func(j int) {
				src := xf[j*plane : (j+1)*plane]
				switch kind {
				case nnPoolMax:
					o.F[j] = nnMax32(src)
				case nnPoolAvg:
					o.F[j] = float32(nnSum64(src) / float64(plane))
				default:
					var s float64
					for _, v := range src {
						s += math.Pow(math.Abs(float64(v)), p)
					}
					o.F[j] = float32(math.Pow(s, 1/p))
				}
			})
			return []*ir.Tensor{o.done()}, nil
		}), nil
	}
}

// nnSum64 sums x in float64 with four independent accumulators, so the adds overlap instead of waiting on one
// another's latency (4× faster on SE-block sized planes; the float64 total is as accurate as before).
func nnSum64(x []float32) float64 {
	var s0, s1, s2, s3 float64
	i := 0
	for ; i+4 <= len(x); i += 4 {
		v := x[i : i+4 : i+4]
		s0 += float64(v[0])
		s1 += float64(v[1])
		s2 += float64(v[2])
		s3 += float64(v[3])
	}
	for ; i < len(x); i++ {
		s0 += float64(x[i])
	}
	return (s0 + s1) + (s2 + s3)
}

// nnMax32 is the largest element of x (-Inf when empty); a NaN anywhere makes it NaN, as Go's max does.
func nnMax32(x []float32) float32 {
	inf := float32(math.Inf(-1))
	m0, m1, m2, m3 := inf, inf, inf, inf
	i := 0
	for ; i+4 <= len(x); i += 4 {
		v := x[i : i+4 : i+4]
		m0, m1, m2, m3 = max(m0, v[0]), max(m1, v[1]), max(m2, v[2]), max(m3, v[3])
	}
	for ; i < len(x); i++ {
		m0 = max(m0, x[i])
	}
	return max(max(m0, m1), max(m2, m3))
}

// nnMaxPool2D is MaxPool over planes of H×W without dilation or indices (ResNet's 3×3/2 stem pool), done
// separably: a vectorised column maximum over the window's rows (kernels.Max), then a vectorised row pass over the
// outputs whose windows lie inside the row (kernels.MaxPoolRow) and a short scan for the padded edge outputs.
// Ties and NaN behave as in the general loop: the first in-range tap seeds the maximum and later ones replace it
// only if greater (the rule of both kernels), so a NaN seed stays and later NaNs are ignored. Separable order
// matches that loop except where a NaN tops a column, so output rows whose column maxima hold a NaN are redone
// tap by tap.
func nnMaxPool2D(ctx *Ctx, x, y []float32, planes, H, W, OH, OW, KH, KW, SH, SW, PH, PW int) {
	colLo, colHi := make([]int, OW), make([]int, OW)
	for ow := range colLo {
		lo, hi := nnTapRange(ow*SW-PW, 1, KW, 0, W)
		colLo[ow], colHi[ow] = ow*SW-PW+lo, ow*SW-PW+hi
	}
	// Outputs [inLo, inHi) have every tap inside the row and go to kernels.MaxPoolRow; the rest are edges.
	inLo := min((PW+SW-1)/SW, OW)
	inHi := max(min((W+PW-KW)/SW+1, OW), inLo)
	if W+PW < KW || inLo == inHi {
		inLo, inHi = OW, OW // no interior: the edge scan does every output
	}
	negInf := float32(math.Inf(-1))
	nnParallel(ctx, planes, OH*OW*KH*KW, func(j int) {
		src, dst := x[j*H*W:(j+1)*H*W], y[j*OH*OW:(j+1)*OH*OW]
		// One spare slot past the row lets the stride-2 kernel finish its ragged tail with a full vector; the
		// spare only reaches windows it discards.
		colMax := make([]float32, W+1)
		for oh := 0; oh < OH; oh++ {
			ih0 := oh*SH - PH
			lo, hi := nnTapRange(ih0, 1, KH, 0, H)
			drow := dst[oh*OW : (oh+1)*OW]
			if lo >= hi {
				for ow := range drow {
					drow[ow] = negInf
				}
				continue
			}
			copy(colMax, src[(ih0+lo)*W:(ih0+lo+1)*W])
			for kh := lo + 1; kh < hi; kh++ {
				kernels.Max(colMax[:W], src[(ih0+kh)*W:(ih0+kh+1)*W], colMax)
			}
			if kernels.AnyNaN(colMax[:W]) {
				// A NaN on a window's top row sticks in its column maximum and would hide the rows below it from the
				// windows it does not seed; redo this row tap by tap in row-major order, as the general loop does.
				for ow := range drow {
					best, seen := negInf, false
					for ih := ih0 + lo; ih < ih0+hi; ih++ {
						for _, v := range src[ih*W+colLo[ow] : ih*W+colHi[ow]] {
							if !seen || v > best {
								best, seen = v, true
							}
						}
					}
					drow[ow] = best
				}
				continue
			}
			if inLo < inHi {
				kernels.MaxPoolRow(drow[inLo:inHi], colMax[inLo*SW-PW:], KW, SW)
			}
			for ow := 0; ow < OW; ow++ {
				if ow == inLo {
					ow = inHi // done above
					if ow == OW {
						break
					}
				}
				c0, c1 := colLo[ow], colHi[ow]
				if c0 >= c1 {
					drow[ow] = negInf
					continue
				}
				best := colMax[c0]
				for _, v := range colMax[c0+1 : c1] {
					if v > best {
						best = v
					}
				}
				drow[ow] = best
			}
		}
	})
}
