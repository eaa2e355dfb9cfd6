package quant

import (
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"

	"github.com/hone-ml/hone/ir"
	"github.com/hone-ml/hone/opt"
	"github.com/hone-ml/hone/runtime"
)

// Samples is a calibration set, read one sample at a time so memory does not grow with its size.
type Samples interface {
	Len() int
	// Sample returns the i-th sample: one tensor per model input, by name.
	Sample(i int) (map[string]*ir.Tensor, error)
}

// StaticConfig configures Static.
type StaticConfig struct {
	Calibrator Calibrator // default CalMinMax, as ORT's
	Percentile float64    // for CalPercentile; default 99.999, as ORT's
	Bins       int        // histogram bins; default 2048
	Exclude    []string
	// OpTypes are the op types to quantize, from StaticOpTypes (all of them when empty), as ORT's
	// op_types_to_quantize: Conv and MatMul alone leave the elementwise ops, pooling and Concat float.
	OpTypes []string
	// PerTensor gives each weight one scale (max|w|/127) instead of one per output channel, as ORT's
	// per_channel=False: fewer scales to store, at the cost of the channels with small weights.
	PerTensor bool
	// Progress, if set, is called after each calibration run with the runs done and the total.
	Progress func(done, total int)

	// Eval, if set, is data the result is measured on against the float model (guard.go): top-1 agreement, SQNR
	// and cosine of the first output, plus top-1 accuracy when Labels holds one class per sample.
	Eval   Samples
	Labels []int64
	// Metric is what Eval is scored by (guard.go): top-1 agreement (or accuracy with Labels), per-pixel class
	// agreement, IoU of a thresholded map, or cosine; MetricAuto picks top-1 or pixel where the output holds
	// class scores.
	Metric Metric
	// EvalOutput names the output Eval is judged on; the first when empty.
	EvalOutput string
	// MaxAccuracyDrop, if positive, is the largest drop allowed on Eval (a fraction: 0.003 is 0.3 points of
	// top-1 accuracy with Labels, else of top-1 agreement lost); the most sensitive layers stay float until it holds.
	MaxAccuracyDrop float64
	// HoldOut is the fraction of Eval, in [0, 1), the accuracy guard does not choose its float layers by: spread
	// evenly through Eval and measured once at the end (Report.HeldOut), it tells how far the drop the guard
	// reached on the rest holds on data it has not seen. Only with MaxAccuracyDrop.
	HoldOut float64
	// Guard, if set, is told what the accuracy guard measured, as it goes.
	Guard func(msg string)
	// Equalize applies cross-layer equalization (equalize.go) to Conv pairs joined by Relu-like ops before
	// calibrating; the float function is unchanged.
	Equalize bool
	// BiasCorrect subtracts from each quantized Conv's and Gemm's bias the shift quantization makes in its
	// output channels' means on the calibration data (biascorrect.go): one more pass of the quantized model per
	// layer. The biases are corrected for the fully quantized model; layers the guard then keeps float keep them.
	BiasCorrect bool
	// WeightRounding is how Conv, Gemm and MatMul weights are rounded onto their int8 grid (the scales stay
	// max|w|/127 per channel): RoundGPTQ, the default, corrects each layer's weights for the quantization of its
	// input and rounds them with GPTQ against the quantized inputs' Hessian, from one more float pass over the
	// calibration data (gptq.go); RoundNearest rounds each weight alone. Measured on PP-OCRv4 rec (per-step
	// top-1 agreement with fp32, 64 rendered lines): MinMax 0.977 → 0.982, Percentile 0.961 → 0.973, Entropy
	// 0.870 → 0.982 (the correction undoes most of Entropy's clipping of an SE-gated tensor); cls 0.988 → 0.992
	// with MinMax; det within ±0.004 IoU.
	WeightRounding WeightRounding
	// Activations is the activations' integer type: ir.Int8 (the default; S8S8 with the int8 weights) or
	// ir.Uint8 (U8S8, the form ONNX Runtime's x86 kernels take without session.qdqisint8allowed; hone runs
	// both on the same u8×s8 kernels).
	Activations ir.DType
}

// StaticOpTypes are the op types Static puts Q/DQ pairs around (ORT's QDQ registry, minus ops hone has no int8
// use for): all of them by default, StaticConfig.OpTypes to choose.
var StaticOpTypes = []string{"Conv", "ConvTranspose", "Gemm", "MatMul", "Add", "Mul", "MaxPool", "AveragePool", "GlobalAveragePool",
	"Concat", "Resize", "Gather"}

// boundedOps produce values in a fixed range ([0, 1]), which calibration keeps whole.
var boundedOps = map[string]bool{"Sigmoid": true, "HardSigmoid": true, "Softmax": true}

// ErrNoCalibrationData is returned when the calibration set is empty.
var ErrNoCalibrationData = errors.New("quant: static mode needs calibration data, and the set is empty")

// Static quantizes m with calibrated activation ranges into ONNX's QDQ format, as ORT's quantize_static does with
// QuantFormat.QDQ and S8S8: activations int8 asymmetric (uint8 with cfg.Activations; QuantizeLinear→
// DequantizeLinear on every float input and output of a quantized op), weights int8 symmetric per output channel,
// Conv/Gemm biases int32 with scale s_in·s_w. Before calibrating it folds BatchNormalization and similar into the
// weights (opt's lossless passes, standard ONNX ops only). Calibration streams: each sample runs once for the
// ranges and, for the histogram calibrators, once more for the histograms. With cfg.Eval it also measures the
// result against the float model, and with cfg.MaxAccuracyDrop it keeps the most sensitive layers in float until
// the drop is within bounds (guard.go).
func Static(m *ir.Model, data Samples, cfg StaticConfig) (*ir.Model, *Report, error) {
	if cfg.MaxAccuracyDrop > 0 && (cfg.Eval == nil || cfg.Eval.Len() == 0) {
		return nil, nil, errors.New("quant: --max-accuracy-drop needs evaluation data (--eval)")
	}
	for _, op := range cfg.OpTypes {
		if !slices.Contains(StaticOpTypes, op) {
			return nil, nil, fmt.Errorf("quant: static: cannot quantize op type %q (want %s)", op, strings.Join(StaticOpTypes, ", "))
		}
	}
	if !(cfg.HoldOut >= 0 && cfg.HoldOut < 1) {
		return nil, nil, fmt.Errorf("quant: the held-out fraction %g of the evaluation data is not in [0, 1)", cfg.HoldOut)
	}
	sp, err := prepareStatic(m, data, cfg)
	if err != nil {
		return nil, nil, err
	}
	if cfg.Eval == nil {
		return sp.emit(nil)
	}
	return guard(m, sp, cfg)
}

