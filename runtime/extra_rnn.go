package runtime

import (
	"math"
	"strings"

	"github.com/hone-ml/hone/ir"
	"github.com/hone-ml/hone/kernels"
)

// LSTM, GRU and RNN (ONNX opsets 7–22; layout arrived in 14). All three run the same way: the input projection
// X·Wᵀ for every time step is one GEMM up front, then each step does one GEMM of the hidden state with Rᵀ and the
// gate arithmetic on whole rows with the kernels package's vector activations. Computation is in float32; other
// float dtypes are converted on the way in and out.

type xRNNKind int

const (
	xKindRNN xRNNKind = iota
	xKindGRU
	xKindLSTM
)

// xGates is the number of gate blocks in W/R per kind.
var xGates = [...]int{xKindRNN: 1, xKindGRU: 3, xKindLSTM: 4}

// xActKind enumerates the activation functions ONNX allows inside recurrent cells.
type xActKind int

const (
	xActRelu xActKind = iota
	xActTanh
	xActSigmoid
	xActAffine
	xActLeakyRelu
	xActThresholdedRelu
	xActScaledTanh
	xActHardSigmoid
	xActElu
	xActSoftsign
	xActSoftplus
)

// xActSpec names each activation, whether it takes alpha/beta and their defaults (ONNX Runtime's defaults, which
// the ONNX operator docs of opset 1–6 state for the standalone ops).
var xActSpec = map[string]struct {
	kind              xActKind
	useA, useB        bool
	defAlpha, defBeta float32
}{
	"relu":            {kind: xActRelu},
	"tanh":            {kind: xActTanh},
	"sigmoid":         {kind: xActSigmoid},
	"affine":          {kind: xActAffine, useA: true, useB: true, defAlpha: 1},
	"leakyrelu":       {kind: xActLeakyRelu, useA: true, defAlpha: 0.01},
	"thresholdedrelu": {kind: xActThresholdedRelu, useA: true, defAlpha: 1},
	"scaledtanh":      {kind: xActScaledTanh, useA: true, useB: true, defAlpha: 1, defBeta: 1},
	"hardsigmoid":     {kind: xActHardSigmoid, useA: true, useB: true, defAlpha: 0.2, defBeta: 0.5},
	"elu":             {kind: xActElu, useA: true, defAlpha: 1},
	"softsign":        {kind: xActSoftsign},
	"softplus":        {kind: xActSoftplus},
}

// xAct is one resolved activation.
type xAct struct {
	kind        xActKind
	alpha, beta float32
}

// apply runs the activation over x in place; the common ones go through the vectorised kernels.
func (a xAct) apply(x []float32) {
	switch a.kind {
	case xActTanh:
		kernels.Tanh(x, x)
	case xActSigmoid:
		kernels.Sigmoid(x, x)
	case xActRelu:
		for i, v := range x {
			if v < 0 {
				x[i] = 0
			}
		}
	case xActAffine:
		for i, v := range x {
			x[i] = a.alpha*v + a.beta
		}
	case xActLeakyRelu:
		for i, v := range x {
			if v < 0 {
				x[i] = a.alpha * v
			}
		}
	case xActThresholdedRelu:
		for i, v := range x {
			if v <= a.alpha {
				x[i] = 0
			}
		}
	case xActScaledTanh:
		for i, v := range x {
			x[i] = a.alpha * float32(math.Tanh(float64(a.beta*v)))
		}
	case xActHardSigmoid:
		for i, v := range x {
			x[i] = max(0, min(1, a.alpha*v+a.beta))
		}
	case xActElu:
		for i, v := range x {
			if v < 0 {
				x[i] = a.alpha * float32(math.Expm1(float64(v)))
			}
		}
	case xActSoftsign:
		for i, v := range x {
			x[i] = v / (1 + float32(math.Abs(float64(v))))
		}
	case xActSoftplus:
		for i, v := range x {
			x[i] = float32(math.Log1p(math.Exp(float64(v))))
		}
	}
}

