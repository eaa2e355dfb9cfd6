package opt

import "github.com/hone-ml/hone/ir"

// fuseMatMulTranspose folds the Transposes around a float MatMul — of either operand and of its result — into
// hone's MatMulPerm, which reads and writes them with strides instead of copying: attention's head transposes
// (Q and V to [B, H, S, D], K to [B, H, D, S], the result back to [B, S, H, D]) are 5–6 % of BERT-tiny's time as
// separate copies. A Transpose is folded when the MatMul is its only reader and the strided form exists: an
// operand's last source dim must land in one of its two matrix dims (a unit stride for Sgemm's row-major or
// transposed form), and the result's last dim must stay last. The operands must have the same known rank; where
// their batch dims turn out to broadcast, MatMulPerm copies as the Transposes did. The products are the same
// Sgemm calls on the same values, so the result is bit-identical.
var fuseMatMulTranspose = Pass{
	Name:    "fuse_matmul_transpose",
	Ops:     []string{"MatMul"},
	Creates: []OpRef{{ir.DomainHone, ir.OpMatMulPerm}},
	Match: func(c *Ctx, n *ir.Node) bool {
		_, ok := matMulTransposes(c, n)
		return ok
	},
	Apply: func(c *Ctx, n *ir.Node) (bool, error) {
		m, ok := matMulTransposes(c, n)
		if !ok {
			return false, nil
		}
		in, out := []string{n.Inputs[0], n.Inputs[1]}, n.Outputs[0]
		var attrs []*ir.Attr
		for i, name := range []string{"perm_a", "perm_b", "perm_y"} {
			t := m[i]
			if t == nil {
				continue
			}
			attrs = append(attrs, &ir.Attr{Name: name, Type: ir.AttrInts, Ints: t.AttrInts("perm", nil)})
			if i < 2 {
				in[i] = t.Inputs[0]
			} else {
				out = t.Outputs[0]
			}
		}
		c.G.InsertBefore(n, &ir.Node{Name: n.Name, OpType: ir.OpMatMulPerm, Domain: ir.DomainHone, Inputs: in,
			Outputs: []string{out}, Attrs: attrs})
		for _, r := range append([]*ir.Node{n}, m[:]...) {
			if r != nil {
				c.G.RemoveNode(r)
			}
		}
		return true, nil
	},
}

// matMulTransposes returns the Transposes MatMul n can fold — of A, of B and of its result, nil where none —
// and whether there is at least one.
func matMulTransposes(c *Ctx, n *ir.Node) ([3]*ir.Node, bool) {
	var m [3]*ir.Node
	if !n.IsDefaultDomain() || len(n.Inputs) != 2 || len(n.Outputs) != 1 || !isFloat32(c, n.Outputs[0]) {
		return m, false
	}
	ta, okA := c.G.TypeOfValue(n.Inputs[0])
	tb, okB := c.G.TypeOfValue(n.Inputs[1])
	if !okA || !okB || !ta.HasShape || !tb.HasShape || len(ta.Shape) < 2 || len(ta.Shape) != len(tb.Shape) {
		return m, false
	}
	r := len(ta.Shape)
	// transposeOf is p's perm when p is a Transpose with an explicit perm of rank r.
	transposeOf := func(p *ir.Node) []int64 {
		if p == nil || p.OpType != "Transpose" || !p.IsDefaultDomain() || len(p.Outputs) != 1 {
			return nil
		}
		perm := p.AttrInts("perm", nil)
		if len(perm) != r {
			return nil
		}
		return perm
	}
	for i, v := range n.Inputs {
		p := c.Producer(v)
		perm := transposeOf(p)
		if perm == nil || c.SoleConsumer(v) != n || c.IsOutput(v) {
			continue
		}
		if perm[r-1] == int64(r-1) || perm[r-2] == int64(r-1) { // the source's unit stride stays in the matrix
			m[i] = p
		}
	}
	if t := c.SoleConsumer(n.Outputs[0]); t != nil && !c.IsOutput(n.Outputs[0]) {
		if perm := transposeOf(t); perm != nil && perm[r-1] == int64(r-1) {
			m[2] = t
		}
	}
	return m, m[0] != nil || m[1] != nil || m[2] != nil
}
