package runtime

import (
	"github.com/hone-ml/hone/ir"
)

// controlOps is this file's op table (see registry.go): ONNX control flow. Bodies are compiled once, at plan
// time, through BuildCtx.Subgraph, and run with the enclosing scope the executor keeps in Ctx.outer.
var controlOps = map[string]Builder{
	"If":   ctlBuildIf,
	"Loop": ctlBuildLoop,
	"Scan": ctlBuildScan,
}

// ctlBody compiles a required graph attribute.
func ctlBody(b *BuildCtx, name string) (*Plan, *ir.Graph, error) {
	a := b.Node.Attr(name)
	if a == nil || a.G == nil {
		return nil, nil, Invalidf("missing graph attribute %q", name)
	}
	if b.Subgraph == nil {
		return nil, nil, Unsupportedf("subgraphs cannot be compiled here")
	}
	p, err := b.Subgraph(a.G)
	if err != nil {
		return nil, nil, err
	}
	return p, a.G, nil
}

// ctlBuildIf compiles both branches of If (opsets 1–21; sequence and optional outputs are not modelled by ir).
func ctlBuildIf(b *BuildCtx) (Kernel, error) {
	then, tg, err := ctlBody(b, "then_branch")
	if err != nil {
		return nil, err
	}
	els, eg, err := ctlBody(b, "else_branch")
	if err != nil {
		return nil, err
	}
	nout := len(b.Node.Outputs)
	if len(tg.Outputs) != nout || len(eg.Outputs) != nout {
		return nil, Invalidf("branches have %d and %d outputs, the node %d", len(tg.Outputs), len(eg.Outputs), nout)
	}
	return KernelFunc(func(ctx *Ctx, in []*ir.Tensor) ([]*ir.Tensor, error) {
		c, err := ctlBool(in, 0, "cond")
		if err != nil {
			return nil, err
		}
		branch := els
		if c {
			branch = then
		}
		return branch.runSub(ctx, nil, ctx.outer)
	}), nil
}

// ctlBool reads a one-element bool input.
func ctlBool(in []*ir.Tensor, i int, what string) (bool, error) {
	if i >= len(in) || in[i] == nil {
		return false, Invalidf("%s is missing", what)
	}
	t := in[i]
	if t.DType != ir.Bool || t.Len() != 1 {
		return false, Invalidf("%s must be a one-element bool tensor, got %s", what, t)
	}
	return t.BoolData()[0], nil
}

// ctlBuildLoop compiles Loop (opsets 1–21): inputs M (max trip count, optional), cond (optional) and N
// loop-carried values; the body maps (iteration, cond, carried…) to (cond, carried…, scan outputs…), and the
// node returns the final carried values and each scan output stacked along a new first axis.
func ctlBuildLoop(b *BuildCtx) (Kernel, error) {
	body, g, err := ctlBody(b, "body")
	if err != nil {
		return nil, err
	}
	n := b.Node
	nCarried := len(n.Inputs) - 2
	if nCarried < 0 {
		return nil, Invalidf("Loop needs at least the M and cond inputs (possibly empty), got %d", len(n.Inputs))
	}
	nScan := len(g.Outputs) - 1 - nCarried
	if len(body.inputs) != 2+nCarried || nScan < 0 || len(n.Outputs) != nCarried+nScan {
		return nil, Invalidf("body has %d inputs and %d outputs; with %d carried values it needs %d inputs and the node %d outputs",
			len(body.inputs), len(g.Outputs), nCarried, 2+nCarried, nCarried+nScan)
	}
	scanTypes := make([]ir.Type, nScan)
	for k := range scanTypes {
		scanTypes[k] = g.Outputs[1+nCarried+k].Type
	}
	return KernelFunc(func(ctx *Ctx, in []*ir.Tensor) ([]*ir.Tensor, error) {
		trip := int64(-1) // no limit
		if in[0] != nil {
			if in[0].DType != ir.Int64 || in[0].Len() != 1 {
				return nil, Invalidf("M must be a one-element int64 tensor, got %s", in[0])
			}
			trip = in[0].I64()[0]
		}
		cond := true
		if len(in) > 1 && in[1] != nil {
			c, err := ctlBool(in, 1, "cond")
			if err != nil {
				return nil, err
			}
			cond = c
		}
		if trip < 0 && in[1] == nil {
			return nil, Unsupportedf("a Loop with neither M nor cond never ends")
		}
		carried := append([]*ir.Tensor(nil), in[2:]...)
		scans := make([][]*ir.Tensor, nScan)
		condT := ir.New(ir.Bool)
		for i := int64(0); (trip < 0 || i < trip) && cond; i++ {
			condT.BoolData()[0] = cond
			args := append([]*ir.Tensor{ir.FromInt64(nil, []int64{i}), condT.Clone()}, carried...)
			outs, err := body.runSub(ctx, args, ctx.outer)
			if err != nil {
				return nil, err
			}
			c, err := ctlBool(outs, 0, "the body's condition output")
			if err != nil {
				return nil, err
			}
			cond = c
			copy(carried, outs[1:1+nCarried])
			for k := range scans {
				scans[k] = append(scans[k], outs[1+nCarried+k])
			}
		}
		res := append([]*ir.Tensor(nil), carried...)
		for k, parts := range scans {
			t, err := ctlStack(parts, 0, false, scanTypes[k])
			if err != nil {
				return nil, Invalidf("scan output %d: %v", k, err)
			}
			res = append(res, t)
		}
		return res, nil
	}), nil
}
