package runtime

import (
	"math"
	"testing"

	"github.com/hone-ml/hone/internal/irtest"
	"github.com/hone-ml/hone/ir"
)

// TestMatMulPerm compiles MatMuls between Transposes with opt/fuse_matmul_transpose (one MatMulPerm that reads
// and writes with strides) and without it (Transpose copies and MatMul): the same products on the same values,
// so the outputs must match bit for bit. Cases: BERT's attention (Q and V as [B, H, S, D], K as [B, H, D, S], the
// result back to [B, S, H, D]); an operand whose unit stride lands on its rows (Sgemm's transposed form); batch
// dims that broadcast (MatMulPerm copies); and a perm that moves the last dim into the batch, which must not
// fold.
func TestMatMulPerm(t *testing.T) {
	const B, S, H, D = 2, 5, 3, 4
	tp := func(b *irtest.Builder, x string, perm ...int64) string {
		return b.Op("Transpose", []string{x}, irtest.Ints("perm", perm...))
	}
	for _, c := range []struct {
		name          string
		build         func(b *irtest.Builder)
		feeds         map[string][]int
		perms, transp int // MatMulPerm and Transpose nodes left in the fused plan
	}{
		{"attention", func(b *irtest.Builder) {
			q, k, v := b.Input("q", ir.Float32, B, S, H, D), b.Input("k", ir.Float32, B, S, H, D), b.Input("v", ir.Float32, B, S, H, D)
			s := b.Op("MatMul", []string{tp(b, q, 0, 2, 1, 3), tp(b, k, 0, 2, 3, 1)})
			b.Output(tp(b, b.Op("MatMul", []string{s, tp(b, v, 0, 2, 1, 3)}), 0, 2, 1, 3))
		}, map[string][]int{"q": {B, S, H, D}, "k": {B, S, H, D}, "v": {B, S, H, D}}, 2, 0},
		{"transposed operand", func(b *irtest.Builder) {
			x, w := b.Input("x", ir.Float32, B, 7, 6), b.Input("w", ir.Float32, B, 7, 5)
			b.Output(b.Op("MatMul", []string{tp(b, x, 0, 2, 1), w}))
		}, map[string][]int{"x": {B, 7, 6}, "w": {B, 7, 5}}, 1, 0},
		{"broadcast batch", func(b *irtest.Builder) {
			x, w := b.Input("x", ir.Float32, 2, 3, 6, 7), b.Input("w", ir.Float32, 1, 3, 6, 5)
			b.Output(b.Op("MatMul", []string{tp(b, x, 0, 1, 3, 2), w}))
		}, map[string][]int{"x": {2, 3, 6, 7}, "w": {1, 3, 6, 5}}, 1, 0},
		{"last dim into the batch", func(b *irtest.Builder) {
			x, w := b.Input("x", ir.Float32, 6, 7, B), b.Input("w", ir.Float32, B, 7, 5)
			b.Output(b.Op("MatMul", []string{tp(b, x, 2, 0, 1), w}))
		}, map[string][]int{"x": {6, 7, B}, "w": {B, 7, 5}}, 0, 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			b := irtest.New("matmulperm")
			c.build(b)
			m := b.Model(13)
			feeds := map[string]*ir.Tensor{}
			seed := int64(1)
			for name, shape := range c.feeds {
				feeds[name] = irtest.Rand(seed, shape...)
				seed++
			}
			run := func(disable []string) ([]float32, []int, map[string]int) {
				p, err := Compile(m, Options{Threads: 1, Disable: disable})
				if err != nil {
					t.Fatal(err)
				}
				out, err := p.Run(feeds)
				if err != nil {
					t.Fatal(err)
				}
				y := out[p.Outputs()[0].Name]
				return y.F32(), y.Shape, irtest.OpCount(p.Graph)
			}
			got, shape, ops := run(nil)
			want, wantShape, _ := run([]string{"fuse_matmul_transpose"})
			if ops[ir.OpMatMulPerm] != c.perms || ops["Transpose"] != c.transp {
				t.Fatalf("fused plan %v: want %d MatMulPerm and %d Transpose", ops, c.perms, c.transp)
			}
			if !nnEqualInts(shape, wantShape) || len(got) != len(want) {
				t.Fatalf("shape %v, unfused %v", shape, wantShape)
			}
			for i := range want {
				if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
					t.Fatalf("y[%d] = %v fused, %v unfused", i, got[i], want[i])
				}
			}
		})
	}
}

// TestMatMulPermCopies runs MatMulPerm nodes the fusion does not create — an operand without a unit stride in
// its matrix dims, a result whose last dim moves — against the Transposes and MatMul they stand for.
func TestMatMulPermCopies(t *testing.T) {
	feeds := map[string]*ir.Tensor{"x": irtest.Rand(7, 6, 7, 2), "w": irtest.Rand(8, 2, 5, 7)}
	for _, permY := range []bool{false, true} {
		attrs := []*ir.Attr{irtest.Ints("perm_a", 2, 0, 1), irtest.Ints("perm_b", 0, 2, 1)}
		if permY {
			attrs = append(attrs, irtest.Ints("perm_y", 0, 2, 1))
		}
		b := irtest.New("perm")
		x, w := b.Input("x", ir.Float32, 6, 7, 2), b.Input("w", ir.Float32, 2, 5, 7)
		b.Output(b.Node(&ir.Node{Name: "mmp", OpType: ir.OpMatMulPerm, Domain: ir.DomainHone, Inputs: []string{x, w},
			Outputs: []string{"y"}, Attrs: attrs}).Outputs[0])
		ref := irtest.New("ref")
		x, w = ref.Input("x", ir.Float32, 6, 7, 2), ref.Input("w", ir.Float32, 2, 5, 7)
		tp := func(v string, perm ...int64) string {
			return ref.Op("Transpose", []string{v}, irtest.Ints("perm", perm...))
		}
		y := ref.Op("MatMul", []string{tp(x, 2, 0, 1), tp(w, 0, 2, 1)})
		if permY {
			y = tp(y, 0, 2, 1)
		}
		ref.Output(y)
		run := func(m *ir.Model, disable []string) *ir.Tensor {
			p, err := Compile(m, Options{Threads: 1, Disable: disable})
			if err != nil {
				t.Fatal(err)
			}
			out, err := p.Run(feeds)
			if err != nil {
				t.Fatal(err)
			}
			return out[p.Outputs()[0].Name]
		}
		got, want := run(b.Model(13), nil), run(ref.Model(13), []string{"fuse_matmul_transpose"})
		if !nnEqualInts(got.Shape, want.Shape) {
			t.Fatalf("perm_y %v: shape %v, want %v", permY, got.Shape, want.Shape)
		}
		for i, v := range want.F32() {
			if math.Float32bits(got.F32()[i]) != math.Float32bits(v) {
				t.Fatalf("perm_y %v: y[%d] = %v, want %v", permY, i, got.F32()[i], v)
			}
		}
	}
}