// staticPrep is a model made ready for QDQ emission: opset-upgraded, optimised and calibrated. emit writes a
// quantized copy and leaves it as it is, so the accuracy guard can emit it many times with different layers kept
// in float while calibrating only once.
type staticPrep struct {
	m      *ir.Model // the optimised float model
	cand   []int     // indices in m.Graph.Nodes of the nodes to quantize
	params map[string]Params
	// outQ are outputs of candidates read only by a pointwise region (HardSwish's Add/Clip/Mul/Div): they get a
	// Q/DQ pair of their own, which the runtime fuses into the integer op and a lookup of the region. Leaving
	// them float instead (Conv+HardSwish as one unit, quantized once after the HardSwish) measured more faithful
	// on PP-OCR (rec per-step agreement 0.961 vs 0.948 with MinMax, cls 0.995 vs 0.985 with Percentile at 99.99) but
	// 15–20 % slower, as the convolutions then write float and the HardSwish runs in float.
	outQ    []string
	rep     Report     // what preparation decided (notes, nodes kept float, float bytes)
	act     ir.DType   // the activations' integer type
	exclude []string   // node names to keep float (StaticConfig.Exclude)
	gptq    *gptqState // the layers' input Hessians with RoundGPTQ, else nil
	// perTensor rounds weights on one scale per tensor (StaticConfig.PerTensor).
	perTensor bool
	opTypes   []string // the op types to quantize (StaticConfig.OpTypes, or all of StaticOpTypes)
}

