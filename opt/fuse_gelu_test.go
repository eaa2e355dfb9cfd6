package opt

import (
	"testing"

	"github.com/hone-ml/hone/internal/irtest"
	"github.com/hone-ml/hone/ir"
)

// geluGraph builds x·0.5·(1 + erf(x/√2)) in one of the exporters' forms: "div" (PyTorch: Div by √2, the 0.5 last),
// "mul" (Mul by 1/√2), "halfFirst" ((x·0.5)·(erf + 1)); shared adds a second reader of the Erf's output, and
// one the wrong constant in the Add.
func geluGraph(form string, shared bool, one float32) *ir.Graph {
	b := irtest.New("gelu")
	x := b.Input("x", ir.Float32, 2, 8)
	var t string
	if form == "mul" {
		t = b.Op("Mul", []string{x, b.Init("k", ir.Scalar(0.70710677))})
	} else {
		t = b.Op("Div", []string{x, b.Init("k", ir.Scalar(1.4142135))})
	}
	e := b.Op("Erf", []string{t})
	a := b.Op("Add", []string{e, b.Init("one", ir.Scalar(one))})
	var y string
	if form == "halfFirst" {
		y = b.Op("Mul", []string{b.Op("Mul", []string{x, b.Init("half", ir.Scalar(0.5))}), a})
	} else {
		y = b.Op("Mul", []string{b.Op("Mul", []string{x, a}), b.Init("half", ir.Scalar(0.5))})
	}
	b.Output(y)
	if shared {
		b.Output(b.Op("Neg", []string{e}))
	}
	return b.G
}

// TestFuseGelu checks that each exporter form becomes one Gelu reading x, and that the chain stays when the Erf's
// result has another reader or the Add is not of 1.
func TestFuseGelu(t *testing.T) {
	for _, c := range []struct {
		name   string
		form   string
		shared bool
		one    float32
		fused  bool
	}{
		{"PyTorch (Div, 0.5 last)", "div", false, 1, true},
		{"Mul by 1/√2", "mul", false, 1, true},
		{"0.5 first", "halfFirst", false, 1, true},
		{"erf read twice", "div", true, 1, false},
		{"adds 2", "div", false, 2, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			g := geluGraph(c.form, c.shared, c.one)
			if err := ir.InferGraph(g, map[string]int64{"": 17}); err != nil {
				t.Fatal(err)
			}
			n, err := runPass(g, map[string]int64{"": 17}, nil, fuseGelu)
			if err != nil {
				t.Fatal(err)
			}
			ops := irtest.OpCount(g)
			fused := n == 1 && ops["Gelu"] == 1 && ops["Erf"] == 0 && ops["Mul"] == 0 && ops["Div"] == 0 && ops["Add"] == 0
			if fused != c.fused || (!c.fused && n != 0) {
				t.Fatalf("rewrites %d, ops %v, want fused=%v", n, ops, c.fused)
			}
			if err := g.Validate(); err != nil {
				t.Error(err)
			}
			if c.fused && (g.Nodes[0].Inputs[0] != "x" || g.Nodes[0].Domain != ir.DomainMicrosoft) {
				t.Errorf("fused node %v: want com.microsoft Gelu of x", g.Nodes[0])
			}
		})
	}
}
