package runtime

import (
	"errors"
	"fmt"
	"math/rand"
	"testing"

	"github.com/hone-ml/hone/ir"
)

// tTestCtx returns a context with a real thread pool, so the parallel paths run (the node tests' tensors are too
// small to reach them).
func tTestCtx(threads int) *Ctx {
	return &Ctx{Par: newWorkerPool(threads).runner(), Threads: threads}
}

func tRandF32(r *rand.Rand, shape ...int) *ir.Tensor {
	t := ir.New(ir.Float32, shape...)
	for i := range t.F32() {
		t.F32()[i] = float32(r.Intn(2000)-1000) / 64
	}
	return t
}

// tNaiveIndex maps an output multi-index to the flat index of an input of shape s under NumPy broadcasting.
func tNaiveIndex(out []int, s []int) int {
	off := len(out) - len(s)
	idx := 0
	for i, d := range s {
		c := out[off+i]
		if d == 1 {
			c = 0
		}
		idx = idx*d + c
	}
	return idx
}

func tUnflatten(i int, shape []int) []int {
	c := make([]int, len(shape))
	for d := len(shape) - 1; d >= 0; d-- {
		c[d] = i % shape[d]
		i /= shape[d]
	}
	return c
}

// TestTensorBroadcastParallel checks every broadcast layout the merger produces, on tensors big enough to be split
// across threads, against a direct NumPy-rule index computation.
func TestTensorBroadcastParallel(t *testing.T) {
	r := rand.New(rand.NewSource(1))
	cases := []struct{ a, b []int }{
		{[]int{64, 1024}, []int{64, 1024}},           // same shape: one run
		{[]int{2, 64, 32, 32}, []int{1, 64, 1, 1}},   // per-channel bias
		{[]int{8, 128, 96}, []int{96}},               // trailing vector
		{[]int{8, 128, 96}, nil},                     // scalar
		{[]int{1}, []int{70000}},                     // scalar on the left
		{[]int{16, 1, 96}, []int{1, 128, 96}},        // both sides broadcast
		{[]int{3, 1, 20, 1, 40}, []int{4, 1, 30, 1}}, // interleaved
		{[]int{100, 1000}, []int{100, 1}},            // column vector
	}
	ops := []struct {
		op tBinOp
		f  func(x, y float32) float32
	}{
		{tOpAdd, func(x, y float32) float32 { return x + y }},
		{tOpSub, func(x, y float32) float32 { return x - y }},
		{tOpMul, func(x, y float32) float32 { return x * y }},
		{tOpDiv, func(x, y float32) float32 { return x / y }},
		{tOpMax, func(x, y float32) float32 { return max(x, y) }},
	}
	ctx := tTestCtx(4)
	for _, c := range cases {
		a, b := tRandF32(r, c.a...), tRandF32(r, c.b...)
		for _, op := range ops {
			t.Run(fmt.Sprintf("%v_%v_%d", c.a, c.b, op.op), func(t *testing.T) {
				got, err := tArith(ctx, op.op, a, b)
				if err != nil {
					t.Fatal(err)
				}
				for i, v := range got.F32() {
					o := tUnflatten(i, got.Shape)
					want := op.f(a.F32()[tNaiveIndex(o, a.Shape)], b.F32()[tNaiveIndex(o, b.Shape)])
					if v != want && !(v != v && want != want) {
						t.Fatalf("element %d %v: got %g, want %g", i, o, v, want)
					}
				}
			})
		}
	}
}

// TestTensorTransposeParallel compares permutations of a large tensor with a direct index computation.
func TestTensorTransposeParallel(t *testing.T) {
	r := rand.New(rand.NewSource(2))
	ctx := tTestCtx(3)
	x := tRandF32(r, 2, 12, 40, 64)
	for _, perm := range [][]int{{0, 2, 1, 3}, {0, 2, 3, 1}, {0, 3, 1, 2}, {3, 2, 1, 0}, {1, 0, 2, 3}, {0, 1, 2, 3}} {
		t.Run(fmt.Sprint(perm), func(t *testing.T) {
			got, err := tPermute(ctx, x, x.Shape, perm)
			if err != nil {
				t.Fatal(err)
			}
			st := tStrides(x.Shape)
			for i, v := range got.F32() {
				o := tUnflatten(i, got.Shape)
				src := 0
				for d, p := range perm {
					src += o[d] * st[p]
				}
				if v != x.F32()[src] {
					t.Fatalf("element %v: got %g, want %g", o, v, x.F32()[src])
				}
			}
		})
	}
}

