package opt

import (
	"testing"

	"github.com/hone-ml/hone/internal/irtest"
	"github.com/hone-ml/hone/ir"
)

// TestFuseQDQConvFloat checks that a QDQ Conv whose output stays float (here: the Relu before the Q is not
// redundant, so fuse_qdq_conv declines) becomes QConvFloat with the Relu and Q kept, and that a Conv reading a
// float weight (no DequantizeLinear) is left alone.
func TestFuseQDQConvFloat(t *testing.T) {
	for _, floatW := range []bool{false, true} {
		g := qdqConvGraph(0)
		if floatW {
			for _, n := range g.Nodes {
				if n.OpType == "Conv" {
					n.Inputs[1] = g.FreshValueName("wf")
					g.SetInitializer(n.Inputs[1], ir.New(ir.Float32, 3, 2, 1, 1))
				}
			}
		}
		if err := ir.InferGraph(g, map[string]int64{"": 13}); err != nil {
			t.Fatal(err)
		}
		n, err := runPass(g, map[string]int64{"": 13}, nil, fuseQDQConvFloat)
		if err != nil {
			t.Fatal(err)
		}
		ops := irtest.OpCount(g)
		fused := n == 1 && ops[ir.OpQConvFloat] == 1 && ops["Conv"] == 0 && ops["Relu"] == 1
		if fused == floatW {
			t.Errorf("float weight %v: rewrites %d, ops %v", floatW, n, ops)
		}
		if err := g.Validate(); err != nil {
			t.Error(err)
		}
	}
}