// xRNN is a compiled LSTM/GRU/RNN node.
type xRNN struct {
	kind         xRNNKind
	hidden       int // hidden_size, 0 when it must come from W
	dirs         int
	reverse0     bool     // the only direction runs backwards (direction="reverse")
	acts         [][]xAct // per direction
	clip         float32  // 0: no clipping
	layout       int
	linearBefore bool // GRU linear_before_reset
	inputForget  bool // LSTM input_forget
}

// xBuildRNN returns the Builder for one recurrent kind.
func xBuildRNN(kind xRNNKind) Builder {
	return func(b *BuildCtx) (Kernel, error) {
		n := b.Node
		r := &xRNN{kind: kind, hidden: int(n.AttrInt("hidden_size", 0)), dirs: 1}
		if r.hidden < 0 {
			return nil, Invalidf("hidden_size %d is negative", r.hidden)
		}
		switch d := n.AttrString("direction", "forward"); d {
		case "forward":
		case "reverse":
			r.reverse0 = true
		case "bidirectional":
			r.dirs = 2
		default:
			return nil, Invalidf("direction %q", d)
		}
		if a := n.Attr("clip"); a != nil {
			if a.F <= 0 {
				return nil, Invalidf("clip %v must be positive", a.F)
			}
			r.clip = a.F
		}
		r.layout = int(n.AttrInt("layout", 0))
		if r.layout != 0 && r.layout != 1 {
			return nil, Invalidf("layout %d", r.layout)
		}
		if b.Opset < 14 && r.layout != 0 {
			return nil, Invalidf("layout needs opset 14, model has %d", b.Opset)
		}
		r.linearBefore = n.AttrInt("linear_before_reset", 0) != 0
		r.inputForget = n.AttrInt("input_forget", 0) != 0
		if kind == xKindLSTM && n.AttrInt("output_sequence", 0) != 0 && b.Opset < 7 {
			return nil, Unsupportedf("output_sequence (opset 1 LSTM)")
		}
		var defs []string
		switch kind {
		case xKindRNN:
			defs = []string{"Tanh"}
		case xKindGRU:
			defs = []string{"Sigmoid", "Tanh"}
		case xKindLSTM:
			defs = []string{"Sigmoid", "Tanh", "Tanh"}
		}
		var names []string
		if a := n.Attr("activations"); a != nil {
			names = append(names, a.Strings...)
		}
		per := len(defs)
		switch {
		case len(names) == 0:
			for range r.dirs {
				names = append(names, defs...)
			}
		case len(names) == per && r.dirs == 2:
			// One set given for a bidirectional node: ONNX Runtime applies it to both directions.
			names = append(names, names...)
		case len(names) != per*r.dirs:
			return nil, Invalidf("%d activations given, want %d", len(names), per*r.dirs)
		}
		alphas, betas := n.AttrFloats("activation_alpha", nil), n.AttrFloats("activation_beta", nil)
		for d := range r.dirs {
			var set []xAct
			for _, name := range names[d*per : (d+1)*per] {
				spec, ok := xActSpec[strings.ToLower(name)]
				if !ok {
					return nil, Unsupportedf("activation %q", name)
				}
				a := xAct{kind: spec.kind, alpha: spec.defAlpha, beta: spec.defBeta}
				// alpha and beta values are consumed in order by the activations that take them.
				if spec.useA && len(alphas) > 0 {
					a.alpha, alphas = alphas[0], alphas[1:]
				}
				if spec.useB && len(betas) > 0 {
					a.beta, betas = betas[0], betas[1:]
				}
				set = append(set, a)
			}
			r.acts = append(r.acts, set)
		}
		return KernelFunc(r.run), nil
	}
}

// xF32Input converts input i to float32, checking its shape against want (-1 = any).
func xF32Input(in []*ir.Tensor, i int, what string, want ...int) ([]float32, error) {
	t := nnInput(in, i)
	if t == nil {
		return nil, nil
	}
	if !nnIsFloat(t.DType) {
		return nil, Unsupportedf("%s has dtype %s; want a float type", what, t.DType)
	}
	if err := tCheckStorage(t); err != nil {
		return nil, err
	}
	if len(t.Shape) != len(want) {
		return nil, Invalidf("%s has shape %v; want rank %d", what, t.Shape, len(want))
	}
	for k, w := range want {
		if w >= 0 && t.Shape[k] != w {
			return nil, Invalidf("%s has shape %v; want %v", what, t.Shape, want)
		}
	}
	return nnF32(t)
}