func prepareStatic(m *ir.Model, data Samples, cfg StaticConfig) (*staticPrep, error) {
	if err := checkInput(m, cfg.Exclude); err != nil {
		return nil, err
	}
	if data == nil || data.Len() == 0 {
		return nil, ErrNoCalibrationData
	}
	// DequantizeLinear's axis (per-channel weights) is opset 13: older models (PP-OCR's exports, for one) are
	// converted first.
	orig := m
	upgraded, err := upgradeTo13(m, "static")
	if err != nil {
		return nil, err
	}
	if upgraded != nil {
		m = upgraded
	}
	if cfg.Calibrator == "" {
		cfg.Calibrator = CalMinMax
	}
	if cfg.Percentile == 0 {
		cfg.Percentile = 99.999
	}
	if cfg.Bins == 0 {
		cfg.Bins = 2048
	}
	if cfg.Activations == ir.Undefined {
		cfg.Activations = ir.Int8
	}
	qmin, qmax, err := Range(cfg.Activations, Asymmetric, false)
	if err != nil {
		return nil, fmt.Errorf("quant: static: activations: %w (want int8 or uint8)", err)
	}
	if _, err := ParseWeightRounding(string(cfg.WeightRounding)); err != nil {
		return nil, err
	}
	out := m.Clone()
	g := out.Graph
	opsets := opsetMap(m)
	if err := ir.InferGraph(g, opsets); err != nil {
		return nil, fmt.Errorf("quant: static: %w", err)
	}
	if _, err := opt.Run(g, opsets, opt.Options{Level: opt.LevelAll, Validate: true,
		Supported: func(domain, op string) bool {
			// The output must load in ONNX Runtime and pass the ONNX checker: no hone-domain ops, no contrib ops
			// (fuse_gelu's Gelu; the runtime fuses them again when it compiles the result), and none newer than
			// the model's opset.
			return domain != ir.DomainHone && domain != ir.DomainMicrosoft && !(domain == "" && opsets[""] < opSince[op])
		}}); err != nil {
		return nil, fmt.Errorf("quant: static: %w", err)
	}
	g.ValueInfo = map[string]*ir.ValueInfo{}
	sp := &staticPrep{m: out, params: map[string]Params{}, exclude: cfg.Exclude, act: cfg.Activations, perTensor: cfg.PerTensor}
	rep := &sp.rep
	rep.Mode, rep.BytesFloat = "static", initBytes(orig.Graph)
	if upgraded != nil {
		rep.Notes = append(rep.Notes, upgradeNote(orig.Opset("")))
	}
	if cfg.Equalize {
		rep.Notes = append(rep.Notes, fmt.Sprintf("cross-layer equalization: %d Conv pairs rescaled", equalize(g)))
	}
	if k, err := equalizeDepthwise(out, data); err != nil {
		return nil, err
	} else if k > 0 {
		rep.Notes = append(rep.Notes, fmt.Sprintf("%d Conv → depthwise Conv pairs rescaled to even their activation's channel ranges", k))
	}

	// The activations to calibrate: every non-constant float input and output of a node to quantize.
	opTypes := cfg.OpTypes
	if len(opTypes) == 0 {
		opTypes = StaticOpTypes
	}
	sp.opTypes = opTypes
	prod := g.Producers()
	src := pointwiseSources(g, prod)
	var targets []int
	acts := map[string]*stat{}
	pointwise := 0
	for i, n := range g.Nodes {
		if !slices.Contains(opTypes, n.OpType) || n.OpType == "Gather" || !n.IsDefaultDomain() {
			continue // a Gather's table is stored int8 without Q/DQ around it (weightOnly)
		}
		// An Add or Mul of one tensor with constants (x+3 inside HardSwish, an affine a·x+b, LayerNorm's var+ε)
		// is a function of that tensor: quantizing its output only adds a rounding, and in LayerNorm (var+ε
		// quantized on a scale set by the largest variance) it loses the small variances outright. It stays float;
		// the quantized reader downstream quantizes the result once, and the runtime folds an 8-bit source →
		// pointwise chain → Q into one lookup table. Constants along the last axis (LayerNorm's γ and β, a MatMul's
		// bias) stay float too: the runtime folds them into the LayerNormalization or the MatMul's epilogue, where
		// Q/DQ pairs around each cost GPT-tiny's blocks two roundings and six passes per LayerNorm.
		if (n.OpType == "Add" || n.OpType == "Mul") && src[n.Outputs[0]] != "" && (scalarOperands(g, prod, n) || featureOperands(g, prod, n)) {
			pointwise++
			continue
		}
		if slices.Contains(cfg.Exclude, n.Name) {
			rep.keep(n, "excluded")
			continue
		}
		if (n.OpType == "Conv" || n.OpType == "Gemm") && constTensor(g, prod, n.Input(1)) == nil {
			rep.keep(n, "weight is not a constant")
			continue
		}
		// A ConvTranspose is quantized where the runtime runs it on the integers (each output from one input pixel
		// and tap); others keep float activations and int8 weights (convTransposeWeights).
		if n.OpType == "ConvTranspose" && !tilingConvTranspose(n, constTensor(g, prod, n.Input(1))) {
			continue
		}
		targets = append(targets, i)
	}
	targets = dropFloatEnds(g, prod, targets)
	for _, i := range targets {
		n := g.Nodes[i]
		for i, v := range n.Inputs {
			if v != "" && constTensor(g, prod, v) == nil && isActivationInput(n, i) {
				acts[v] = &stat{}
			}
		}
		acts[n.Outputs[0]] = &stat{}
	}
	if len(targets) == 0 {
		return nil, fmt.Errorf("quant: static: no Conv, Gemm, MatMul, Add or pooling node to quantize")
	}
	gptqPasses := 0
	if cfg.WeightRounding != RoundNearest {
		gptqPasses = 1
	}
	if err := calibrate(out, data, acts, cfg, gptqPasses); err != nil {
		return nil, err
	}
	// A value never seen as float32 is integer shape arithmetic (PP-OCR rec's Concat of Cast shape pieces): the
	// node that reads or writes it stays as it is. One whose output is not float32 was never a float op to keep
	// float (a transformer's Concat of shape pieces), so only a float op reading such a value is reported.
	sp.cand = slices.DeleteFunc(targets, func(i int) bool {
		n := g.Nodes[i]
		for _, v := range append(slices.Clone(n.Inputs), n.Outputs[0]) {
			if s, ok := acts[v]; ok && !s.seen {
				if acts[n.Outputs[0]].seen {
					rep.keep(n, "%q is not float32", v)
				}
				return true
			}
		}
		return false
	})
	if len(sp.cand) == 0 {
		return nil, fmt.Errorf("quant: static: no float Conv, Gemm, MatMul, Add or pooling node to quantize")
	}
	cons := g.Consumers()
	// A region with a per-channel constant (a bias Add) is no lookup table: quantizing its source would only
	// round it (PP-OCRv4 rec's MatMul → Add(bias) → Softmax put 6625 logits on an 8-bit grid).
	// So would quantizing the source of a region whose result nothing quantizes: one that is a graph output or
	// read by a float op (a detector's Conv → Sigmoid head, which stays float to the probabilities).
	candidate := map[*ir.Node]bool{}
	for _, i := range sp.cand {
		candidate[g.Nodes[i]] = true
	}
	floatRegion := map[string]bool{} // region sources to leave float: a per-channel constant or an unquantized exit
	for _, n := range g.Nodes {
		if len(n.Outputs) != 1 || src[n.Outputs[0]] == "" {
			continue
		}
		s, o := src[n.Outputs[0]], n.Outputs[0]
		if !scalarOperands(g, prod, n) || g.IsGraphOutput(o) {
			floatRegion[s] = true
		}
		for _, c := range cons[o] {
			if (len(c.Outputs) != 1 || src[c.Outputs[0]] != s) && !candidate[c] {
				floatRegion[s] = true
			}
		}
	}
	regionOut := map[string]bool{} // candidate outputs read only by the lookup-table region they are the source of
	for _, i := range sp.cand {
		v := g.Nodes[i].Outputs[0]
		only := len(cons[v]) > 0 && !g.IsGraphOutput(v) && !floatRegion[v]
		for _, c := range cons[v] {
			only = only && len(c.Outputs) == 1 && src[c.Outputs[0]] == v
		}
		if only {
			regionOut[v] = true
			sp.outQ = append(sp.outQ, v)
		}
	}
	for name, s := range acts {
		if !s.seen {
			continue
		}
		lo, hi := s.rangeFor(cfg.Calibrator, cfg.Percentile)
		// Sigmoid-like outputs are bounded by construction, so they have no outliers to clip: a histogram
		// calibrator would only cut into the bulk (Entropy clipped PP-OCR's HardSigmoid SE gates from [0, 0.7] to
		// [0, 0.12] and cls fell to chance). PyTorch likewise gives these ops fixed [0, 1] parameters
		// (FixedQParamsObserver) instead of calibrating them; the observed range is kept here, which is within it.
		if pn := prod[name]; pn != nil && boundedOps[pn.OpType] {
			lo, hi = s.lo, s.hi
		}
		// A value read only by a pointwise region is the input of a lookup whose output the next layer quantizes
		// with its own calibrated range: that is where a histogram calibrator clips. Clipping the lookup's input
		// too would saturate the region's output before that (Entropy halved PP-OCRv4 rec's Conv→HardSwish
		// inputs), so it keeps the observed range, narrowed to where the region is not flat.
		if regionOut[name] {
			lo, hi = flatRange(g, prod, cons, src, name, s.lo, s.hi)
		}
		sp.params[name] = ComputeParams(lo, hi, qmin, qmax, Asymmetric)
	}
	rep.Notes = append(rep.Notes, fmt.Sprintf("calibrator %s over %d samples, %d activations (%s)", cfg.Calibrator, data.Len(), len(acts), cfg.Activations))
	if cfg.PerTensor {
		rep.Notes = append(rep.Notes, "weights on one scale per tensor")
	}
	if pointwise > 0 {
		rep.Notes = append(rep.Notes, fmt.Sprintf("%d Add/Mul of one tensor and constants left float (folded into their reader's quantization)", pointwise))
	}
	if cfg.WeightRounding != RoundNearest {
		sp.gptq = newGPTQState(g, targets, qmin, qmax)
		var progress func(done, total int)
		if cfg.Progress != nil {
			total := (1 + gptqPasses) * data.Len() // calibrate's passes, then this one
			if cfg.Calibrator.needsHistogram() {
				total += data.Len()
			}
			progress = func(done, _ int) { cfg.Progress(total-data.Len()+done, total) }
		}
		if err := sp.gptq.capture(out, data, sp.params, progress); err != nil {
			return nil, err
		}
	}
	if cfg.BiasCorrect {
		n, err := sp.biasCorrect(data, 1)
		if err != nil {
			return nil, err
		}
		rep.Notes = append(rep.Notes, fmt.Sprintf("bias correction: %d Conv/Gemm biases corrected", n))
	}
	return sp, nil
}

