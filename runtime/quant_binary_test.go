package runtime

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/hone-ml/hone/internal/irtest"
	"github.com/hone-ml/hone/ir"
)

// qChainModel builds DQ(inputs…) → op → Q as separate ONNX nodes: the reference each fused 8-bit op must match.
// params holds (scale, zero point) per input and last the output's; attrs go on the op node.
func qChainModel(op string, inputs []string, params [][2]*ir.Tensor, attrs ...*ir.Attr) *ir.Model {
	g := ir.NewGraph("chain")
	var deq []string
	for i, name := range inputs {
		g.Inputs = append(g.Inputs, &ir.ValueInfo{Name: name})
		s, z := fmt.Sprintf("s%d", i), fmt.Sprintf("z%d", i)
		g.SetInitializer(s, params[i][0])
		g.SetInitializer(z, params[i][1])
		deq = append(deq, "d_"+name)
		g.Nodes = append(g.Nodes, &ir.Node{Name: "dq_" + name, OpType: "DequantizeLinear", Inputs: []string{name, s, z}, Outputs: []string{"d_" + name}})
	}
	last := params[len(params)-1]
	g.SetInitializer("sy", last[0])
	g.SetInitializer("zy", last[1])
	g.Nodes = append(g.Nodes,
		&ir.Node{Name: "op", OpType: op, Inputs: deq, Outputs: []string{"f"}, Attrs: attrs},
		&ir.Node{Name: "q", OpType: "QuantizeLinear", Inputs: []string{"f", "sy", "zy"}, Outputs: []string{"y"}})
	g.Outputs = []*ir.ValueInfo{{Name: "y"}}
	return &ir.Model{Graph: g, Opsets: []ir.OpsetImport{{Domain: "", Version: 13}, {Domain: ir.DomainMicrosoft, Version: 1}}}
}