func (r *xRNN) run(ctx *Ctx, in []*ir.Tensor) ([]*ir.Tensor, error) {
	x, err := nnFloatInput(in, 0, "X")
	if err != nil {
		return nil, err
	}
	if err := tCheckStorage(x); err != nil {
		return nil, err
	}
	if x.Rank() != 3 {
		return nil, Invalidf("X has shape %v; want rank 3", x.Shape)
	}
	seq, batch, isz := x.Shape[0], x.Shape[1], x.Shape[2]
	if r.layout == 1 {
		seq, batch = batch, seq
	}
	w := nnInput(in, 1)
	if w == nil || w.Rank() != 3 {
		return nil, Invalidf("W must be present with rank 3")
	}
	G := xGates[r.kind]
	H := r.hidden
	if H == 0 {
		if w.Shape[1]%G != 0 {
			return nil, Invalidf("W has shape %v: dim 1 is not a multiple of %d", w.Shape, G)
		}
		H = w.Shape[1] / G
	}
	D := r.dirs
	GH := G * H
	wv, err := xF32Input(in, 1, "W", D, GH, isz)
	if err != nil {
		return nil, err
	}
	rv, err := xF32Input(in, 2, "R", D, GH, H)
	if err != nil {
		return nil, err
	}
	if rv == nil {
		return nil, Invalidf("missing input R")
	}
	bv, err := xF32Input(in, 3, "B", D, 2*GH)
	if err != nil {
		return nil, err
	}
	stateShape := []int{D, batch, H}
	if r.layout == 1 {
		stateShape = []int{batch, D, H}
	}
	h0, err := xF32Input(in, 5, "initial_h", stateShape...)
	if err != nil {
		return nil, err
	}
	var c0, peep []float32
	if r.kind == xKindLSTM {
		if c0, err = xF32Input(in, 6, "initial_c", stateShape...); err != nil {
			return nil, err
		}
		if peep, err = xF32Input(in, 7, "P", D, 3*H); err != nil {
			return nil, err
		}
	}
	lens := make([]int, batch)
	for i := range lens {
		lens[i] = seq
	}
	if sl := nnInput(in, 4); sl != nil {
		v, err := tInts(sl, "sequence_lens")
		if err != nil {
			return nil, err
		}
		if len(v) != batch {
			return nil, Invalidf("sequence_lens has %d entries for batch %d", len(v), batch)
		}
		for i, l := range v {
			if l < 0 || l > int64(seq) {
				return nil, Invalidf("sequence_lens[%d] = %d outside [0, %d]", i, l, seq)
			}
			lens[i] = int(l)
		}
	}
	xv, err := nnF32(x)
	if err != nil {
		return nil, err
	}
	if r.layout == 1 && seq > 1 && batch > 1 {
		// Make X time-major so that one GEMM row block is one time step.
		t := make([]float32, len(xv))
		for b := range batch {
			for s := range seq {
				copy(t[(s*batch+b)*isz:(s*batch+b+1)*isz], xv[(b*seq+s)*isz:(b*seq+s+1)*isz])
			}
		}
		xv = t
	}

	// Outputs in ONNX layout 0; layout 1 is produced by a permutation at the end.
	yAll := make([]float32, seq*D*batch*H)
	yh := make([]float32, D*batch*H)
	var yc []float32
	if r.kind == xKindLSTM {
		yc = make([]float32, D*batch*H)
	}
	state := func(v []float32, d int) []float32 {
		out := make([]float32, batch*H)
		if v == nil {
			return out
		}
		for b := range batch {
			src := (d*batch + b) * H
			if r.layout == 1 {
				src = (b*D + d) * H
			}
			copy(out[b*H:(b+1)*H], v[src:src+H])
		}
		return out
	}
	xw := make([]float32, seq*batch*GH)
	for d := range D {
		// Input projection for all steps: xw[s·batch+b] = X[s,b]·Wᵀ.
		if seq*batch > 0 && isz > 0 {
			kernels.Sgemm(ctx.Par, false, true, seq*batch, GH, isz, 1, xv, isz, wv[d*GH*isz:], isz, 0, xw, GH)
		} else {
			clear(xw)
		}
		c := &xCell{r: r, acts: r.acts[d], H: H, batch: batch, R: rv[d*GH*H : (d+1)*GH*H]}
		if bv != nil {
			c.wb, c.rb = bv[d*2*GH:d*2*GH+GH], bv[d*2*GH+GH:(d+1)*2*GH]
		}
		if peep != nil {
			c.peep = peep[d*3*H : (d+1)*3*H]
		}
		reverse := r.reverse0 || d == 1
		h, cs := state(h0, d), state(c0, d)
		c.step(ctx, xw, yAll, d, D, seq, lens, reverse, h, cs)
		copy(yh[d*batch*H:], h)
		if yc != nil {
			copy(yc[d*batch*H:], cs)
		}
	}

	outs := make([]*ir.Tensor, 3)
	mk := func(v []float32, shape ...int) *ir.Tensor {
		o := nnAlloc(ctx, x.DType, shape...)
		copy(o.F, v)
		return o.done()
	}
	if r.layout == 0 {
		outs[0] = mk(yAll, seq, D, batch, H)
		outs[1] = mk(yh, D, batch, H)
		if yc != nil {
			outs[2] = mk(yc, D, batch, H)
		}
	} else {
		// [seq, D, batch, H] → [batch, seq, D, H]; states [D, batch, H] → [batch, D, H].
		y := make([]float32, len(yAll))
		for s := range seq {
			for d := range D {
				for b := range batch {
					copy(y[((b*seq+s)*D+d)*H:][:H], yAll[((s*D+d)*batch+b)*H:][:H])
				}
			}
		}
		outs[0] = mk(y, batch, seq, D, H)
		perm := func(v []float32) []float32 {
			o := make([]float32, len(v))
			for d := range D {
				for b := range batch {
					copy(o[(b*D+d)*H:][:H], v[(d*batch+b)*H:][:H])
				}
			}
			return o
		}
		outs[1] = mk(perm(yh), batch, D, H)
		if yc != nil {
			outs[2] = mk(perm(yc), batch, D, H)
		}
	}
	if r.kind != xKindLSTM {
		outs = outs[:2]
	}
	return outs, nil
}

