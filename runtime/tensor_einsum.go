package runtime

import (
	"fmt"
	"sort"
	"strings"

	"github.com/hone-ml/hone/ir"
)

// tEinsumSpec is a parsed Einsum equation: one label list per operand and for the output. Labels are letters;
// dimensions covered by an ellipsis get labels 256, 257, … so they cannot clash with letters.
type tEinsumSpec struct {
	in  [][]int
	out []int
}

// tParseEinsum parses an equation against the operands' ranks. Without "->" the output is the ellipsis
// followed by the labels used once, in alphabetical order (NumPy's implicit mode).
func tParseEinsum(eq string, ranks []int) (*tEinsumSpec, error) {
	eq = strings.ReplaceAll(eq, " ", "")
	lhs, rhs, explicit := strings.Cut(eq, "->")
	terms := strings.Split(lhs, ",")
	if len(terms) != len(ranks) {
		return nil, Invalidf("equation %q has %d operands, got %d inputs", eq, len(terms), len(ranks))
	}
	sp := &tEinsumSpec{}
	// The ellipsis covers the most dimensions any operand gives it; shorter ones align to the right (broadcast).
	ellRank := 0
	for i, t := range terms {
		if strings.Contains(t, "...") {
			ellRank = max(ellRank, ranks[i]-(len(t)-3))
		}
	}
	parse := func(term string, rank int) ([]int, error) {
		var labels []int
		before, after, hasEll := strings.Cut(term, "...")
		for _, c := range before + after {
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
				return nil, Invalidf("equation %q: bad label %q", eq, c)
			}
		}
		if !hasEll {
			for _, c := range term {
				labels = append(labels, int(c))
			}
			if rank >= 0 && len(labels) != rank {
				return nil, Invalidf("equation %q: term %q does not match rank %d", eq, term, rank)
			}
			return labels, nil
		}
		n := ellRank
		if rank >= 0 {
			n = rank - len(before) - len(after)
			if n < 0 {
				return nil, Invalidf("equation %q: term %q does not match rank %d", eq, term, rank)
			}
		}
		for _, c := range before {
			labels = append(labels, int(c))
		}
		for i := 0; i < n; i++ {
			labels = append(labels, 256+ellRank-n+i)
		}
		for _, c := range after {
			labels = append(labels, int(c))
		}
		return labels, nil
	}
	for i, t := range terms {
		l, err := parse(t, ranks[i])
		if err != nil {
			return nil, err
		}
		sp.in = append(sp.in, l)
	}
	if explicit {
		l, err := parse(rhs, -1)
		if err != nil {
			return nil, err
		}
		sp.out = l
	} else {
		count := map[int]int{}
		for _, l := range sp.in {
			for _, c := range l {
				count[c]++
			}
		}
		for i := 0; i < ellRank; i++ {
			sp.out = append(sp.out, 256+i)
		}
		var once []int
		for c, n := range count {
			if n == 1 && c < 256 {
				once = append(once, c)
			}
		}
		sort.Ints(once)
		sp.out = append(sp.out, once...)
	}
	return sp, nil
}

// tEinsum builds Einsum. It evaluates the equation directly, accumulating in float64 over every combination of
// labels: general (diagonals, broadcasting ellipses, any number of operands) and exact, but without matmul speed.
func tEinsum(b *BuildCtx) (Kernel, error) {
	eq := b.Node.AttrString("equation", "")
	if eq == "" {
		return nil, Invalidf("attribute equation is required")
	}
	return KernelFunc(func(ctx *Ctx, in []*ir.Tensor) ([]*ir.Tensor, error) {
		if err := tNeed(in, len(in)); err != nil {
			return nil, err
		}
		if err := tNeed(in, 1); err != nil {
			return nil, err
		}
		if err := tCheckStorage(in...); err != nil {
			return nil, err
		}
		ranks := make([]int, len(in))
		for i, t := range in {
			if t.DType != in[0].DType {
				return nil, Invalidf("input dtypes differ: %s and %s", in[0].DType, t.DType)
			}
			if !t.DType.IsFloat() && !t.DType.IsInt() {
				return nil, Unsupportedf("dtype %s", t.DType)
			}
			ranks[i] = len(t.Shape)
		}
		sp, err := tParseEinsum(eq, ranks)
		if err != nil {
			return nil, err
		}
		size := map[int]int{}
		for k, l := range sp.in {
			for j, c := range l {
				d := in[k].Shape[j]
				if s, ok := size[c]; ok && s != d {
					switch {
					case s == 1 && c >= 256:
						size[c] = d
					case d == 1 && c >= 256:
					default:
						return nil, Invalidf("equation %q: label %s has sizes %d and %d", eq, tLabel(c), s, d)
					}
				} else if !ok {
					size[c] = d
				}
			}
		}
		// Loop order: output labels, then the summed ones.
		var labels []int
		seen := map[int]bool{}
		for _, c := range sp.out {
			if _, ok := size[c]; !ok {
				return nil, Invalidf("equation %q: output label %s appears in no input", eq, tLabel(c))
			}
			if seen[c] {
				return nil, Invalidf("equation %q: output label %s repeated", eq, tLabel(c))
			}
			seen[c] = true
			labels = append(labels, c)
		}
		var summed []int
		for c := range size {
			if !seen[c] {
				summed = append(summed, c)
			}
		}
		sort.Ints(summed)
		labels = append(labels, summed...)
		dims := make([]int, len(labels))
		pos := map[int]int{}
		for i, c := range labels {
			dims[i], pos[c] = size[c], i
		}
		// st[k][i]: stride of operand k along loop label i (summed over repeats: diagonals; 0 if broadcast).
		st := make([][]int, len(in)+1)
		for k, l := range sp.in {
			st[k] = make([]int, len(labels))
			xs := tStrides(in[k].Shape)
			for j, c := range l {
				if in[k].Shape[j] != 1 || size[c] == 1 {
					st[k][pos[c]] += xs[j]
				}
			}
		}
		oshape := make([]int, len(sp.out))
		for i, c := range sp.out {
			oshape[i] = size[c]
		}
		st[len(in)] = make([]int, len(labels))
		copy(st[len(in)], tStrides(oshape))
		vals := make([][]float64, len(in))
		for k, t := range in {
			vals[k] = tRawOrF64(t)
			if t.DType.IsInt() {
				vals[k] = t.Float64s()
			}
		}
		acc := make([]float64, tProd(oshape))
		total := tProd(dims)
		if total > 0 {
			idx := make([]int, len(dims))
			off := make([]int, len(in)+1)
			for n := 0; n < total; n++ {
				p := 1.0
				for k := range in {
					p *= vals[k][off[k]]
				}
				acc[off[len(in)]] += p
				for d := len(dims) - 1; d >= 0; d-- {
					idx[d]++
					for k := range off {
						off[k] += st[k][d]
					}
					if idx[d] < dims[d] {
						break
					}
					for k := range off {
						off[k] -= st[k][d] * dims[d]
					}
					idx[d] = 0
				}
			}
		}
		f := ir.New(ir.Float64, oshape...)
		copy(f.F64(), acc)
		return tOut(tCast(ctx, f, in[0].DType))
	}), nil
}