// emit writes the QDQ model with every candidate quantized except those in float (indices into sp.cand's graph),
// which the report lists with their reason.
func (sp *staticPrep) emit(float map[int]string) (*ir.Model, *Report, error) {
	return sp.emitKept(float, false)
}

// emitKept is emit, with the weights of the layers in float stored int8 when weightsInt8 is set (weightsOnly).
func (sp *staticPrep) emitKept(float map[int]string, weightsInt8 bool) (*ir.Model, *Report, error) {
	out := sp.m.Clone()
	g := out.Graph
	rep := sp.rep
	rep.KeptFloat = slices.Clone(rep.KeptFloat)
	rep.Notes = slices.Clone(rep.Notes)
	var targets, kept []*ir.Node
	for _, i := range sp.cand {
		if why, ok := float[i]; ok {
			rep.keep(g.Nodes[i], "%s", why)
			kept = append(kept, g.Nodes[i])
			continue
		}
		targets = append(targets, g.Nodes[i])
	}
	params := maps.Clone(sp.params)
	// MaxPool only selects among its inputs, so its output keeps the input's parameters (as ORT does): the
	// pooled integers are then the input's integers and the runtime can pool int8 directly.
	for _, n := range targets {
		if p, ok := params[n.Input(0)]; ok && n.OpType == "MaxPool" && len(n.Outputs) == 1 {
			params[n.Outputs[0]] = p
		}
	}
	// GPTQ's captures are keyed by each node's output as calibration saw it, before removeActivations renames it.
	keys := map[*ir.Node]string{}
	for _, n := range append(slices.Clone(targets), kept...) {
		if len(n.Outputs) > 0 {
			keys[n] = n.Outputs[0]
		}
	}
	qmin, _, _ := Range(sp.act, Asymmetric, false) // checked by prepareStatic
	removeActivations(g, targets, params, qmin)
	e := &qdqEmitter{g: g, nm: newNamer(g), prod: g.Producers(), params: params, act: sp.act, dq: map[string]string{},
		scales: map[float32]string{}, zeros: map[int32]string{}, gptq: sp.gptq, keys: keys, perTensor: sp.perTensor}
	for _, n := range targets {
		if err := e.quantize(n); err != nil {
			return nil, nil, err
		}
		rep.Quantized = append(rep.Quantized, n.String())
	}
	e.floatInputs = true
	for _, n := range kept {
		if !weightsInt8 {
			break
		}
		if err := e.weightsOnly(n); err != nil {
			return nil, nil, err
		}
	}
	e.floatInputs = false
	quantized := map[*ir.Node]bool{}
	for _, n := range targets {
		quantized[n] = true
	}
	cons := g.Consumers()
	for _, v := range sp.outQ {
		if _, ok := params[v]; !ok || !quantized[e.prod[v]] {
			continue
		}
		readers := cons[v]
		d := e.activation(v)
		for _, r := range readers {
			if r.OpType == "QuantizeLinear" { // v's own Q (a quantized reader made it already)
				continue
			}
			for i, in := range r.Inputs {
				if in == v {
					r.Inputs[i] = d
				}
			}
		}
	}
	if e.coarse > 0 {
		rep.Notes = append(rep.Notes, fmt.Sprintf("per-tensor weights: in %d layer(s) the median output channel's weights reach under "+
			"1/%d of the largest channel's, so over half their channels keep fewer than %.0f of the 127 steps each side of zero "+
			"(worst %s: 1/%.0f); per-channel scales, the default, keep them", e.coarse, coarseSpread, 127.0/coarseSpread, e.coarsest, e.coarsestSpread))
	}
	if sp.gptq != nil {
		rep.Notes = append(rep.Notes, fmt.Sprintf("GPTQ weight rounding (corrected for each layer's int8 input): %d layers; "+
			"%d rounded to nearest (K > %d or past the %d MiB Hessian budget)", e.gptqUsed, sp.gptq.skipped, gptqMaxK, gptqBudget>>20))
	}
	k, err := e.weightOnly(sp.exclude, sp.opTypes)
	if err != nil {
		return nil, nil, err
	}
	for _, op := range slices.Sorted(maps.Keys(k)) {
		rep.Notes = append(rep.Notes, fmt.Sprintf("%d %s %s stored int8, one scale per %s (weights only; the op runs in float)",
			k[op], op, weightOnlyOps[op].what, weightOnlyOps[op].per))
	}
	moveInt8(g)
	g.RemoveUnused()
	if err := g.Sort(nil); err != nil {
		return nil, nil, fmt.Errorf("quant: static: %w", err)
	}
	compact(g)
	rep.BytesQuant = initBytes(g)
	return out, &rep, nil
}

