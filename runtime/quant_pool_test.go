package runtime

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/hone-ml/hone/internal/irtest"
	"github.com/hone-ml/hone/ir"
)

// TestQLinearPoolConcatFusion compiles DQ → GlobalAveragePool → Q and DQ(x₁, x₂, x₃) → Concat → Q with the
// optimizer and checks that they become QLinearGlobalAveragePool and QLinearConcat with the chain's output.
// Concat requantizes through lookups of the chain itself, so it must match exactly (inputs with the output's own
// parameters, with other ones and of the other signedness). The pooled mean sums the integers exactly where the
// chain rounds each dequantized value to float32 first, so it may be one step off, on at most a few channels.
func TestQLinearPoolConcatFusion(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	for _, c := range []struct {
		name, op string
		fused    string
		inputs   []string
		shapes   [][]int
		dts      []ir.DType
		same     bool // inputs share the output's parameters
		attrs    []*ir.Attr
		maxSteps float64
	}{
		{"gap int8", "GlobalAveragePool", "QLinearGlobalAveragePool", []string{"x"}, [][]int{{2, 64, 17, 23}}, []ir.DType{ir.Int8, ir.Int8}, false, nil, 1},
		{"gap uint8 plane > 1024", "GlobalAveragePool", "QLinearGlobalAveragePool", []string{"x"}, [][]int{{1, 8, 40, 41}}, []ir.DType{ir.Uint8, ir.Uint8}, false, nil, 1},
		{"concat requantized", "Concat", "QLinearConcat", []string{"a", "b", "c"}, [][]int{{2, 3, 4, 5}, {2, 1, 4, 5}, {2, 6, 4, 5}},
			[]ir.DType{ir.Int8, ir.Uint8, ir.Int8, ir.Int8}, false, []*ir.Attr{nnAInt("axis", 1)}, 0},
		{"concat same params, last axis", "Concat", "QLinearConcat", []string{"a", "b"}, [][]int{{3, 4, 5}, {3, 4, 2}},
			[]ir.DType{ir.Int8, ir.Int8, ir.Int8}, true, []*ir.Attr{nnAInt("axis", -1)}, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			var params [][2]*ir.Tensor
			for _, dt := range c.dts {
				params = append(params, qParam(r, dt))
			}
			if c.same {
				for i := range params {
					params[i] = params[len(params)-1]
				}
			}
			feeds := map[string]*ir.Tensor{}
			for i, name := range c.inputs {
				feeds[name] = qRandInt(r, c.dts[i], c.shapes[i]...)
			}
			m := qChainModel(c.op, c.inputs, params, c.attrs...)
			want := qRunModel(t, m.Clone(), feeds)
			p, err := Compile(m.Clone(), Options{Threads: 2})
			if err != nil {
				t.Fatal(err)
			}
			if ops := irtest.OpCount(p.Graph); ops[c.fused] != 1 || ops[c.op] != 0 || ops["DequantizeLinear"] != 0 {
				t.Fatalf("compiled ops %v", ops)
			}
			out, err := p.Run(feeds)
			if err != nil {
				t.Fatal(err)
			}
			got := out["y"]
			if got.DType != want.DType || fmt.Sprint(got.Shape) != fmt.Sprint(want.Shape) {
				t.Fatalf("got %s, want %s", got, want)
			}
			off := 0
			gv, wv := got.Float64s(), want.Float64s()
			for i := range wv {
				d := math.Abs(gv[i] - wv[i])
				if d > c.maxSteps {
					t.Fatalf("element %d = %g, want %g", i, gv[i], wv[i])
				}
				if d > 0 {
					off++
				}
			}
			if off > len(wv)/16 {
				t.Fatalf("%d of %d elements one step off", off, len(wv))
			}
		})
	}
}

// TestQLinearPoolConcatBadInput checks that malformed QLinearGlobalAveragePool and QLinearConcat inputs give
// errors, not panics.
func TestQLinearPoolConcatBadInput(t *testing.T) {
	s, z := ir.Scalar(0.1), ir.New(ir.Int8)
	consts := map[string]*ir.Tensor{"s": s, "z": z}
	for _, c := range []struct {
		name, op string
		in       []string
		feeds    map[string]*ir.Tensor
	}{
		{"gap rank 2", "QLinearGlobalAveragePool", []string{"x", "s", "z", "s", "z"}, map[string]*ir.Tensor{"x": ir.New(ir.Int8, 2, 3)}},
		{"gap float", "QLinearGlobalAveragePool", []string{"x", "s", "z", "s", "z"}, map[string]*ir.Tensor{"x": ir.New(ir.Float32, 1, 2, 3)}},
		{"concat shapes", "QLinearConcat", []string{"s", "z", "a", "s", "z", "b", "s", "z"},
			map[string]*ir.Tensor{"a": ir.New(ir.Int8, 1, 2, 3), "b": ir.New(ir.Int8, 1, 2, 4)}},
		{"concat ranks", "QLinearConcat", []string{"s", "z", "a", "s", "z", "b", "s", "z"},
			map[string]*ir.Tensor{"a": ir.New(ir.Int8, 1, 2, 3), "b": ir.New(ir.Int8, 2, 3)}},
		{"concat scalar", "QLinearConcat", []string{"s", "z", "a", "s", "z"}, map[string]*ir.Tensor{"a": ir.New(ir.Int8)}},
		{"concat no triple", "QLinearConcat", []string{"s", "z", "a", "s"}, map[string]*ir.Tensor{"a": ir.New(ir.Int8, 2)}},
	} {
		t.Run(c.name, func(t *testing.T) {
			n := &ir.Node{Name: "n0", OpType: c.op, Domain: ir.DomainMicrosoft, Inputs: c.in, Outputs: []string{"y"},
				Attrs: []*ir.Attr{nnAInt("axis", 1)}}
			if _, err := nnRun(13, n, consts, c.feeds); err == nil {
				t.Fatal("no error")
			}
		})
	}
}
