package quant

import (
	"fmt"
	"math"
	"slices"

	"github.com/hone-ml/hone/ir"
	"github.com/hone-ml/hone/runtime"
)

// homogeneous are the ops between two convolutions that cross-layer equalization may scale through, each channel
// by its own s: f(x/s) = f(x)/s for every s > 0 (pooling works channel by channel). HardSwish, Clip(0, 6), Sigmoid
// and the like are not, so a pair joined by one of them is left as it is.
var homogeneous = map[string]bool{"Relu": true, "LeakyRelu": true, "Identity": true, "MaxPool": true,
	"AveragePool": true, "GlobalAveragePool": true}

// eqPair is a convolution A whose output channel i reaches only input channel i of convolution B, through ops of
// homogeneous only.
type eqPair struct {
	a, b *ir.Node
	dw   bool // B convolves each input channel on its own (group = A's output channels)
}

// equalizePairs finds the pairs cross-layer equalization applies to in g.
func equalizePairs(g *ir.Graph) []eqPair {
	prod, cons := g.Producers(), g.Consumers()
	own := func(n *ir.Node, i int) *ir.Tensor { // a float32 constant input read by n alone
		v := n.Input(i)
		t := constTensor(g, prod, v)
		if t == nil || t.DType != ir.Float32 || len(cons[v]) != 1 || g.IsGraphOutput(v) {
			return nil
		}
		return t
	}
	var pairs []eqPair
	for _, a := range g.Nodes {
		if a.OpType != "Conv" || !a.IsDefaultDomain() || len(a.Outputs) != 1 {
			continue
		}
		wa := own(a, 1)
		if wa == nil || wa.Rank() < 3 || wa.Len() == 0 {
			continue
		}
		if a.Input(2) != "" {
			if ba := own(a, 2); ba == nil || ba.Len() != wa.Shape[0] {
				continue
			}
		}
		v := a.Outputs[0]
		var b *ir.Node
		for len(cons[v]) == 1 && !g.IsGraphOutput(v) {
			c := cons[v][0]
			if c.OpType == "Conv" && c.Input(0) == v {
				b = c
				break
			}
			if !homogeneous[c.OpType] || len(c.Outputs) != 1 || c.Input(0) != v {
				break
			}
			v = c.Outputs[0]
		}
		if b == nil || !b.IsDefaultDomain() {
			continue
		}
		wb := own(b, 1)
		if wb == nil || wb.Rank() != wa.Rank() || wb.Len() == 0 || int64(wb.Shape[1])*b.AttrInt("group", 1) != int64(wa.Shape[0]) {
			continue
		}
		pairs = append(pairs, eqPair{a, b, wb.Shape[1] == 1 && b.AttrInt("group", 1) > 1})
	}
	return pairs
}

// equalize applies cross-layer equalization (Nagel et al. 2019, "Data-Free Quantization Through Weight
// Equalization and Bias Correction", §4.1) to g's pairs: output channel i of A is divided by s_i and input
// channel i of B multiplied by it, with s_i = √(r1_i/r2_i) for the channels' weight ranges r1_i, r2_i, so both
// ranges become √(r1_i·r2_i). The float function is unchanged (A's bias is divided too, and the ops between are
// positively homogeneous); the per-tensor activation between them gets channels of more even range. Sweeps
// repeat because a convolution can be B of one pair and A of the next. It returns the number of pairs.
func equalize(g *ir.Graph) int {
	pairs := equalizePairs(g)
	prod := g.Producers()
	// Every weight is rewritten into a fresh tensor once (tensors are shared with the model it was cloned from).
	fresh := map[string]*ir.Tensor{}
	tensor := func(v string) *ir.Tensor {
		if t, ok := fresh[v]; ok {
			return t
		}
		t := constTensor(g, prod, v).Clone()
		fresh[v] = t
		return t
	}
	for sweep := 0; sweep < 20 && len(pairs) > 0; sweep++ {
		moved := 0.0
		for _, p := range pairs {
			wa, wb := tensor(p.a.Input(1)), tensor(p.b.Input(1))
			var ba []float32
			if p.a.Input(2) != "" {
				ba = tensor(p.a.Input(2)).F32()
			}
			moved = max(moved, equalizePair(wa, wb, ba, int(p.b.AttrInt("group", 1))))
		}
		if moved < 1e-3 {
			break
		}
	}
	for v, t := range fresh {
		if _, ok := g.Initializers[v]; ok {
			g.SetInitializer(v, t)
		} else {
			prod[v].Attr("value").T = t
		}
	}
	return len(pairs)
}

// equalizePair rescales one pair in place: wa is A's weight [C, ...], ba its bias (or nil), wb B's weight
// [M, C/group, ...]. It returns the largest |log s_i|, how far this step moved.
func equalizePair(wa, wb *ir.Tensor, ba []float32, group int) float64 {
	a, b := wa.F32(), wb.F32()
	c := wa.Shape[0]
	ka := len(a) / c
	m, cg := wb.Shape[0], wb.Shape[1]
	kb := len(b) / (m * cg)
	mg := m / group // B's output channels per group
	moved := 0.0
	for i := 0; i < c; i++ {
		grp, j := i/cg, i%cg // input channel i is column j of group grp's output channels
		var r1, r2 float32
		for _, w := range a[i*ka : (i+1)*ka] {
			r1 = max(r1, abs32(w))
		}
		for o := grp * mg; o < (grp+1)*mg; o++ {
			for _, w := range b[(o*cg+j)*kb : (o*cg+j+1)*kb] {
				r2 = max(r2, abs32(w))
			}
		}
		if r1 == 0 || r2 == 0 {
			continue // a dead channel: nothing to balance
		}
		s := float32(math.Sqrt(float64(r1) / float64(r2)))
		moved = max(moved, math.Abs(math.Log(float64(s))))
		scaleChannel(wa, wb, ba, group, i, s)
	}
	return moved
}