// xCell runs one direction of a recurrent node.
type xCell struct {
	r        *xRNN
	acts     []xAct
	H, batch int
	R        []float32 // [G·H, H]
	wb, rb   []float32 // [G·H] each, nil without B
	peep     []float32 // [3H] (i, o, f), nil without P
}

func (c *xCell) clip(v []float32) {
	if c.r.clip == 0 {
		return
	}
	lim := c.r.clip
	for i, x := range v {
		v[i] = max(-lim, min(lim, x))
	}
}

// step runs every time step of one direction. h and cs hold the states (updated in place; cs is unused by RNN
// and GRU); Y rows for steps past a batch entry's sequence length stay zero and its state stops changing.
func (c *xCell) step(ctx *Ctx, xw, y []float32, d, D, seq int, lens []int, reverse bool, h, cs []float32) {
	H, batch := c.H, c.batch
	G := xGates[c.r.kind]
	GH := G * H
	hr := make([]float32, batch*GH)
	gate := make([]float32, GH)
	var rh []float32 // GRU: r ⊙ h_{t-1}, or the recurrent h-gate term
	if c.r.kind == xKindGRU {
		rh = make([]float32, batch*H)
	}
	par := kernels.Runner(nil)
	if batch*GH*H >= 1<<16 {
		par = ctx.Par
	}
	for s := range seq {
		// Recurrent projection for the whole batch. GRU without linear_before_reset needs r first, so only z and r.
		n, addRec := GH, GH
		if c.r.kind == xKindGRU {
			addRec = 2 * H
			if !c.r.linearBefore {
				n = 2 * H
			}
		}
		if H > 0 && batch > 0 {
			kernels.Sgemm(par, false, true, batch, n, H, 1, h, H, c.R, H, 0, hr, GH)
		}
		for b := range batch {
			if s >= lens[b] {
				continue
			}
			t := s
			if reverse {
				t = lens[b] - 1 - s
			}
			g := gate
			copy(g, xw[(t*batch+b)*GH:][:GH])
			hb := h[b*H : (b+1)*H]
			hrb := hr[b*GH : (b+1)*GH]
			// GRU's h-gate recurrent term is scaled by r in gru, so only z and r take it here.
			for i := range min(n, addRec) {
				g[i] += hrb[i]
			}
			if c.wb != nil {
				for i := range g {
					g[i] += c.wb[i]
				}
				if c.r.kind != xKindGRU {
					for i := range g {
						g[i] += c.rb[i]
					}
				} else {
					// GRU: R's h-gate bias belongs with the recurrent term (see below).
					for i := range 2 * H {
						g[i] += c.rb[i]
					}
				}
			}
			switch c.r.kind {
			case xKindRNN:
				c.clip(g)
				c.acts[0].apply(g)
				copy(hb, g)
			case xKindLSTM:
				c.lstm(g, hb, cs[b*H:(b+1)*H])
			case xKindGRU:
				c.gru(g, hb, hrb, rh[b*H:(b+1)*H])
			}
			copy(y[((t*D+d)*batch+b)*H:][:H], hb)
		}
	}
}