// tRun builds and runs one node directly.
func tRun(t *testing.T, op string, opset int64, attrs []*ir.Attr, in ...*ir.Tensor) ([]*ir.Tensor, error) {
	t.Helper()
	n := &ir.Node{Name: "n", OpType: op, Attrs: attrs, Outputs: []string{"y"}}
	for i := range in {
		n.Inputs = append(n.Inputs, fmt.Sprint("x", i))
	}
	k, err := tensorOps[op](&BuildCtx{Node: n, Opset: opset, Const: make([]*ir.Tensor, len(in))})
	if err != nil {
		return nil, err
	}
	return k.Run(tTestCtx(2), in)
}

func tI64(v ...int64) *ir.Tensor { return ir.FromInt64([]int{len(v)}, v) }

// TestTensorBadInput feeds malformed inputs: each must give an error of the right kind, never a panic.
func TestTensorBadInput(t *testing.T) {
	f := func(shape ...int) *ir.Tensor { return ir.New(ir.Float32, shape...) }
	ints := func(name string, v ...int64) *ir.Attr { return &ir.Attr{Name: name, Type: ir.AttrInts, Ints: v} }
	intA := func(name string, v int64) *ir.Attr { return &ir.Attr{Name: name, Type: ir.AttrInt, I: v} }
	short := &ir.Tensor{DType: ir.Float32, Shape: []int{4, 4}} // no storage behind the shape
	cases := []struct {
		name  string
		op    string
		opset int64
		attrs []*ir.Attr
		in    []*ir.Tensor
		want  error
	}{
		{"add shapes", "Add", 14, nil, []*ir.Tensor{f(2, 3), f(4, 3)}, ErrInvalid},
		{"add dtypes", "Add", 14, nil, []*ir.Tensor{f(2), tI64(1, 2)}, ErrInvalid},
		{"add missing", "Add", 14, nil, []*ir.Tensor{f(2)}, ErrInvalid},
		{"add no storage", "Add", 14, nil, []*ir.Tensor{short, f(4, 4)}, ErrInvalid},
		{"add strings", "Add", 14, nil, []*ir.Tensor{ir.New(ir.String, 1), ir.New(ir.String, 1)}, ErrUnsupported},
		{"sqrt int", "Sqrt", 13, nil, []*ir.Tensor{tI64(4)}, ErrUnsupported},
		{"where cond", "Where", 16, nil, []*ir.Tensor{f(2), f(2), f(2)}, ErrInvalid},
		{"reshape two -1", "Reshape", 14, nil, []*ir.Tensor{f(2, 3), tI64(-1, -1)}, ErrInvalid},
		{"reshape count", "Reshape", 14, nil, []*ir.Tensor{f(2, 3), tI64(4, 2)}, ErrInvalid},
		{"reshape zero past rank", "Reshape", 14, nil, []*ir.Tensor{f(6), tI64(1, 0)}, ErrInvalid},
		{"reshape float shape", "Reshape", 14, nil, []*ir.Tensor{f(6), f(1)}, ErrInvalid},
		{"transpose perm", "Transpose", 13, []*ir.Attr{ints("perm", 0, 0)}, []*ir.Tensor{f(2, 3)}, ErrInvalid},
		{"transpose perm range", "Transpose", 13, []*ir.Attr{ints("perm", 0, 5)}, []*ir.Tensor{f(2, 3)}, ErrInvalid},
		{"slice step 0", "Slice", 13, nil, []*ir.Tensor{f(4), tI64(0), tI64(4), tI64(0), tI64(0)}, ErrInvalid},
		{"slice axis", "Slice", 13, nil, []*ir.Tensor{f(4), tI64(0), tI64(4), tI64(3)}, ErrInvalid},
		{"concat rank", "Concat", 13, []*ir.Attr{intA("axis", 0)}, []*ir.Tensor{f(2, 3), f(2)}, ErrInvalid},
		{"concat axis", "Concat", 13, []*ir.Attr{intA("axis", 2)}, []*ir.Tensor{f(2, 3), f(2, 3)}, ErrInvalid},
		{"split sizes", "Split", 13, nil, []*ir.Tensor{f(5), tI64(2, 2)}, ErrInvalid},
		{"gather range", "Gather", 13, nil, []*ir.Tensor{f(3, 2), tI64(3)}, ErrInvalid},
		{"gather negative range", "Gather", 13, nil, []*ir.Tensor{f(3, 2), tI64(-4)}, ErrInvalid},
		{"gather elements range", "GatherElements", 13, nil, []*ir.Tensor{f(2, 2), ir.FromInt64([]int{1, 2}, []int64{0, 9})}, ErrInvalid},
		{"gathernd tuple", "GatherND", 13, nil, []*ir.Tensor{f(2, 2), ir.FromInt64([]int{1, 3}, []int64{0, 0, 0})}, ErrInvalid},
		{"scatternd updates", "ScatterND", 16, nil, []*ir.Tensor{f(4), ir.FromInt64([]int{1, 1}, []int64{1}), f(2)}, ErrInvalid},
		{"expand shape", "Expand", 13, nil, []*ir.Tensor{f(3), tI64(2, 4)}, ErrInvalid},
		{"tile repeats", "Tile", 13, nil, []*ir.Tensor{f(3), tI64(2, 2)}, ErrInvalid},
		{"pad length", "Pad", 18, nil, []*ir.Tensor{f(3), tI64(1)}, ErrInvalid},
		{"pad crop too much", "Pad", 18, nil, []*ir.Tensor{f(3), tI64(-2, -2)}, ErrInvalid},
		{"squeeze non-one", "Squeeze", 13, nil, []*ir.Tensor{f(2, 3), tI64(0)}, ErrInvalid},
		{"unsqueeze repeated", "Unsqueeze", 13, nil, []*ir.Tensor{f(2), tI64(0, 0)}, ErrInvalid},
		{"range delta 0", "Range", 11, nil, []*ir.Tensor{tI64(0), tI64(5), tI64(0)}, ErrInvalid},
		{"topk k", "TopK", 11, nil, []*ir.Tensor{f(3), tI64(4)}, ErrInvalid},
		{"cast to complex", "Cast", 13, []*ir.Attr{intA("to", int64(ir.Complex64))}, []*ir.Tensor{f(1)}, ErrUnsupported},
		{"cast bad string", "Cast", 13, []*ir.Attr{intA("to", int64(ir.Float32))}, []*ir.Tensor{func() *ir.Tensor {
			s := ir.New(ir.String, 1)
			s.Strings[0] = "abc"
			return s
		}()}, ErrInvalid},
		{"einsum labels", "Einsum", 12, []*ir.Attr{{Name: "equation", Type: ir.AttrString, S: "ij,jk->ik"}}, []*ir.Tensor{f(2, 3), f(4, 5)}, ErrInvalid},
		{"einsum operands", "Einsum", 12, []*ir.Attr{{Name: "equation", Type: ir.AttrString, S: "ij->i"}}, []*ir.Tensor{f(2, 3), f(2, 3)}, ErrInvalid},
		{"reduce axis", "ReduceSum", 13, nil, []*ir.Tensor{f(2, 3), tI64(2)}, ErrInvalid},
		{"argmax empty", "ArgMax", 13, nil, []*ir.Tensor{f(0, 3)}, ErrInvalid},
		{"depth to space", "DepthToSpace", 13, []*ir.Attr{intA("blocksize", 2)}, []*ir.Tensor{f(1, 3, 2, 2)}, ErrInvalid},
		{"onehot depth", "OneHot", 11, nil, []*ir.Tensor{tI64(1), tI64(0), tI64(0, 1)}, ErrInvalid},
		{"compress cond", "Compress", 11, nil, []*ir.Tensor{f(2), f(2)}, ErrInvalid},
		{"gelu mode", "Gelu", 20, []*ir.Attr{{Name: "approximate", Type: ir.AttrString, S: "cubic"}}, []*ir.Tensor{f(2)}, ErrUnsupported},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := tRun(t, c.op, c.opset, c.attrs, c.in...)
			if err == nil {
				t.Fatal("no error")
			}
			if !errors.Is(err, c.want) {
				t.Fatalf("error %q does not wrap %v", err, c.want)
			}
		})
	}
}

