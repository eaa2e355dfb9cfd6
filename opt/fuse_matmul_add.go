package opt

import "github.com/hone-ml/hone/ir"

// fuseMatMulAdd turns Add(MatMul(A, B), C) into Gemm(A, B, C) when A and B are 2-D and the constant C
// broadcasts to the [M, N] product without changing its shape (Gemm's C is only unidirectionally
// broadcastable). Gemm then adds the bias inside the GEMM instead of in a second pass.
var fuseMatMulAdd = Pass{
	Name:    "fuse_matmul_add",
	Ops:     []string{"MatMul"},
	Creates: []OpRef{{"", "Gemm"}},
	Match: func(c *Ctx, n *ir.Node) bool {
		_, _, ok := matMulAddMatch(c, n)
		return ok
	},
	Apply: func(c *Ctx, n *ir.Node) (bool, error) {
		add, bias, _ := matMulAddMatch(c, n)
		gemm := &ir.Node{Name: n.Name, OpType: "Gemm", Inputs: []string{n.Inputs[0], n.Inputs[1], bias},
			Outputs: []string{add.Outputs[0]}, Doc: n.Doc}
		c.G.InsertBefore(n, gemm)
		c.G.RemoveNode(n)
		c.G.RemoveNode(add)
		return true, nil
	},
}

func matMulAddMatch(c *Ctx, n *ir.Node) (*ir.Node, string, bool) {
	if len(n.Inputs) != 2 || len(n.Outputs) != 1 {
		return nil, "", false
	}
	ta, okA := c.G.TypeOfValue(n.Inputs[0])
	tb, okB := c.G.TypeOfValue(n.Inputs[1])
	if !okA || !okB || !ta.HasShape || !tb.HasShape || len(ta.Shape) != 2 || len(tb.Shape) != 2 ||
		ta.DType != ir.Float32 || tb.DType != ir.Float32 {
		return nil, "", false
	}
	add := c.SoleConsumer(n.Outputs[0])
	if add == nil || add.OpType != "Add" || !add.IsDefaultDomain() || len(add.Inputs) != 2 {
		return nil, "", false
	}
	bias := add.Inputs[1]
	if bias == n.Outputs[0] {
		bias = add.Inputs[0]
	}
	k := f32Const(c, bias)
	if k == nil || k.Rank() > 2 {
		return nil, "", false
	}
	dims := []ir.Dim{ta.Shape[0], tb.Shape[1]}
	for i, d := range k.Shape {
		want := dims[i+2-k.Rank()]
		if d != 1 && !(want.Known() && int64(d) == want.Size) {
			return nil, "", false
		}
	}
	return add, bias, true
}