// dropFloatEnds removes from targets each Add or Mul of one activation and constants whose output no target
// reads: its output stays float, so quantizing it computes nothing on integers and only rounds its input (the
// activation's own producer then keeps a float output too). PP-OCRv4 rec's classifier is MatMul → Add(bias) →
// Softmax: quantizing the bias Add put the logits of 6625 classes on an 8-bit grid of step 0.2 before Softmax,
// and the float model's blank-against-space margins are often smaller than that.
func dropFloatEnds(g *ir.Graph, prod map[string]*ir.Node, targets []int) []int {
	cons := g.Consumers()
	for {
		is := map[*ir.Node]bool{}
		for _, i := range targets {
			is[g.Nodes[i]] = true
		}
		n0 := len(targets)
		targets = slices.DeleteFunc(targets, func(i int) bool {
			n := g.Nodes[i]
			if (n.OpType != "Add" && n.OpType != "Mul") || len(n.Outputs) != 1 {
				return false
			}
			acts := 0
			for _, v := range n.Inputs {
				if v != "" && constTensor(g, prod, v) == nil {
					acts++
				}
			}
			if acts != 1 {
				return false
			}
			for _, r := range cons[n.Outputs[0]] {
				if is[r] {
					return false
				}
			}
			return true
		})
		if len(targets) == n0 {
			return targets
		}
	}
}

// isActivationInput reports whether input i of n is an activation that gets a Q/DQ pair: every input of
// MatMul, Add, Mul and Concat, only the first of the others. A Conv's or Gemm's weight and bias get their own
// (static) quantization; Resize's roi, scales and sizes are parameters that must stay exact, whether constant or
// computed from shapes at run time (a PyTorch export's Upsample), as ORT's quantizer leaves them.
func isActivationInput(n *ir.Node, i int) bool {
	switch n.OpType {
	case "MatMul", "Add", "Mul", "Concat":
		return true
	}
	return i == 0
}

// tilingConvTranspose reports whether n is an ungrouped 2-D ConvTranspose with constant float32 weights w whose
// kernel patches tile the output (the 2×2/stride-2 upsampling of DB heads and U-Nets), the form the runtime's
// QConvTranspose computes on the integers.
func tilingConvTranspose(n *ir.Node, w *ir.Tensor) bool {
	return w != nil && w.DType == ir.Float32 && n.AttrInt("group", 1) == 1 && opt.ConvTransposeTiles(n, w.Shape)
}

// calibrationSample returns sample i of data, checked against the inputs of p.
func calibrationSample(p *runtime.Plan, data Samples, i int) (map[string]*ir.Tensor, error) {
	in, err := data.Sample(i)
	if err != nil {
		return nil, fmt.Errorf("quant: calibration sample %d: %w", i, err)
	}
	for _, vi := range p.Inputs() {
		t, ok := in[vi.Name]
		if !ok {
			return nil, fmt.Errorf("quant: calibration sample %d lacks model input %q (it holds %s)", i, vi.Name,
				strings.Join(slices.Sorted(maps.Keys(in)), ", "))
		}
		if err := checkSample(vi, t); err != nil {
			return nil, fmt.Errorf("quant: calibration sample %d: %w", i, err)
		}
	}
	return in, nil
}

// calibrate runs the float model over the samples and fills acts. Compiling without the runtime's fusions keeps
// every intermediate value observable. The progress it reports counts `later` more passes, which the caller runs.
func calibrate(m *ir.Model, data Samples, acts map[string]*stat, cfg StaticConfig, later int) error {
	p, err := runtime.Compile(m, runtime.Options{Threads: 0, NoOptimize: true})
	if err != nil {
		return fmt.Errorf("quant: static: %w", err)
	}
	passes := 1
	if cfg.Calibrator.needsHistogram() {
		passes = 2
	}
	total, done := (passes+later)*data.Len(), 0
	for pass := 0; pass < passes; pass++ {
		observe := func(name string, t *ir.Tensor) {
			s := acts[name]
			if s == nil || t == nil || t.DType != ir.Float32 {
				return
			}
			if pass == 0 {
				s.observeRange(t.F32())
			} else {
				s.observeHist(t.F32(), cfg.Bins)
			}
		}
		for i := 0; i < data.Len(); i++ {
			in, err := calibrationSample(p, data, i)
			if err != nil {
				return err
			}
			for _, vi := range p.Inputs() {
				observe(vi.Name, in[vi.Name])
			}
			_, err = p.RunHook(in, func(n *ir.Node, _, outs []*ir.Tensor, _, _ int64) {
				for j, o := range n.Outputs {
					if j < len(outs) {
						observe(o, outs[j])
					}
				}
			})
			if err != nil {
				return fmt.Errorf("quant: calibration sample %d: %w", i, err)
			}
			done++
			if cfg.Progress != nil {
				cfg.Progress(done, total)
			}
		}
	}
	return nil
}

// checkSample gives a clear error for calibration data that does not fit the model input.
func checkSample(vi *ir.ValueInfo, t *ir.Tensor) error {
	if vi.Type.DType != ir.Undefined && t.DType != vi.Type.DType {
		return fmt.Errorf("input %q is %s, the model wants %s", vi.Name, t.DType, vi.Type.DType)
	}
	if vi.Type.HasShape {
		ok := len(vi.Type.Shape) == len(t.Shape)
		for i := 0; ok && i < len(t.Shape); i++ {
			ok = !vi.Type.Shape[i].Known() || vi.Type.Shape[i].Size == int64(t.Shape[i])
		}
		if !ok {
			return fmt.Errorf("input %q has shape %v, the model wants %s", vi.Name, t.Shape, vi.Type)
		}
	}
	return nil
}

