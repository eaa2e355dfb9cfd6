package runtime

import (
	"errors"
	"strings"
	"testing"

	"github.com/hone-ml/hone/ir"
)

func f32Input(name string, dims ...ir.Dim) *ir.ValueInfo {
	return &ir.ValueInfo{Name: name, Type: ir.Type{DType: ir.Float32, Shape: dims, HasShape: true}}
}

func chainModel(ops ...string) *ir.Model {
	g := ir.NewGraph("chain")
	g.Inputs = []*ir.ValueInfo{f32Input("x", ir.SymDim("n"), ir.DimOf(4))}
	prev := "x"
	for i, op := range ops {
		out := "v" + string(rune('a'+i))
		g.Nodes = append(g.Nodes, &ir.Node{Name: "n" + string(rune('a'+i)), OpType: op, Inputs: []string{prev, prev}[:arity(op)], Outputs: []string{out}})
		prev = out
	}
	g.Outputs = []*ir.ValueInfo{{Name: prev}}
	return &ir.Model{Opsets: []ir.OpsetImport{{Version: 17}}, Graph: g}
}

func arity(op string) int {
	if op == "Add" || op == "Mul" {
		return 2
	}
	return 1
}

func TestUnknownOpNamesNodeDomainOpset(t *testing.T) {
	m := chainModel("Relu")
	m.Graph.Nodes[0].OpType = "FrobnicateV9"
	m.Graph.Nodes[0].Domain = "com.example"
	m.Opsets = append(m.Opsets, ir.OpsetImport{Domain: "com.example", Version: 3})
	_, err := Compile(m, Options{})
	if err == nil || !errors.Is(err, ErrUnsupported) {
		t.Fatalf("err = %v, want ErrUnsupported", err)
	}
	for _, want := range []string{`"na"`, "FrobnicateV9", "com.example", "opset 3"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %s", err, want)
		}
	}
}

func TestCycleIsAnError(t *testing.T) {
	m := chainModel("Relu", "Relu")
	m.Graph.Nodes[0].Inputs = []string{"vb"} // va ← vb ← va
	_, err := Compile(m, Options{})
	if err == nil || !errors.Is(err, ir.ErrCycle) {
		t.Fatalf("err = %v, want a cycle error", err)
	}
}

func TestMissingValueIsAnError(t *testing.T) {
	m := chainModel("Relu")
	m.Graph.Nodes[0].Inputs = []string{"nowhere"}
	_, err := Compile(m, Options{})
	if err == nil || !strings.Contains(err.Error(), `"nowhere"`) {
		t.Fatalf("err = %v, want it to name the missing value", err)
	}
}

func TestInputValidation(t *testing.T) {
	p, err := Compile(chainModel("Relu"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		in   *ir.Tensor
		want string
	}{
		{"wrong dtype", ir.FromInt64([]int{1, 4}, make([]int64, 4)), "expected float32, got int64"},
		{"wrong rank", ir.FromFloat32([]int{4}, make([]float32, 4)), "expected rank 2"},
		{"wrong dim", ir.FromFloat32([]int{1, 3}, make([]float32, 3)), "dimension 1 must be 4"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := p.Run(map[string]*ir.Tensor{"x": c.in})
			if err == nil || !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want ErrInvalid mentioning %q", err, c.want)
			}
		})
	}
	if _, err := p.Run(map[string]*ir.Tensor{}); err == nil || !strings.Contains(err.Error(), `"x"`) {
		t.Fatalf("missing input: err = %v", err)
	}
}

// TestBufferReuseKeepsValuesIntact runs a chain long enough for the arena to recycle buffers within and across
// runs, and checks every run against the scalar reference.
func TestBufferReuseKeepsValuesIntact(t *testing.T) {
	m := chainModel("Relu", "Add", "Neg", "Relu", "Add", "Neg", "Abs")
	p, err := Compile(m, Options{NoOptimize: true})
	if err != nil {
		t.Fatal(err)
	}
	const n = 64
	for run := 0; run < 3; run++ {
		x := make([]float32, n*4)
		for i := range x {
			x[i] = float32(i%7) - 3 + float32(run)
		}
		out, err := p.Run(map[string]*ir.Tensor{"x": ir.FromFloat32([]int{n, 4}, x)})
		if err != nil {
			t.Fatal(err)
		}
		got := out["vg"].F32()
		for i, v := range x {
			r := max(v, 0)
			r = 2 * r
			r = -r
			r = max(r, 0)
			r = 2 * r
			r = -r
			if r < 0 {
				r = -r
			}
			if got[i] != r {
				t.Fatalf("run %d element %d: got %v want %v", run, i, got[i], r)
			}
		}
		if x[0] != float32(-3+run) {
			t.Fatalf("input was modified")
		}
	}
}