// lstm finishes one LSTM step for one batch row: g holds the i, o, f, c pre-activations without peepholes.
func (c *xCell) lstm(g, h, cell []float32) {
	H := c.H
	gi, gO, gf, gc := g[:H], g[H:2*H], g[2*H:3*H], g[3*H:]
	if c.peep != nil {
		pi, pf := c.peep[:H], c.peep[2*H:]
		for j := range H {
			gi[j] += pi[j] * cell[j]
			gf[j] += pf[j] * cell[j]
		}
	}
	c.clip(g[:H])
	c.clip(g[2*H:])
	c.acts[0].apply(gf)
	if c.r.inputForget {
		for j := range H {
			gi[j] = 1 - gf[j]
		}
	} else {
		c.acts[0].apply(gi)
	}
	c.acts[1].apply(gc)
	for j := range H {
		cell[j] = gf[j]*cell[j] + gi[j]*gc[j]
	}
	if c.peep != nil {
		po := c.peep[H : 2*H]
		for j := range H {
			gO[j] += po[j] * cell[j]
		}
	}
	c.clip(gO)
	c.acts[0].apply(gO)
	copy(h, cell)
	c.acts[2].apply(h)
	for j := range H {
		h[j] *= gO[j]
	}
}

// gru finishes one GRU step for one batch row: g holds z, r (complete pre-activations) and X·Wₕᵀ + Wbₕ; hr holds
// h·Rᵀ (all three blocks when linear_before_reset, else only z and r).
func (c *xCell) gru(g, h, hr, rh []float32) {
	H := c.H
	gz, gr, gh := g[:H], g[H:2*H], g[2*H:]
	c.clip(g[:2*H])
	c.acts[0].apply(g[:2*H])
	rhBias := []float32(nil)
	if c.rb != nil {
		rhBias = c.rb[2*H:]
	}
	rH := c.R[2*H*H:]
	if c.r.linearBefore {
		for j := range H {
			v := hr[2*H+j]
			if rhBias != nil {
				v += rhBias[j]
			}
			gh[j] += gr[j] * v
		}
	} else {
		for j := range H {
			rh[j] = gr[j] * h[j]
		}
		for j := range H {
			row := rH[j*H : (j+1)*H]
			var acc float32
			for k, v := range rh {
				acc += v * row[k]
			}
			if rhBias != nil {
				acc += rhBias[j]
			}
			gh[j] += acc
		}
	}
	c.clip(gh)
	c.acts[1].apply(gh)
	for j := range H {
		h[j] = (1-gz[j])*gh[j] + gz[j]*h[j]
	}
}