// removeActivations drops a Relu between a quantized Conv/Gemm/MatMul and the Q of its output, as ORT's QDQ
// quantizer does for asymmetric activations: Relu's output range starts at 0, so its zero point is qmin and
// QuantizeLinear's saturation already maps every negative value to the integer of 0.0 — the Relu is exact to drop.
// The producer then writes the Relu's output directly. It applies only when the Relu is the producer's sole reader
// and every reader of the Relu's output is a node being quantized (so the value is only ever seen through Q).
func removeActivations(g *ir.Graph, targets []*ir.Node, params map[string]Params, qmin int32) {
	isTarget := map[*ir.Node]bool{}
	for _, n := range targets {
		isTarget[n] = true
	}
	prod, cons := g.Producers(), g.Consumers()
	for _, r := range slices.Clone(g.Nodes) {
		if r.OpType != "Relu" || !r.IsDefaultDomain() || len(r.Inputs) != 1 || len(r.Outputs) != 1 {
			continue
		}
		in, out := r.Inputs[0], r.Outputs[0]
		p := prod[in]
		if p == nil || !isTarget[p] || !slices.Contains([]string{"Conv", "ConvTranspose", "Gemm", "MatMul"}, p.OpType) || len(cons[in]) != 1 ||
			g.IsGraphOutput(in) || g.IsGraphOutput(out) || len(cons[out]) == 0 {
			continue
		}
		if q, ok := params[out]; !ok || q.ZeroPoint != qmin {
			continue
		}
		readers := true
		for _, c := range cons[out] {
			readers = readers && isTarget[c]
		}
		if !readers {
			continue
		}
		p.Outputs[0] = out
		delete(params, in)
		g.RemoveNode(r)
	}
}

// qdqEmitter inserts the Q/DQ nodes. It keeps the file small, since the issue holds an INT8 file to 0.26× the
// float one and on a small model (MNIST's CNN: 210 KB of weights) names and per-node overhead are a few percent:
// value names are short and fresh, scale and zero-point scalars are shared by every activation with the same
// value, the inserted nodes have no names (ONNX allows that), and the all-zero zero points of symmetric weights
// and int32 biases are left out (DequantizeLinear's default is 0). On models with many narrow layers (PP-OCRv4
// det, rec) the per-channel weight scales and int32 biases are 5 % of the file: it stores the scales as float16
// and the biases that fit as int16 or int8, each behind a Cast (compact.go: halfScales, narrowInts), which hone's
// fold_qdq_cast and ONNX Runtime's constant folding turn back into initializers before their QDQ fusions.
type qdqEmitter struct {
	g      *ir.Graph
	nm     *namer
	prod   map[string]*ir.Node
	params map[string]Params
	act    ir.DType          // the activations' integer type
	dq     map[string]string // value → its DequantizeLinear output (made once, shared by readers)
	scales map[float32]string
	zeros  map[int32]string
	// gptq, when set, rounds the weights of the layers it captured; keys names each target node's capture.
	gptq     *gptqState
	keys     map[*ir.Node]string
	gptqUsed int
	// floatInputs is set while the weights of layers kept float are rounded: GPTQ then does not correct them for
	// int8 inputs.
	floatInputs bool
	perTensor   bool // one weight scale per tensor (StaticConfig.PerTensor)
	// coarse counts the layers whose per-tensor scale leaves their median channel coarse (coarseSpread); coarsest
	// is the worst of them, by coarsestSpread.
	coarse         int
	coarsest       string
	coarsestSpread float64
}

// coarseSpread is the ratio of a weight's largest channel scale to its median one from which per-tensor rounding
// is reported as coarse: the median channel then spans fewer than 127/16 ≈ 8 steps each side of zero.
const coarseSpread = 16

// activation returns the fake-quantized version of a calibrated value, inserting Q→DQ after its producer.
func (e *qdqEmitter) activation(v string) string {
	if d, ok := e.dq[v]; ok {
		return d
	}
	p := e.params[v]
	scale, ok := e.scales[p.Scale]
	if !ok {
		scale = e.init("s", ir.Scalar(p.Scale))
		e.scales[p.Scale] = scale
	}
	zpName, ok := e.zeros[p.ZeroPoint]
	if !ok {
		zp := ir.New(e.act)
		if e.act == ir.Uint8 {
			zp.U8()[0] = uint8(p.ZeroPoint)
		} else {
			zp.I8()[0] = int8(p.ZeroPoint)
		}
		zpName = e.init("z", zp)
		e.zeros[p.ZeroPoint] = zpName
	}
	q, d := e.nm.value("q"), e.nm.value("d")
	qn := &ir.Node{OpType: "QuantizeLinear", Inputs: []string{v, scale, zpName}, Outputs: []string{q}}
	dn := &ir.Node{OpType: "DequantizeLinear", Inputs: []string{q, scale, zpName}, Outputs: []string{d}}
	if pn := e.prod[v]; pn != nil {
		e.g.InsertAfter(pn, dn)
		e.g.InsertAfter(pn, qn)
	} else {
		e.g.Nodes = append([]*ir.Node{qn, dn}, e.g.Nodes...)
	}
	e.dq[v] = d
	return d
}

func (e *qdqEmitter) init(base string, t *ir.Tensor) string {
	name := e.nm.value(base)
	e.g.SetInitializer(name, t)
	return name
}

// quantize rewires n to read fake-quantized inputs (activations, weights, bias) and quantizes its output for its
// readers.
func (e *qdqEmitter) quantize(n *ir.Node) error {
	var wScales []float32
	sIn, inQuantized := e.params[n.Input(0)]
	for i, v := range n.Inputs {
		if v == "" {
			continue
		}
		if !isActivationInput(n, i) {
			continue
		}
		if _, ok := e.params[v]; ok {
			n.Inputs[i] = e.activation(v)
		}
	}
	if n.OpType == "MatMul" {
		return e.quantizeMatMulWeight(n)
	}
	if n.OpType == "Conv" || n.OpType == "ConvTranspose" || n.OpType == "Gemm" {
		w := constTensor(e.g, e.prod, n.Inputs[1])
		if w == nil || w.DType != ir.Float32 || w.Rank() < 2 {
			return fmt.Errorf("quant: %s: weight must be a float32 constant of rank ≥ 2", n)
		}
		axis := 0 // the output channels: Conv's W is [M, C, k…], ConvTranspose's [C, M, k…] (ungrouped here)
		if n.OpType == "ConvTranspose" || n.OpType == "Gemm" && n.AttrInt("transB", 0) == 0 {
			axis = 1
		}
		bias := n.Input(2)
		plain := n.OpType != "Gemm" || (n.AttrFloat("alpha", 1) == 1 && n.AttrFloat("beta", 1) == 1)
		b := constTensor(e.g, e.prod, bias)
		intBias := b != nil && b.DType == ir.Float32 && inQuantized && plain && b.Len() == w.Shape[axis]
		var floor []float64
		if intBias {
			floor = biasScaleFloor(b.F32(), sIn.Scale)
		}
		wq, ws, err := e.quantizeWeight(n, w, axis, floor)
		if err != nil {
			return fmt.Errorf("quant: %s: %w", n, err)
		}
		wScales = ws.scales
		var wScaleName string
		n.Inputs[1], wScaleName = e.dequant("w", wq, ws, axis)
		if intBias {
			bq := ir.New(ir.Int32, b.Shape...)
			for c, x := range b.F32() {
				s := float64(sIn.Scale) * float64(wScales[min(c, len(wScales)-1)])
				bq.I32()[c] = int32(math.Max(math.MinInt32, math.Min(math.MaxInt32, math.RoundToEven(float64(x)/s))))
			}
			n.Inputs[2] = e.biasDequant(bq, e.scales[sIn.Scale], wScaleName, len(wScales) > 1)
		}
	}
	return nil
}