// scaleChannel divides output channel i of A (its weights wa [C, ...] and bias ba, if not nil) by s and
// multiplies B's weights wb [M, C/group, ...] where they read input channel i by s, which leaves A→B's function as
// it is through positively homogeneous ops.
func scaleChannel(wa, wb *ir.Tensor, ba []float32, group, i int, s float32) {
	a, b := wa.F32(), wb.F32()
	ka := len(a) / wa.Shape[0]
	m, cg := wb.Shape[0], wb.Shape[1]
	kb := len(b) / (m * cg)
	mg := m / group
	grp, j := i/cg, i%cg
	for k := i * ka; k < (i+1)*ka; k++ {
		a[k] /= s
	}
	if ba != nil {
		ba[i] /= s
	}
	for o := grp * mg; o < (grp+1)*mg; o++ {
		for k := (o*cg + j) * kb; k < (o*cg+j+1)*kb; k++ {
			b[k] *= s
		}
	}
}

// maxEqualizeGain bounds the factor equalizeDepthwise amplifies a channel by: a nearly dead channel is left
// nearly dead rather than blown up by millions.
const maxEqualizeGain = 1 << 10

// equalizeDepthwise rescales every pair whose B is a depthwise convolution (PP-OCRv4 rec's stem Conv → depthwise
// Conv, MobileNets' pairs joined by Relu) from the activation between them rather than from the weights: channel i
// of B's input is multiplied by t_i = r_max/r_i, r_i its largest |value| over data, so every channel reaches the
// range of the widest and the one per-tensor int8 scale of that activation resolves them all. Both sides of the
// scaling are per-channel quantities (A's output channels, the depthwise B's per-channel weights), so unlike
// weight-range equalization it costs the weights no precision, and it is exact in float. rec's stem output spans
// |max| 1.2 to 25.6 across its 16 channels; evening them raised rec's int8 top-1 agreement by about a point. It
// runs the float model over data once and returns the number of pairs.
func equalizeDepthwise(m *ir.Model, data Samples) (int, error) {
	g := m.Graph
	var pairs []eqPair
	for _, p := range equalizePairs(g) {
		if p.dw {
			pairs = append(pairs, p)
		}
	}
	if len(pairs) == 0 {
		return 0, nil
	}
	r := map[string][]float64{} // B's input → each channel's largest |value|
	for _, p := range pairs {
		r[p.b.Input(0)] = nil
	}
	pl, err := runtime.Compile(m, runtime.Options{NoOptimize: true})
	if err != nil {
		return 0, fmt.Errorf("quant: static: %w", err)
	}
	for i := 0; i < data.Len(); i++ {
		in, err := calibrationSample(pl, data, i)
		if err != nil {
			return 0, err
		}
		_, err = pl.RunHook(in, func(n *ir.Node, _, outs []*ir.Tensor, _, _ int64) {
			for j, o := range n.Outputs {
				if _, ok := r[o]; !ok || j >= len(outs) || outs[j] == nil || outs[j].DType != ir.Float32 || outs[j].Rank() < 2 {
					continue
				}
				x := outs[j]
				c := x.Shape[1]
				if r[o] == nil {
					r[o] = make([]float64, c)
				}
				if len(r[o]) != c {
					continue
				}
				inner := ir.NumElements(x.Shape[2:])
				for k, v := range x.F32() {
					ch := (k / inner) % c
					r[o][ch] = max(r[o][ch], math.Abs(float64(v)))
				}
			}
		})
		if err != nil {
			return 0, fmt.Errorf("quant: calibration sample %d: %w", i, err)
		}
	}
	prod := g.Producers()
	fresh := func(v string) *ir.Tensor { // a copy to rescale, stored back in place of v's constant
		t := constTensor(g, prod, v).Clone()
		if _, ok := g.Initializers[v]; ok {
			g.SetInitializer(v, t)
		} else {
			prod[v].Attr("value").T = t
		}
		return t
	}
	k := 0
	for _, p := range pairs {
		ranges := r[p.b.Input(0)]
		wa := constTensor(g, prod, p.a.Input(1))
		if len(ranges) != wa.Shape[0] {
			continue
		}
		top := slices.Max(ranges)
		if !(top > 0) {
			continue
		}
		wa, wb := fresh(p.a.Input(1)), fresh(p.b.Input(1))
		var ba []float32
		if p.a.Input(2) != "" {
			ba = fresh(p.a.Input(2)).F32()
		}
		for i, ri := range ranges {
			if ri > 0 {
				scaleChannel(wa, wb, ba, int(p.b.AttrInt("group", 1)), i, float32(1/min(top/ri, maxEqualizeGain)))
			}
		}
		k++
	}
	return k, nil
}

func abs32(x float32) float32 { return float32(math.Abs(float64(x))) }
