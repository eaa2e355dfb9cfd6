package runtime

import (
	"fmt"

	"github.com/hone-ml/hone/ir"
	"github.com/hone-ml/hone/opt"
)

// optimize runs the lossless passes of package opt before compiling (fusions, dead-node removal). Shape
// inference runs first so folding and fusions can see static shapes; passes that would create an op without a
// kernel here are skipped, and the graph is validated after every pass that changed it.
func optimize(g *ir.Graph, opsets map[string]int64, disable []string) error {
	if err := ir.InferGraph(g, opsets); err != nil {
		return fmt.Errorf("runtime: %w", err)
	}
	_, err := opt.Run(g, opsets, opt.Options{
		Level:     opt.LevelAll,
		Disable:   disable,
		Eval:      ctlEvaluator(opsets),
		Validate:  true,
		Supported: IsSupported,
	})
	if err != nil {
		return fmt.Errorf("runtime: %w", err)
	}
	return nil
}

// ctlEvaluator runs single nodes for constant folding by building the node's kernel exactly as a plan would.
func ctlEvaluator(opsets map[string]int64) opt.Evaluator {
	return func(n *ir.Node, in []*ir.Tensor) ([]*ir.Tensor, error) {
		b := Lookup(n.Domain, n.OpType)
		if b == nil {
			return nil, nodeErr(n, Unsupportedf("no kernel"))
		}
		bc := &BuildCtx{Node: n, Opset: opsets[normDomain(n.Domain)], Const: in}
		for _, t := range in {
			var ty ir.Type
			if t != nil {
				ty = ir.TypeOf(t)
			}
			bc.Types = append(bc.Types, ty)
		}
		bc.Subgraph = func(*ir.Graph) (*Plan, error) {
			return nil, Unsupportedf("subgraphs are not folded")
		}
		k, err := b(bc)
		if err != nil {
			return nil, nodeErr(n, err)
		}
		out, err := k.Run(&Ctx{Threads: 1}, in)
		if err != nil {
			return nil, nodeErr(n, err)
		}
		return out, nil
	}
}
