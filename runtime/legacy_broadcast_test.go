package runtime

import (
	"math"
	"strings"
	"testing"

	"github.com/hone-ml/hone/internal/irtest"
	"github.com/hone-ml/hone/ir"
)

// legacyRef computes op(a, b) by the broadcasting rule of opset 1–6 from its definition: b's shape is the run of
// a's dimensions starting at axis, so element i of a meets the element of b at a's indices axis… of i.
func legacyRef(a, b *ir.Tensor, axis int, op func(x, y float32) float32) []float32 {
	out := make([]float32, a.Len())
	inner := 1
	for _, d := range a.Shape[axis+b.Rank():] {
		inner *= d
	}
	for i, x := range a.F32() {
		out[i] = op(x, b.F32()[i/inner%b.Len()])
	}
	return out
}

// TestLegacyBroadcast runs opset-6 arithmetic with broadcast=1 and an axis (Caffe2's exports: a per-channel
// bias Add(x, b[C], broadcast=1, axis=1)) against the rule's definition: through the kernel alone, through the
// optimizer (explicit_broadcast rewrites the node for NumPy's rule, after which the Conv fusions take the bias),
// with B a constant and a graph input, and with the input's rank unknown to the optimizer. NumPy's rule on the
// same shapes would add b along the last axis or refuse them.
func TestLegacyBroadcast(t *testing.T) {
	add := func(x, y float32) float32 { return x + y }
	for _, c := range []struct {
		name    string
		op      string
		fn      func(x, y float32) float32
		a, b    []int
		axis    int64
		constB  bool
		conv    bool // x comes from a Conv, and a Relu follows
		unknown bool // the graph input declares no shape
	}{
		{"add bias axis 1", "Add", add, []int{2, 3, 4, 5}, []int{3}, 1, true, false, false},
		{"mul input axis 1", "Mul", func(x, y float32) float32 { return x * y }, []int{2, 3, 4, 5}, []int{3, 4}, 1, false, false, false},
		{"sub axis 0", "Sub", func(x, y float32) float32 { return x - y }, []int{4, 3}, []int{4}, 0, true, false, false},
		{"div negative axis", "Div", func(x, y float32) float32 { return x / y }, []int{2, 3, 4}, []int{3}, -2, false, false, false},
		{"conv bias", "Add", add, []int{1, 4, 6, 6}, []int{4}, 1, true, true, false},
		{"conv bias, rank unknown", "Add", add, []int{1, 4, 6, 6}, []int{4}, 1, true, true, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			b := irtest.New("legacy")
			x := irtest.Rand(1, c.a...)
			bias := irtest.RandPos(2, 0.5, 2, c.b...)
			xt := irtest.Type(ir.Float32, i64s(c.a)...)
			if c.unknown {
				xt = ir.Type{DType: ir.Float32}
			}
			xin := b.InputT("x", xt)
			feeds := map[string]*ir.Tensor{"x": x}
			a := xin
			var w *ir.Tensor
			if c.conv {
				w = irtest.Rand(3, c.a[1], c.a[1], 1, 1)
				a = b.Op("Conv", []string{xin, b.Init("w", w)})
			}
			bname := "b"
			if c.constB {
				b.Init(bname, bias)
			} else {
				b.Input(bname, ir.Float32, i64s(c.b)...)
				feeds[bname] = bias
			}
			y := b.Op(c.op, []string{a, bname}, irtest.Int("broadcast", 1), irtest.Int("axis", c.axis))
			if c.conv {
				y = b.Op("Relu", []string{y})
			}
			b.Output(y)

			// The reference: the Conv (1×1: a matrix product per pixel) by definition, then the rule.
			ain := x
			if c.conv {
				ain = ir.New(ir.Float32, c.a...)
				C, P := c.a[1], c.a[2]*c.a[3]
				for o := range C {
					for i := range C {
						for p := range P {
							ain.F32()[o*P+p] += w.F32()[o*C+i] * x.F32()[i*P+p]
						}
					}
				}
			}
			axis := int(c.axis)
			if axis < 0 {
				axis += len(c.a)
			}
			want := legacyRef(ain, bias, axis, c.fn)
			if c.conv {
				for i, v := range want {
					want[i] = max(v, 0)
				}
			}
			for _, o := range []Options{{NoOptimize: true}, {}} {
				m := b.Model(6)
				p, err := Compile(m, o)
				if err != nil {
					t.Fatal(err)
				}
				out, err := p.Run(feeds)
				if err != nil {
					t.Fatal(err)
				}
				got := out[y].F32()
				for i := range want {
					if math.Abs(float64(got[i]-want[i])) > 1e-5*(1+math.Abs(float64(want[i]))) {
						t.Fatalf("optimized %v: element %d = %g, want %g", !o.NoOptimize, i, got[i], want[i])
					}
				}
				ops := irtest.OpCount(p.Graph)
				if c.conv && !o.NoOptimize && !c.unknown && ops[c.op] != 0 {
					t.Errorf("the bias was not fused: %v", ops)
				}
			}
		})
	}

	// A B that does not fit in A from axis on is an error naming the node.
	b := irtest.New("legacy")
	b.Output(b.Op("Add", []string{b.Input("x", ir.Float32, 2, 3), b.Input("b", ir.Float32, 2, 3)}, irtest.Int("broadcast", 1), irtest.Int("axis", 1)))
	p, err := Compile(b.Model(6), Options{NoOptimize: true})
	if err == nil {
		_, err = p.Run(map[string]*ir.Tensor{"x": irtest.Rand(1, 2, 3), "b": irtest.Rand(2, 2, 3)})
	}
	if err == nil || !strings.Contains(err.Error(), "Add") || !strings.Contains(err.Error(), "does not fit") {
		t.Fatalf("B past A's end: err = %v", err)
	}
}

func i64s(shape []int) []int64 {
	var d []int64
	for _, v := range shape {
		d = append(d, int64(v))
	}
	return d
}