func tLabel(c int) string {
	if c >= 256 {
		return fmt.Sprintf("...%d", c-256)
	}
	return string(rune(c))
}

// tUnique builds Unique: distinct elements (or slices along axis) with first-occurrence indices, inverse
// indices and counts; sorted=1 orders them ascending (lexicographically for slices), else by first occurrence.
func tUnique(b *BuildCtx) (Kernel, error) {
	sorted := b.Node.AttrInt("sorted", 1) != 0
	hasAxis := b.Node.Attr("axis") != nil
	axis := b.Node.AttrInt("axis", 0)
	return KernelFunc(func(ctx *Ctx, in []*ir.Tensor) ([]*ir.Tensor, error) {
		if err := tNeed(in, 1); err != nil {
			return nil, err
		}
		x := in[0]
		if err := tCheckStorage(x); err != nil {
			return nil, err
		}
		if err := tMovable(x.DType); err != nil {
			return nil, err
		}
		shape := []int{x.Len()}
		a := 0
		if hasAxis {
			shape = x.Shape
			var err error
			if a, err = tAxis(axis, len(shape)); err != nil {
				return nil, err
			}
		}
		outer, dim, inner := tProd(shape[:a]), shape[a], tProd(shape[a+1:])
		// Slice k holds elements (o, k, i); its key is their bytes (or strings) in order.
		src := tElemsOf(x)
		key := func(k int) string {
			var sb strings.Builder
			for o := 0; o < outer; o++ {
				s := (o*dim + k) * inner
				if src.s != nil {
					for _, v := range src.s[s : s+inner] {
						sb.WriteString(v)
						sb.WriteByte(0)
					}
				} else {
					sb.Write(src.b[s*src.es : (s+inner)*src.es])
				}
			}
			return sb.String()
		}
		var first, counts []int
		inverse := make([]int, dim)
		ids := map[string]int{}
		for k := 0; k < dim; k++ {
			kk := key(k)
			u, ok := ids[kk]
			if !ok {
				u = len(first)
				ids[kk] = u
				first = append(first, k)
				counts = append(counts, 0)
			}
			inverse[k] = u
			counts[u]++
		}
		order := make([]int, len(first))
		for i := range order {
			order[i] = i
		}
		if sorted {
			var fv []float64
			if x.DType != ir.String {
				fv = tToF32Any(x)
			}
			less := func(p, q int) bool {
				kp, kq := first[order[p]], first[order[q]]
				for o := 0; o < outer; o++ {
					for i := 0; i < inner; i++ {
						sp, sq := (o*dim+kp)*inner+i, (o*dim+kq)*inner+i
						if fv == nil {
							if src.s[sp] != src.s[sq] {
								return src.s[sp] < src.s[sq]
							}
						} else if fv[sp] != fv[sq] {
							return fv[sp] < fv[sq]
						}
					}
				}
				return false
			}
			sort.SliceStable(order, less)
		}
		rank := make([]int, len(order))
		for r, u := range order {
			rank[u] = r
		}
		oshape := append([]int(nil), shape...)
		oshape[a] = len(order)
		y := ctx.Alloc(x.DType, oshape...)
		dst := tElemsOf(y)
		for r, u := range order {
			for o := 0; o < outer; o++ {
				dst.copy((o*len(order)+r)*inner, src, (o*dim+first[u])*inner, inner)
			}
		}
		ind := ctx.Alloc(ir.Int64, len(order))
		cnt := ctx.Alloc(ir.Int64, len(order))
		for r, u := range order {
			ind.I64()[r] = int64(first[u])
			cnt.I64()[r] = int64(counts[u])
		}
		inv := ctx.Alloc(ir.Int64, dim)
		for k, u := range inverse {
			inv.I64()[k] = int64(rank[u])
		}
		return []*ir.Tensor{y, ind, inv, cnt}, nil
	}), nil
}