// weightScales are a quantized weight's per-channel scales as DequantizeLinear reads them, and, when halfScales
// allowed it, the float16 values they are stored as.
type weightScales struct {
	scales []float32
	half   *ir.Tensor
	spread float64 // one scale per tensor: the largest channel's over the median channel's (0 when that is 0)
}

// biasScaleFloor returns, per output channel, the smallest weight scale at which the channel's bias b[c],
// quantized with scale sIn·s_w, fits int32, with room for halfScales' rounding (nil when b is all zero). A channel whose weights are all near zero (a dead channel after BatchNorm folding) gets
// a tiny weight scale, and its bias would otherwise be clamped to ±2³¹ steps, that is, computed wrong; raising
// its weight scale instead (as ONNX Runtime's quantizer does) costs only that channel's already-tiny weights.
func biasScaleFloor(b []float32, sIn float32) []float64 {
	var floor []float64
	for c, x := range b {
		f := math.Abs(float64(x)) / (float64(sIn) * (math.MaxInt32 - 1<<8)) * (1 + 1.0/512)
		if f == 0 {
			continue
		}
		if floor == nil {
			floor = make([]float64, len(b))
		}
		floor[c] = f
	}
	return floor
}

// quantizeWeight quantizes a float32 weight to int8, symmetric, one scale per index of axis and at least
// floor[i] where floor is not nil, with the scales rounded to the float16 they are stored as where halfScales
// allows it.
func quantizeWeight(w *ir.Tensor, axis int, floor []float64, perTensor bool) (*ir.Tensor, weightScales, error) {
	ps, err := PerChannel(w.F32(), w.Shape, axis, -127, 127, Symmetric)
	if err != nil {
		return nil, weightScales{}, err
	}
	for i, f := range floor {
		if float64(ps[i].Scale) < f {
			ps[i].Scale = float32(f)
		}
	}
	if perTensor { // max|w|/127 over the tensor (and above every channel's floor): the largest channel scale
		sc := make([]float64, len(ps))
		for i, p := range ps {
			sc[i] = float64(p.Scale)
		}
		slices.Sort(sc)
		s := float32(sc[len(sc)-1])
		ws := weightScales{scales: []float32{s}}
		if mid := sc[len(sc)/2]; mid > 0 {
			ws.spread = sc[len(sc)-1] / mid
		}
		wq := ir.New(ir.Int8, w.Shape...)
		p := Params{Scale: s}
		for i, x := range w.F32() {
			wq.I8()[i] = int8(Quantize(x, p, -127, 127))
		}
		return wq, ws, nil
	}
	ws := weightScales{scales: make([]float32, len(ps))}
	for i, p := range ps {
		ws.scales[i] = p.Scale
	}
	if ws.half = halfScales(ws.scales); ws.half != nil {
		for i := range ps {
			ps[i].Scale = ws.scales[i]
		}
	}
	wq := ir.New(ir.Int8, w.Shape...)
	inner := ir.NumElements(w.Shape[axis+1:])
	for i, x := range w.F32() {
		wq.I8()[i] = int8(Quantize(x, ps[(i/inner)%w.Shape[axis]], -127, 127))
	}
	return wq, ws, nil
}

// dequant stores an already-quantized constant (zero point 0) with a DequantizeLinear, per-axis when there are
// several scales, the scales as float16 behind a Cast when ws.half holds them. It returns the DequantizeLinear's
// output and the name of its (float32) scale.
func (e *qdqEmitter) dequant(base string, q *ir.Tensor, ws weightScales, axis int) (string, string) {
	qn := e.init(base, q)
	var sn string
	switch {
	case ws.half != nil:
		sn = e.widen(e.init(base+"h", ws.half), ir.Float32)
	case len(ws.scales) > 1:
		sn = e.init(base+"s", ir.FromFloat32([]int{len(ws.scales)}, ws.scales))
	default:
		sn = e.init(base+"s", ir.Scalar(ws.scales[0]))
	}
	d := e.nm.value(base + "d")
	dn := &ir.Node{OpType: "DequantizeLinear", Inputs: []string{qn, sn}, Outputs: []string{d}}
	if len(ws.scales) > 1 {
		dn.Attrs = []*ir.Attr{{Name: "axis", Type: ir.AttrInt, I: int64(axis)}}
	}
	e.g.Nodes = append([]*ir.Node{dn}, e.g.Nodes...)
	return d, sn
}

// widen casts the constant v to dtype to (a Cast node; compact.go's narrow storage) and returns the result.
func (e *qdqEmitter) widen(v string, to ir.DType) string {
	out := e.nm.value(v + "c")
	cast := &ir.Node{OpType: "Cast", Inputs: []string{v}, Outputs: []string{out},
		Attrs: []*ir.Attr{{Name: "to", Type: ir.AttrInt, I: int64(to)}}}
	e.g.Nodes = append([]*ir.Node{cast}, e.g.Nodes...)
	return out
}

