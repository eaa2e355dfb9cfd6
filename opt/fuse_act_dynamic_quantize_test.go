package opt

import (
	"testing"

	"github.com/hone-ml/hone/internal/irtest"
	"github.com/hone-ml/hone/ir"
)

// TestFuseActDynamicQuantize checks which Relu/Clip → DynamicQuantizeLinear pairs become one
// ActDynamicQuantizeLinear (the activation and its bounds in its attributes): not when the activation's result
// is read elsewhere or is a graph output, nor when a bound is computed at run time.
func TestFuseActDynamicQuantize(t *testing.T) {
	for _, c := range []struct {
		name   string
		build  func(b *irtest.Builder, x string) string // returns the DynamicQuantizeLinear's input
		fused  bool
		act    string
		params []float32
	}{
		{"Relu", func(b *irtest.Builder, x string) string { return b.Op("Relu", []string{x}) }, true, "Relu", nil},
		{"Relu6", func(b *irtest.Builder, x string) string {
			return b.Op("Clip", []string{x, b.Init("lo", ir.Scalar(0)), b.Init("hi", ir.Scalar(6))})
		}, true, "Clip", []float32{0, 6}},
		{"Clip without min", func(b *irtest.Builder, x string) string {
			return b.Op("Clip", []string{x, "", b.Init("hi", ir.Scalar(2))})
		}, true, "Clip", nil},
		{"Relu read twice", func(b *irtest.Builder, x string) string {
			r := b.Op("Relu", []string{x})
			b.Output(b.Op("Neg", []string{r}))
			return r
		}, false, "", nil},
		{"Relu a graph output", func(b *irtest.Builder, x string) string {
			r := b.Op("Relu", []string{x})
			b.Output(r)
			return r
		}, false, "", nil},
		{"bound from the input", func(b *irtest.Builder, x string) string {
			return b.Op("Clip", []string{x, b.Input("lo", ir.Float32), b.Init("hi", ir.Scalar(6))})
		}, false, "", nil},
		{"no activation", func(b *irtest.Builder, x string) string { return b.Op("Neg", []string{x}) }, false, "", nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			b := irtest.New("act_dql")
			x := b.Input("x", ir.Float32, 2, 8)
			for _, o := range b.OpN("DynamicQuantizeLinear", []string{c.build(b, x)}, 3) {
				b.Output(o)
			}
			g := b.G
			if err := ir.InferGraph(g, map[string]int64{"": 13}); err != nil {
				t.Fatal(err)
			}
			n, err := runPass(g, map[string]int64{"": 13}, nil, fuseActDynamicQuantize)
			if err != nil {
				t.Fatal(err)
			}
			ops := irtest.OpCount(g)
			if fused := n == 1 && ops[ir.OpActDynamicQuantize] == 1 && ops["DynamicQuantizeLinear"] == 0 &&
				ops["Relu"]+ops["Clip"] == 0; fused != c.fused || !c.fused && n != 0 {
				t.Fatalf("rewrites %d, ops %v: want fused=%v", n, ops, c.fused)
			}
			if err := g.Validate(); err != nil {
				t.Error(err)
			}
			for _, nd := range g.Nodes {
				if nd.OpType != ir.OpActDynamicQuantize {
					continue
				}
				if nd.Inputs[0] != x || len(nd.Outputs) != 3 || nd.AttrString("activation", "") != c.act {
					t.Errorf("inputs %v, outputs %v, activation %q: want x, 3 outputs, %s", nd.Inputs, nd.Outputs, nd.AttrString("activation", ""), c.act)
				}
				if p := nd.AttrFloats("activation_params", nil); c.params != nil && (len(p) != 2 || p[0] != c.params[0] || p[1] != c.params[1]) {
					t.Errorf("activation_params %v, want %v", p, c.params)
				}
			}
		})
	}
}