// TestTensorPlanErrorNamesNode checks the executor's wrapping: a kernel error reaches the caller naming the node.
func TestTensorPlanErrorNamesNode(t *testing.T) {
	g := ir.NewGraph("g")
	g.Inputs = []*ir.ValueInfo{{Name: "a"}, {Name: "b"}}
	g.Outputs = []*ir.ValueInfo{{Name: "y"}}
	g.Nodes = []*ir.Node{{Name: "add1", OpType: "Add", Inputs: []string{"a", "b"}, Outputs: []string{"y"}}}
	p, err := Compile(&ir.Model{Graph: g, Opsets: []ir.OpsetImport{{Version: 17}}}, Options{NoOptimize: true})
	if err != nil {
		t.Fatal(err)
	}
	_, err = p.Run(map[string]*ir.Tensor{"a": ir.New(ir.Float32, 2), "b": ir.New(ir.Float32, 3)})
	if err == nil || !errors.Is(err, ErrInvalid) {
		t.Fatalf("got %v, want an ErrInvalid", err)
	}
	if want := `runtime: node "add1" (Add): `; len(err.Error()) < len(want) || err.Error()[:len(want)] != want {
		t.Fatalf("error %q does not start with %q", err, want)
	}
}

// TestTensorReshapeSharesStorage pins the zero-copy contract of the view ops.
func TestTensorReshapeSharesStorage(t *testing.T) {
	x := ir.FromFloat32([]int{2, 3}, []float32{1, 2, 3, 4, 5, 6})
	for _, c := range []struct {
		op string
		in []*ir.Tensor
	}{
		{"Reshape", []*ir.Tensor{x, tI64(3, -1)}},
		{"Flatten", []*ir.Tensor{x}},
		{"Unsqueeze", []*ir.Tensor{x, tI64(0)}},
		{"Squeeze", []*ir.Tensor{x}},
		{"Identity", []*ir.Tensor{x}},
	} {
		out, err := tRun(t, c.op, 14, nil, c.in...)
		if err != nil {
			t.Fatalf("%s: %v", c.op, err)
		}
		if &out[0].Bytes()[0] != &x.Bytes()[0] {
			t.Errorf("%s copied its input", c.op)
		}
	}
}

