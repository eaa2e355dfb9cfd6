package quant

import (
	"math"

	"github.com/hone-ml/hone/ir"
)

// pointwiseOps compute each output element from the same element of their inputs: the ops the runtime's lookup
// fusion (opt/fuse_qdq_lookup.go) folds into one byte table when they read a single 8-bit tensor, and Erf. With Erf
// GELU's x·(1 + erf(x/√2))/2 is a function of x alone, so its Muls stay float instead of splitting it with Q/DQ
// pairs (the runtime then fuses it whole into Gelu): BERT-tiny's static QDQ model ran 5 % faster in hone and 7 %
// in ONNX Runtime, at 34.6 dB SQNR against PyTorch instead of 34.4.
//
// Sigmoid, Tanh and Pow extend the regions over Swish's x·sigmoid(x) (PP-OCRv4 rec's SVTR blocks) and GELU's tanh
// form x·(1 + tanh(√(2/π)·(x + 0.044715·x³)))/2 (GPT-2's MLP): those were split by a Q/DQ pair on each factor of
// their Mul, a QLinearMul and two more roundings; as regions the runtime computes each in one lookup (opt's
// fuse_qdq_lookup evaluates them with its own kernels) or fused float ops.
var pointwiseOps = map[string]bool{"Add": true, "Sub": true, "Mul": true, "Div": true, "Max": true, "Min": true,
	"Relu": true, "Clip": true, "Identity": true, "Erf": true, "Sigmoid": true, "Tanh": true, "Pow": true}

// pointwiseSources maps every value computed by pointwise ops from one non-constant tensor (and constants) to that
// tensor: x+3, Clip(x+3, 0, 6), x·Clip(x+3, 0, 6)/6 (PP-OCR's spelled-out HardSwish), a·x+b (its learnable affine
// blocks), LayerNorm's var+ε and γ·x̂+β all map to their x. g.Nodes must be in topological order.
func pointwiseSources(g *ir.Graph, prod map[string]*ir.Node) map[string]string {
	src := map[string]string{}
	for _, n := range g.Nodes {
		if !pointwiseOps[n.OpType] || !n.IsDefaultDomain() || len(n.Outputs) != 1 {
			continue
		}
		s := ""
		for _, v := range n.Inputs {
			if v == "" || constTensor(g, prod, v) != nil {
				continue
			}
			if r, ok := src[v]; ok {
				v = r
			}
			if s != "" && s != v {
				s = ""
				break
			}
			s = v
		}
		if s != "" {
			src[n.Outputs[0]] = s
		}
	}
	return src
}

// scalarOperands reports whether every constant input of n has one element, so that n folds into a lookup table
// of its other input (a per-channel constant does not).
func scalarOperands(g *ir.Graph, prod map[string]*ir.Node, n *ir.Node) bool {
	for _, v := range n.Inputs {
		if t := constTensor(g, prod, v); v != "" && t != nil && t.Len() != 1 {
			return false
		}
	}
	return true
}

