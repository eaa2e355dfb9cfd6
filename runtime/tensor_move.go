package runtime

import (
	"github.com/hone-ml/hone/ir"
)

// tElems is a dtype-agnostic view of a tensor's elements for data movement: bytes with an element size, or
// strings. Movement ops (Concat, Gather, Split, …) copy runs through it and so support every dtype at once.
type tElems struct {
	b  []byte
	s  []string
	es int
}

func tElemsOf(t *ir.Tensor) tElems {
	if t.DType == ir.String {
		return tElems{s: t.Strings}
	}
	return tElems{b: t.Bytes(), es: t.DType.Size()}
}

// copy copies n elements from src[so:] to e[do:].
func (e tElems) copy(do int, src tElems, so, n int) {
	if e.s != nil || src.s != nil {
		copy(e.s[do:do+n], src.s[so:so+n])
		return
	}
	copy(e.b[do*e.es:(do+n)*e.es], src.b[so*e.es:(so+n)*e.es])
}

// tMovable reports whether a dtype can be moved element by element (everything but complex types).
func tMovable(d ir.DType) error {
	switch {
	case d == ir.String:
		return nil
	case d.Size() == 1, d.Size() == 2, d.Size() == 4, d.Size() == 8:
		return nil
	}
	return Unsupportedf("dtype %s", d)
}

// tStridedCopy fills dst (contiguous, of the given shape) from a strided view of src:
// dst[i₀,…,iₙ] = src[base + Σ i_d·strides[d]]. Transpose, Slice, Expand, Tile and DepthToSpace are all this
// copy with different strides. Strides may be zero (broadcast) or negative (reversed slices).
func tStridedCopy(ctx *Ctx, dst, src *ir.Tensor, shape, strides []int, base int) error {
	if err := tMovable(src.DType); err != nil {
		return err
	}
	// Merge dims the view walks contiguously and drop size-1 dims.
	var dims, st []int
	for i, d := range shape {
		if d == 1 {
			continue
		}
		if d == 0 {
			return nil
		}
		if n := len(dims); n > 0 && st[n-1] == strides[i]*d {
			dims[n-1] *= d
			st[n-1] = strides[i]
			continue
		}
		dims = append(dims, d)
		st = append(st, strides[i])
	}
	if len(dims) == 0 {
		dims, st = []int{1}, []int{0}
	}
	switch es := src.DType.Size(); {
	case src.DType == ir.String:
		tStridedT(ctx, dst.Strings, src.Strings, dims, st, base)
	case es == 1:
		tStridedT(ctx, tRaw[uint8](dst), tRaw[uint8](src), dims, st, base)
	case es == 2:
		tStridedT(ctx, tRaw[uint16](dst), tRaw[uint16](src), dims, st, base)
	case es == 4:
		tStridedT(ctx, tRaw[uint32](dst), tRaw[uint32](src), dims, st, base)
	case es == 8:
		tStridedT(ctx, tRaw[uint64](dst), tRaw[uint64](src), dims, st, base)
	}
	return nil
}

func tStridedT[T any](ctx *Ctx, dst, src []T, dims, st []int, base int) {
	nd := len(dims)
	inner, is := dims[nd-1], st[nd-1]
	rows := tProd(dims[:nd-1])
	if is != 1 && is != 0 && inner >= 8 {
		for k := 0; k < nd-1; k++ {
			if st[k] == 1 && dims[k] >= 8 {
				tTileTranspose(ctx, dst, src, dims, st, base, k)
				return
			}
		}
	}
	tParRows(ctx, rows, inner, func(r0, r1 int) {
		idx := make([]int, nd-1)
		off := base
		rem := r0
		for k := nd - 2; k >= 0; k-- {
			idx[k] = rem % dims[k]
			rem /= dims[k]
			off += idx[k] * st[k]
		}
		for r := r0; r < r1; r++ {
			d := dst[r*inner : (r+1)*inner]
			switch is {
			case 1:
				copy(d, src[off:off+inner])
			case 0:
				v := src[off]
				for i := range d {
					d[i] = v
				}
			default:
				s := off
				for i := range d {
					d[i] = src[s]
					s += is
				}
			}
			for k := nd - 2; k >= 0; k-- {
				idx[k]++
				off += st[k]
				if idx[k] < dims[k] {
					break
				}
				off -= st[k] * dims[k]
				idx[k] = 0
			}
		}
	})
}

// tPermute returns x (viewed with shape) with its axes permuted: out.shape[i] = shape[perm[i]].
func tPermute(ctx *Ctx, x *ir.Tensor, shape []int, perm []int) (*ir.Tensor, error) {
	if len(perm) != len(shape) {
		return nil, Invalidf("perm %v does not match rank %d", perm, len(shape))
	}
	if tProd(shape) != x.Len() {
		return nil, Invalidf("cannot view %v as %v", x.Shape, shape)
	}
	st := tStrides(shape)
	seen := make([]bool, len(shape))
	oshape, ost := make([]int, len(perm)), make([]int, len(perm))
	for i, p := range perm {
		if p < 0 || p >= len(shape) || seen[p] {
			return nil, Invalidf("perm %v is not a permutation of 0..%d", perm, len(shape)-1)
		}
		seen[p] = true
		oshape[i], ost[i] = shape[p], st[p]
	}
	out := ctx.allocRaw(x.DType, oshape...) // the copy writes every element
	return out, tStridedCopy(ctx, out, x, oshape, ost, 0)
}

// tTileTranspose handles a view whose innermost output dim is strided in src while dim k is contiguous there
// (NCHW↔NHWC, 2-D transposes): it copies 32×32 tiles so both the reads and the writes stay within a few cache
// lines, instead of striding through src once per output element.
func tTileTranspose[T any](ctx *Ctx, dst, src []T, dims, st []int, base, k int) {
	const tile = 32
	nd := len(dims)
	inner, is := dims[nd-1], st[nd-1]
	ost := tStrides(dims)
	var odims []int // the remaining dims, walked by a counter
	for d := 0; d < nd-1; d++ {
		if d != k {
			odims = append(odims, d)
		}
	}
	other := 1
	for _, d := range odims {
		other *= dims[d]
	}
	tParRows(ctx, other, dims[k]*inner, func(r0, r1 int) {
		for r := r0; r < r1; r++ {
			sb, db, rem := base, 0, r
			for i := len(odims) - 1; i >= 0; i-- {
				d := odims[i]
				c := rem % dims[d]
				rem /= dims[d]
				sb += c * st[d]
				db += c * ost[d]
			}
			ka := ost[k]
			for a0 := 0; a0 < dims[k]; a0 += tile {
				a1 := min(a0+tile, dims[k])
				for b0 := 0; b0 < inner; b0 += tile {
					b1 := min(b0+tile, inner)
					for a := a0; a < a1; a++ {
						d := dst[db+a*ka+b0 : db+a*ka+b1]
						s := sb + a + b0*is
						for b := range d {
							d[b] = src[s]
							s += is
						}
					}
				}
			}
		}
	})
}
