package runtime

import (
	"github.com/hone-ml/hone/kernels"
)

// tBcast is a compiled NumPy multidirectional broadcast of several input shapes. Adjacent dimensions that every
// input walks the same way are merged, so the common cases collapse to one loop: same shapes → one run; a
// per-channel bias on NCHW → runs of H·W against a scalar; a trailing vector → rows against the vector.
type tBcast struct {
	shape []int   // output shape
	dims  []int   // merged dims; the last is the inner run
	st    [][]int // st[k][d]: element stride of input k along merged dim d (0 where broadcast)
	total int
}

func tBroadcast(shapes ...[]int) (*tBcast, error) {
	r := 0
	for _, s := range shapes {
		r = max(r, len(s))
	}
	out := make([]int, r)
	for i := range out {
		out[i] = 1
	}
	for _, s := range shapes {
		off := r - len(s)
		for i, d := range s {
			if d < 0 {
				return nil, Invalidf("negative dimension in shape %v", s)
			}
			switch o := out[off+i]; {
			case d == o || d == 1:
			case o == 1:
				out[off+i] = d
			default:
				return nil, Invalidf("shapes %v cannot be broadcast together (dimension %d is %d vs %d)", shapes, off+i, o, d)
			}
		}
	}
	p := &tBcast{shape: out, total: tProd(out), st: make([][]int, len(shapes))}
	full := make([][]int, len(shapes))
	for k, s := range shapes {
		full[k] = make([]int, r)
		off := r - len(s)
		stride := 1
		for i := len(s) - 1; i >= 0; i-- {
			if s[i] != 1 {
				full[k][off+i] = stride
			}
			stride *= s[i]
		}
	}
	// Merge: drop size-1 output dims, then fuse dim i into the previous one when every input's strides agree.
	for i := 0; i < r; i++ {
		if out[i] == 1 {
			continue
		}
		last := len(p.dims) - 1
		if last >= 0 {
			ok := true
			for k := range shapes {
				if p.st[k][last] != full[k][i]*out[i] {
					ok = false
					break
				}
			}
			if ok {
				p.dims[last] *= out[i]
				for k := range shapes {
					p.st[k][last] = full[k][i]
				}
				continue
			}
		}
		p.dims = append(p.dims, out[i])
		for k := range shapes {
			p.st[k] = append(p.st[k], full[k][i])
		}
	}
	if len(p.dims) == 0 {
		p.dims = []int{1}
		for k := range shapes {
			p.st[k] = []int{0}
		}
	}
	return p, nil
}

// inner returns the inner-run stride of input k (0 or 1).
func (p *tBcast) inner(k int) int { return p.st[k][len(p.dims)-1] }

// tParChunk is the number of output elements below which a loop stays on one thread.
const tParChunk = 1 << 15

// tParallel splits [0,n) into chunks of at least tParChunk elements and runs them on par (nil: sequentially).
func tParallel(par kernels.Runner, threads, n int, fn func(lo, hi int)) {
	chunks := 1
	if par != nil && threads > 1 && n >= 2*tParChunk {
		chunks = min(threads*4, n/tParChunk)
	}
	if chunks <= 1 {
		fn(0, n)
		return
	}
	par.Run(chunks, func(c int) {
		fn(n*c/chunks, n*(c+1)/chunks)
	})
}

// run calls fn for each run of consecutive output elements [o, o+n) that walks every input with its inner
// stride from offsets off; off is reused between calls.
func (p *tBcast) run(ctx *Ctx, fn func(o int, off []int, n int)) {
	var par kernels.Runner
	threads := 1
	if ctx != nil {
		par, threads = ctx.Par, ctx.Threads
	}
	nd := len(p.dims)
	in := p.dims[nd-1]
	tParallel(par, threads, p.total, func(lo, hi int) {
		if lo >= hi {
			return
		}
		idx := make([]int, nd)
		off := make([]int, len(p.st))
		// Decompose lo into the merged index and the inputs' offsets.
		rem := lo
		for d := nd - 1; d >= 0; d-- {
			idx[d] = rem % p.dims[d]
			rem /= p.dims[d]
		}
		for k := range p.st {
			for d := 0; d < nd; d++ {
				off[k] += idx[d] * p.st[k][d]
			}
		}
		for o := lo; o < hi; {
			n := min(in-idx[nd-1], hi-o)
			fn(o, off, n)
			o += n
			// Advance the index by n (to the start of the next row, or to hi).
			idx[nd-1] += n
			for k := range off {
				off[k] += n * p.st[k][nd-1]
			}
			for d := nd - 1; d > 0 && idx[d] == p.dims[d]; d-- {
				idx[d] = 0
				idx[d-1]++
				for k := range off {
					off[k] += p.st[k][d-1] - p.dims[d]*p.st[k][d]
				}
			}
		}
	})
}

// tParRows splits rows of rowLen elements into chunks for ctx.Par when the total is large enough to pay for it.
func tParRows(ctx *Ctx, rows, rowLen int, fn func(r0, r1 int)) {
	chunks := 1
	if ctx != nil && ctx.Par != nil && ctx.Threads > 1 && rows*rowLen >= 2*tParChunk {
		chunks = min(ctx.Threads*4, rows)
	}
	if chunks <= 1 {
		if rows > 0 {
			fn(0, rows)
		}
		return
	}
	ctx.Par.Run(chunks, func(c int) {
		if r0, r1 := rows*c/chunks, rows*(c+1)/chunks; r0 < r1 {
			fn(r0, r1)
		}
	})
}