// flatRange narrows [lo, hi], the calibrated range of x, to the part where the pointwise region reading x (the
// values src maps to x) is not constant: below −3 HardSwish is 0 and Relu6 is 0 below 0 and 6 above 6, so a
// quantized x that saturates there gives exactly the same region outputs, and the 8-bit steps go where the outputs
// change. It evaluates the region on a grid of the range; a region with a non-scalar constant (per-channel, whose
// flat parts differ by channel) or an op it cannot evaluate leaves the range as it is.
func flatRange(g *ir.Graph, prod map[string]*ir.Node, cons map[string][]*ir.Node, src map[string]string, x string,
	lo, hi float32) (float32, float32) {
	const n = 4096
	if !(hi > lo) {
		return lo, hi
	}
	xs := make([]float64, n+1)
	for i := range xs {
		xs[i] = float64(lo) + (float64(hi)-float64(lo))*float64(i)/n
	}
	vals := map[string][]float64{x: xs}
	var outs []string
	for _, nd := range g.Nodes {
		if len(nd.Outputs) != 1 || src[nd.Outputs[0]] != x {
			continue
		}
		ins := make([][]float64, len(nd.Inputs))
		for i, v := range nd.Inputs {
			if v == "" {
				continue
			}
			if t := constTensor(g, prod, v); t != nil {
				if t.Len() != 1 || !t.DType.IsFloat() {
					return lo, hi
				}
				c := t.Float64s()[0]
				ins[i] = []float64{c}
				continue
			}
			if ins[i] = vals[v]; ins[i] == nil {
				return lo, hi
			}
		}
		y, ok := evalPointwise(nd, ins, n+1)
		if !ok {
			return lo, hi
		}
		out := nd.Outputs[0]
		vals[out] = y
		for _, c := range cons[out] {
			if len(c.Outputs) != 1 || src[c.Outputs[0]] != x {
				outs = append(outs, out)
				break
			}
		}
		if g.IsGraphOutput(out) {
			outs = append(outs, out)
		}
	}
	for _, c := range cons[x] {
		if len(c.Outputs) != 1 || src[c.Outputs[0]] != x {
			return lo, hi // x itself is read outside the region
		}
	}
	if len(outs) == 0 {
		return lo, hi
	}
	flat := func(i, j int) bool { // the outputs at grid points i and j are equal
		for _, o := range outs {
			if vals[o][i] != vals[o][j] {
				return false
			}
		}
		return true
	}
	a, b := 0, n
	for a < n && flat(0, a+1) {
		a++
	}
	for b > a && flat(n, b-1) {
		b--
	}
	// Keep 0 inside the range (asymmetric quantization represents it exactly) and leave a range that is flat
	// throughout as it was.
	if a >= b {
		return lo, hi
	}
	return min(float32(xs[a]), 0), max(float32(xs[b]), 0)
}

// evalPointwise applies one pointwise node to n grid values (constants are length-1 slices).
func evalPointwise(nd *ir.Node, ins [][]float64, n int) ([]float64, bool) {
	at := func(k, i int) float64 {
		if len(ins[k]) == 1 {
			return ins[k][0]
		}
		return ins[k][i]
	}
	y := make([]float64, n)
	switch nd.OpType {
	case "Identity", "Relu", "Erf", "Sigmoid", "Tanh":
		if len(ins) < 1 || ins[0] == nil {
			return nil, false
		}
		for i := range y {
			y[i] = at(0, i)
			switch nd.OpType {
			case "Relu":
				y[i] = max(y[i], 0)
			case "Erf":
				y[i] = math.Erf(y[i])
			case "Sigmoid":
				y[i] = 1 / (1 + math.Exp(-y[i]))
			case "Tanh":
				y[i] = math.Tanh(y[i])
			}
		}
	case "Clip":
		if len(ins) < 1 || ins[0] == nil {
			return nil, false
		}
		a, b := math.Inf(-1), math.Inf(1)
		if len(ins) > 1 && ins[1] != nil {
			a = ins[1][0]
		}
		if len(ins) > 2 && ins[2] != nil {
			b = ins[2][0]
		}
		if nd.Attr("min") != nil || nd.Attr("max") != nil { // opset < 11
			a, b = float64(nd.AttrFloat("min", -math.MaxFloat32)), float64(nd.AttrFloat("max", math.MaxFloat32))
		}
		for i := range y {
			y[i] = min(max(at(0, i), a), b)
		}
	default:
		if len(ins) != 2 || ins[0] == nil || ins[1] == nil {
			return nil, false
		}
		for i := range y {
			p, q := at(0, i), at(1, i)
			switch nd.OpType {
			case "Add":
				y[i] = p + q
			case "Sub":
				y[i] = p - q
			case "Mul":
				y[i] = p * q
			case "Div":
				y[i] = p / q
			case "Max":
				y[i] = max(p, q)
			case "Min":
				y[i] = min(p, q)
			case "Pow":
				y[i] = math.Pow(p, q)
			default:
				return nil, false
			}
		}
	}
	return y, true
}

// featureOperands reports whether n has a constant input with more than one value and every such input varies
// along its last axis alone ([D], [1, 1, D]): a transformer's per-feature scale or bias.
func featureOperands(g *ir.Graph, prod map[string]*ir.Node, n *ir.Node) bool {
	found := false
	for _, v := range n.Inputs {
		t := constTensor(g, prod, v)
		if v == "" || t == nil || t.Len() == 1 {
			continue
		}
		for _, d := range t.Shape[:t.Rank()-1] {
			if d != 1 {
				return false
			}
		}
		found = true
	}
	return found
}