// FuzzTensorEinsumParse checks that no equation makes the parser or kernel panic.
func FuzzTensorEinsumParse(f *testing.F) {
	for _, s := range []string{"ij,jk->ik", "...ii->...i", "bij,bjk", "i,i", "->", "...,...->...", "a...b,b...c->ac", ",", "ab->ba"} {
		f.Add(s, 2, 2)
	}
	f.Fuzz(func(t *testing.T, eq string, r0, r1 int) {
		r0, r1 = r0&3, r1&3
		if _, err := tParseEinsum(eq, []int{r0, r1}); err != nil {
			return
		}
		shape := func(r int) []int {
			s := make([]int, r)
			for i := range s {
				s[i] = 2
			}
			return s
		}
		n := &ir.Node{OpType: "Einsum", Attrs: []*ir.Attr{{Name: "equation", Type: ir.AttrString, S: eq}}}
		k, err := tEinsum(&BuildCtx{Node: n, Opset: 12})
		if err != nil {
			return
		}
		_, _ = k.Run(&Ctx{Threads: 1}, []*ir.Tensor{ir.New(ir.Float32, shape(r0)...), ir.New(ir.Float32, shape(r1)...)})
	})
}

// BenchmarkTensorBinary times the broadcast layouts CNNs and transformers use, against a naive loop that
// computes NumPy indices per element.
func BenchmarkTensorBinary(b *testing.B) {
	r := rand.New(rand.NewSource(3))
	for _, c := range []struct {
		name string
		a, b []int
	}{
		{"same_1x64x56x56", []int{1, 64, 56, 56}, []int{1, 64, 56, 56}},
		{"bias_1x64x56x56", []int{1, 64, 56, 56}, []int{1, 64, 1, 1}},
		{"vector_128x768", []int{128, 768}, []int{768}},
	} {
		x, y := tRandF32(r, c.a...), tRandF32(r, c.b...)
		b.Run(c.name+"/hone", func(b *testing.B) {
			ctx := &Ctx{Threads: 1}
			b.SetBytes(int64(x.NumBytes()))
			for b.Loop() {
				if _, err := tArith(ctx, tOpAdd, x, y); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(c.name+"/naive", func(b *testing.B) {
			out := make([]float32, x.Len())
			b.SetBytes(int64(x.NumBytes()))
			for b.Loop() {
				for i := range out {
					o := tUnflatten(i, x.Shape)
					out[i] = x.F32()[i] + y.F32()[tNaiveIndex(o, y.Shape)]
				}
			}
		})
	}
}

// BenchmarkTensorTranspose times NCHW→NHWC (tiled path) and the BERT head split (contiguous rows).
func BenchmarkTensorTranspose(b *testing.B) {
	r := rand.New(rand.NewSource(4))
	for _, c := range []struct {
		name  string
		shape []int
		perm  []int
	}{
		{"nchw_to_nhwc_1x64x56x56", []int{1, 64, 56, 56}, []int{0, 2, 3, 1}},
		{"nhwc_to_nchw_1x56x56x64", []int{1, 56, 56, 64}, []int{0, 3, 1, 2}},
		{"heads_1x128x12x64", []int{1, 128, 12, 64}, []int{0, 2, 1, 3}},
	} {
		x := tRandF32(r, c.shape...)
		b.Run(c.name+"/hone", func(b *testing.B) {
			ctx := &Ctx{Threads: 1}
			b.SetBytes(int64(x.NumBytes()))
			for b.Loop() {
				if _, err := tPermute(ctx, x, x.Shape, c.perm); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(c.name+"/naive", func(b *testing.B) {
			st := tStrides(x.Shape)
			oshape := make([]int, len(c.perm))
			for i, p := range c.perm {
				oshape[i] = x.Shape[p]
			}
			out := make([]float32, x.Len())
			b.SetBytes(int64(x.NumBytes()))
			for b.Loop() {
				for i := range out {
					o := tUnflatten(i, oshape)
					s := 0
					for d, p := range c.perm {
						s += o[d] * st[p]
					}
					out[i] = x.F32()[s]
				}
			}
		})
	}
}