// qRunModel compiles m without optimisation and runs it.
func qRunModel(t *testing.T, m *ir.Model, feeds map[string]*ir.Tensor) *ir.Tensor {
	t.Helper()
	p, err := Compile(m, Options{NoOptimize: true, Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	out, err := p.Run(feeds)
	if err != nil {
		t.Fatal(err)
	}
	return out["y"]
}

// qParam returns a scale and a zero point of dtype dt.
func qParam(r *rand.Rand, dt ir.DType) [2]*ir.Tensor {
	return [2]*ir.Tensor{ir.Scalar(float32(0.005 + r.Float64()*0.05)), qRandInt(r, dt)}
}

// TestQLinearBinaryVsChain checks QLinearAdd and QLinearMul against DQ → Add/Mul → Q on the same integers: equal
// shapes (the chunked path), per-channel and scalar operands on either side (the lookup path) and a general
// broadcast (the float fallback). The fused op computes the chain's float32 arithmetic, so every integer matches.
func TestQLinearBinaryVsChain(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	cases := []struct {
		a, b   []int
		da, db ir.DType
		dy     ir.DType
	}{
		{[]int{1, 3, 45, 101}, []int{1, 3, 45, 101}, ir.Int8, ir.Int8, ir.Int8},
		{[]int{2, 5, 7}, []int{2, 5, 7}, ir.Uint8, ir.Int8, ir.Uint8},
		{[]int{1, 24, 9, 13}, []int{1, 24, 1, 1}, ir.Int8, ir.Int8, ir.Int8},
		{[]int{24, 1, 1}, []int{2, 24, 9, 13}, ir.Uint8, ir.Int8, ir.Int8}, // A repeats over the batch: the float fallback
		{[]int{7, 1}, []int{7, 300}, ir.Int8, ir.Uint8, ir.Uint8},
		{[]int{}, []int{3, 4, 5}, ir.Uint8, ir.Uint8, ir.Int8},
		{[]int{1, 4, 6, 1}, []int{1, 1, 1, 5}, ir.Int8, ir.Int8, ir.Int8},
	}
	for _, op := range []string{"Add", "Mul"} {
		for i, c := range cases {
			t.Run(fmt.Sprintf("%s-%d", op, i), func(t *testing.T) {
				params := [][2]*ir.Tensor{qParam(r, c.da), qParam(r, c.db), qParam(r, c.dy)}
				feeds := map[string]*ir.Tensor{"a": qRandInt(r, c.da, c.a...), "b": qRandInt(r, c.db, c.b...)}
				want := qRunModel(t, qChainModel(op, []string{"a", "b"}, params), feeds)
				g := ir.NewGraph("fused")
				g.Inputs = []*ir.ValueInfo{{Name: "a"}, {Name: "b"}}
				names := []string{"a", "sa", "za", "b", "sb", "zb", "sy", "zy"}
				g.SetInitializer("sa", params[0][0])
				g.SetInitializer("za", params[0][1])
				g.SetInitializer("sb", params[1][0])
				g.SetInitializer("zb", params[1][1])
				g.SetInitializer("sy", params[2][0])
				g.SetInitializer("zy", params[2][1])
				g.Nodes = []*ir.Node{{Name: "f", OpType: "QLinear" + op, Domain: ir.DomainMicrosoft, Inputs: names, Outputs: []string{"y"}}}
				g.Outputs = []*ir.ValueInfo{{Name: "y"}}
				got := qRunModel(t, &ir.Model{Graph: g, Opsets: []ir.OpsetImport{{Domain: "", Version: 13}, {Domain: ir.DomainMicrosoft, Version: 1}}}, feeds)
				if got.DType != want.DType || fmt.Sprint(got.Shape) != fmt.Sprint(want.Shape) {
					t.Fatalf("got %s, want %s", got, want)
				}
				gv, wv := got.Float64s(), want.Float64s()
				for e := range wv {
					if gv[e] != wv[e] {
						t.Fatalf("element %d = %g, want %g", e, gv[e], wv[e])
					}
				}
			})
		}
	}
}

// TestQLinearBinaryBadInput checks that malformed QLinearAdd inputs give errors, not panics.
func TestQLinearBinaryBadInput(t *testing.T) {
	s, z := ir.Scalar(float32(0.1)), ir.New(ir.Int8)
	for name, feeds := range map[string]map[string]*ir.Tensor{
		"float A":         {"a": ir.FromFloat32([]int{2}, []float32{1, 2}), "b": ir.New(ir.Int8, 2), "sa": s, "za": z},
		"zero point type": {"a": ir.New(ir.Int8, 2), "b": ir.New(ir.Int8, 2), "sa": s, "za": ir.New(ir.Uint8)},
		"vector scale":    {"a": ir.New(ir.Int8, 2), "b": ir.New(ir.Int8, 2), "sa": ir.FromFloat32([]int{2}, []float32{1, 2}), "za": z},
		"no broadcast":    {"a": ir.New(ir.Int8, 2), "b": ir.New(ir.Int8, 3), "sa": s, "za": z},
	} {
		t.Run(name, func(t *testing.T) {
			n := &ir.Node{Name: "n0", OpType: "QLinearAdd", Domain: ir.DomainMicrosoft, Inputs: []string{"a", "sa", "za", "b", "s", "z", "s", "z"}, Outputs: []string{"y"}}
			_, err := nnRun(13, n, map[string]*ir.Tensor{"s": s, "z": z}, feeds)
			if err == nil {
				t.Fatal("no error")
			}
		})
	}
}

// TestQLinearBinaryFusionExact compiles DQ → Add/Mul → Q with the optimizer: fuse_qdq_binary must leave one
// QLinearAdd/QLinearMul whose output equals the unoptimised chain's.
func TestQLinearBinaryFusionExact(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 9))
	for _, op := range []string{"Add", "Mul"} {
		params := [][2]*ir.Tensor{qParam(r, ir.Int8), qParam(r, ir.Int8), qParam(r, ir.Int8)}
		m := qChainModel(op, []string{"a", "b"}, params)
		feeds := map[string]*ir.Tensor{"a": qRandInt(r, ir.Int8, 1, 16, 20, 20), "b": qRandInt(r, ir.Int8, 1, 16, 1, 1)}
		want := qRunModel(t, m.Clone(), feeds)
		p, err := Compile(m.Clone(), Options{Threads: 1})
		if err != nil {
			t.Fatal(err)
		}
		if ops := irtest.OpCount(p.Graph); ops["QLinear"+op] != 1 || ops[op] != 0 || ops["DequantizeLinear"] != 0 {
			t.Fatalf("%s: compiled ops %v", op, ops)
		}
		out, err := p.Run(feeds)
		if err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(out["y"].Float64s()) != fmt.Sprint(want.Float64s()) {
			t.Fatalf("%s: fused output differs from the chain", op)
		}
	}
}

// BenchmarkQLinearBinary times QLinearAdd on PP-OCRv4 det's largest FPN sum and QLinearMul on its largest
// squeeze-and-excitation scaling against the DQ → op → Q chains they replace (1 thread).
func BenchmarkQLinearBinary(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, c := range []struct {
		name, op string
		a, b     []int
	}{{"add_96x160x160", "Add", []int{1, 96, 160, 160}, []int{1, 96, 160, 160}}, {"mul_se_96x160x160", "Mul", []int{1, 96, 160, 160}, []int{1, 96, 1, 1}}} {
		params := [][2]*ir.Tensor{qParam(r, ir.Int8), qParam(r, ir.Int8), qParam(r, ir.Int8)}
		feeds := map[string]*ir.Tensor{"a": qRandInt(r, ir.Int8, c.a...), "b": qRandInt(r, ir.Int8, c.b...)}
		for _, fused := range []bool{false, true} {
			name := c.name + "/chain"
			if fused {
				name = c.name + "/fused"
			}
			b.Run(name, func(b *testing.B) {
				p, err := Compile(qChainModel(c.op, []string{"a", "b"}, params), Options{NoOptimize: !fused, Threads: 1})
				if err != nil {
					b.Fatal(err)
				}
				for i := 0; i < b.N; i++ {
					if _, err := p.Run(feeds); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
