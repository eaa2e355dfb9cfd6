package runtime

import (
	"strings"

	"github.com/hone-ml/hone/ir"
)

// xBuildStringNormalizer compiles StringNormalizer (opset 10): drop stopwords (case-insensitively unless
// is_case_sensitive), then change case. Input is [C] or [1, C]; when every string is dropped the output holds one
// empty string, as the spec requires. Case folding uses Go's Unicode tables (the locale attribute only matters
// for locale-specific rules such as Turkish dotted i, which hone does not apply).
func xBuildStringNormalizer(b *BuildCtx) (Kernel, error) {
	n := b.Node
	action := n.AttrString("case_change_action", "NONE")
	if action != "NONE" && action != "LOWER" && action != "UPPER" {
		return nil, Invalidf("case_change_action %q", action)
	}
	sensitive := n.AttrInt("is_case_sensitive", 0) != 0
	stop := map[string]bool{}
	if a := n.Attr("stopwords"); a != nil {
		for _, w := range a.Strings {
			if !sensitive {
				w = strings.ToLower(w)
			}
			stop[w] = true
		}
	}
	return KernelFunc(func(ctx *Ctx, in []*ir.Tensor) ([]*ir.Tensor, error) {
		if err := tNeed(in, 1); err != nil {
			return nil, err
		}
		x := in[0]
		if x.DType != ir.String {
			return nil, Invalidf("input has dtype %s; want string", x.DType)
		}
		if err := tCheckStorage(x); err != nil {
			return nil, err
		}
		if !(x.Rank() == 1 || (x.Rank() == 2 && x.Shape[0] == 1)) {
			return nil, Invalidf("input has shape %v; want [C] or [1, C]", x.Shape)
		}
		var kept []string
		for _, s := range x.Strings[:x.Len()] {
			key := s
			if !sensitive {
				key = strings.ToLower(s)
			}
			if stop[key] {
				continue
			}
			switch action {
			case "LOWER":
				s = strings.ToLower(s)
			case "UPPER":
				s = strings.ToUpper(s)
			}
			kept = append(kept, s)
		}
		if len(kept) == 0 {
			kept = []string{""}
		}
		shape := []int{len(kept)}
		if x.Rank() == 2 {
			shape = []int{1, len(kept)}
		}
		out := ctx.Alloc(ir.String, shape...)
		copy(out.Strings, kept)
		return []*ir.Tensor{out}, nil
	}), nil
}