// biasDequant stores an int32 bias whose scale is s_in·s_w, the product of two scales the model already holds
// (the input activation's and the weights'), as DequantizeLinear(b, Mul(sIn, sW)) instead of storing the product:
// the float32 product of two float32 values is the float64 product rounded once, so the scale is bit-identical
// to the one the bias was quantized with. hone's and ONNX Runtime's constant folding turn the Mul back into an
// initializer before their QDQ fusions look at it. It saves 4 bytes per output channel (MNIST's CNN: about 330 of
// 55 KB, part of holding the 0.26× file bound). A bias whose values all fit int8 or int16 is stored so,
// behind a Cast to int32 (narrowInts), folded back the same way.
func (e *qdqEmitter) biasDequant(q *ir.Tensor, sIn, sW string, perChannel bool) string {
	var qn string
	if nq := narrowInts(q); nq != nil {
		qn = e.widen(e.init("b", nq), ir.Int32)
	} else {
		qn = e.init("b", q)
	}
	s, d := e.nm.value("bs"), e.nm.value("bd")
	mul := &ir.Node{OpType: "Mul", Inputs: []string{sIn, sW}, Outputs: []string{s}}
	dn := &ir.Node{OpType: "DequantizeLinear", Inputs: []string{qn, s}, Outputs: []string{d}}
	if perChannel {
		dn.Attrs = []*ir.Attr{{Name: "axis", Type: ir.AttrInt, I: 0}}
	}
	e.g.Nodes = append([]*ir.Node{mul, dn}, e.g.Nodes...)
	return d
}

// weightOnlyOps are the ops whose constant float32 weight Static stores int8 behind a DequantizeLinear without
// quantizing their activations: neither runtime has an int8 kernel for them to target, so the op still runs in
// float on the dequantized weight, which hone's plan and ONNX Runtime compute once at load. The weight shrinks 4×
// at no cost in speed: PP-OCRv4 det's two upsampling ConvTransposes (9.6 KB, 0.2 % of the float file); a
// transformer's embedding tables (BERT-tiny: 27 % of its float file, which held the INT8 file at 0.456×).
// Symmetric, one scale per slice along axis; weights of fewer than min values stay float (the DequantizeLinear
// would outweigh what it saves).
var weightOnlyOps = map[string]struct {
	input, axis, rank, min int
	what, per              string
}{
	"ConvTranspose": {1, 1, 3, 0, "weights", "output channel"}, // [C_in, C_out/group, kH, kW] (tiling ones are QDQ)
	"Gather":        {0, 0, 2, 256, "tables", "row"},           // an embedding table [V, D], gathered by row
}

// weightOnly stores the weights of every weightOnlyOps node of a type in opTypes and not in exclude as int8
// behind a DequantizeLinear, and returns how many per op type.
func (e *qdqEmitter) weightOnly(exclude, opTypes []string) (map[string]int, error) {
	k := map[string]int{}
	for _, n := range slices.Clone(e.g.Nodes) {
		op, ok := weightOnlyOps[n.OpType]
		if !ok || !slices.Contains(opTypes, n.OpType) || !n.IsDefaultDomain() || slices.Contains(exclude, n.Name) {
			continue
		}
		w := constTensor(e.g, e.prod, n.Input(op.input))
		if w == nil || w.DType != ir.Float32 || w.Rank() < op.rank || w.Len() < op.min {
			continue
		}
		wq, ws, err := quantizeWeight(w, op.axis, nil, e.perTensor)
		if err != nil {
			return k, fmt.Errorf("quant: %s: %w", n, err)
		}
		n.Inputs[op.input], _ = e.dequant("w", wq, ws, op.axis)
		k[n.OpType]++
	}
	return k, nil
}

// opSince is the opset that introduced each op a lossless pass may create in the default domain, where that is
// later than the opsets static mode accepts.
var opSince = map[string]int64{"HardSwish": 14, "LayerNormalization": 17}

// quantizeMatMulWeight stores a MatMul's constant float32 [K, N] weight as int8, symmetric, one scale per column
// (axis 1, as ORT's quantize_static does per channel), behind a DequantizeLinear. The runtime's QDQ fusion then
// turns DQ → MatMul → Q into QLinearMatMul, whose 1-D b_scale is exactly per column. Other weight forms (batched
// constants, vectors) stay float.
func (e *qdqEmitter) quantizeMatMulWeight(n *ir.Node) error {
	w := constTensor(e.g, e.prod, n.Input(1))
	if w == nil || w.DType != ir.Float32 || w.Rank() != 2 {
		return nil
	}
	wq, ws, err := e.quantizeWeight(n, w, 1, nil)
	if err != nil {
		return fmt.Errorf("quant: %s: %w", n, err)
	}
	n.Inputs[1], _ = e.dequant("w", wq, ws, 1)
	return nil
}

// quantizeWeight is quantizeWeight for the weight of n, with the integers chosen by GPTQ where the emitter has a
// capture of n: the scales (the bias floor applied, rounded to float16 by halfScales) are the same either way.
func (e *qdqEmitter) quantizeWeight(n *ir.Node, w *ir.Tensor, axis int, floor []float64) (*ir.Tensor, weightScales, error) {
	wq, ws, err := quantizeWeight(w, axis, floor, e.perTensor)
	if err == nil && ws.spread > coarseSpread {
		e.coarse++
		if ws.spread > e.coarsestSpread {
			e.coarsest, e.coarsestSpread = n.String(), ws.spread
		}
	}
	if err != nil || e.gptq == nil {
		return wq, ws, err
	}
	scales := ws.scales
	if len(scales) == 1 { // GPTQ rounds per channel: every channel on the one scale
		scales = slices.Repeat(scales, w.Shape[axis])
	}
	g, err := e.gptq.round(e.keys[n], w, axis, scales, e.floatInputs)
	if err != nil {
		return nil, ws, err
	}
	if g != nil {
		wq = g
		e.gptqUsed++
	}
	return wq, ws, nil
}
