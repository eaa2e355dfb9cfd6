package quant

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/hone-ml/hone/ir"
	"github.com/hone-ml/hone/runtime"
)

// MetricKind names what an evaluation judges a quantized model by.
type MetricKind int

const (
	// MetricAuto is MetricTop1 where the output holds rows of class scores (scoreRows), MetricPixel where it is a
	// Softmax over the channels of a map (a segmentation), else MetricCosine.
	MetricAuto MetricKind = iota
	// MetricTop1 is the fraction of rows (along the last axis) whose argmax is the float model's, or top-1 accuracy
	// with labels.
	MetricTop1
	// MetricIoU is the intersection over union of the values above a threshold in the float and quantized outputs,
	// summed over the samples: for probability maps (segmentation, text detection), where a row's argmax means
	// nothing.
	MetricIoU
	// MetricCosine is the cosine similarity of the float and quantized outputs, all values as one vector.
	MetricCosine
	// MetricPixel is the fraction of positions of an [N, C, …] map whose argmax over the C channels (the class of a
	// segmentation's pixel) is the float model's.
	MetricPixel
)

// Metric is what Evaluate and the accuracy guard judge a quantized model by, on one output (the first unless
// StaticConfig.EvalOutput names another) against the float model's. Its drop (EvalResult.Drop) is 1 − the
// measure, or the top-1 points lost with labels.
type Metric struct {
	Kind      MetricKind
	Threshold float64 // MetricIoU: a value is on when above it
}

// ParseMetric reads --eval-metric: auto, top1, pixel, cosine or iou@T (T the threshold, e.g. iou@0.3 for
// DBNet's probability map).
func ParseMetric(s string) (Metric, error) {
	switch s {
	case "", "auto":
		return Metric{}, nil
	case "top1":
		return Metric{Kind: MetricTop1}, nil
	case "cosine":
		return Metric{Kind: MetricCosine}, nil
	case "pixel":
		return Metric{Kind: MetricPixel}, nil
	}
	if t, ok := strings.CutPrefix(s, "iou@"); ok {
		v, err := strconv.ParseFloat(t, 64)
		if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
			return Metric{}, fmt.Errorf("quant: metric %q: the IoU threshold %q is not a number", s, t)
		}
		return Metric{Kind: MetricIoU, Threshold: v}, nil
	}
	return Metric{}, fmt.Errorf("quant: unknown metric %q (want auto, top1, pixel, cosine or iou@THRESHOLD)", s)
}

func (m Metric) String() string {
	switch m.Kind {
	case MetricTop1:
		return "top1"
	case MetricIoU:
		return "iou@" + strconv.FormatFloat(m.Threshold, 'g', -1, 64)
	case MetricCosine:
		return "cosine"
	case MetricPixel:
		return "pixel"
	}
	return "auto"
}

// EvalResult is how a quantized model compares with its float original on evaluation data. Every measure is on
// one output: the first, unless StaticConfig.EvalOutput names another.
type EvalResult struct {
	Samples int
	Metric  Metric  // the metric Drop is of (never MetricAuto)
	Top1    float64 // top1: the fraction of rows (last axis) whose argmax is the float model's; pixel: of positions (axis 1)
	IoU     float64 // with Metric iou@T: |float > T ∧ quantized > T| / |float > T ∨ quantized > T| over all samples
	SQNR    float64 // dB: 10·log10(Σ float² / Σ (float − quantized)²) over every output value
	Cosine  float64 // cosine similarity of the float and quantized outputs, all values as one vector
	// With labels: top-1 accuracy of each model (one row per sample).
	Labeled            bool
	AccFloat, AccQuant float64
}

// Drop is the accuracy lost: top-1 accuracy points (as a fraction) with labels, else 1 − the metric's measure
// (the fraction of rows whose top-1 changed, 1 − IoU, 1 − cosine).
func (r EvalResult) Drop() float64 {
	switch {
	case r.Labeled:
		return r.AccFloat - r.AccQuant
	case r.Metric.Kind == MetricIoU:
		return 1 - r.IoU
	case r.Metric.Kind == MetricCosine:
		return 1 - r.Cosine
	}
	return 1 - r.Top1
}

func (r EvalResult) String() string {
	s := fmt.Sprintf("%d samples: ", r.Samples)
	if r.Samples == 1 {
		s = "1 sample: "
	}
	switch r.Metric.Kind {
	case MetricTop1:
		s += fmt.Sprintf("top-1 agreement %.2f%%, ", 100*r.Top1)
	case MetricIoU:
		s += fmt.Sprintf("IoU@%g %.4f, ", r.Metric.Threshold, r.IoU)
	case MetricPixel:
		s += fmt.Sprintf("pixel agreement %.2f%%, ", 100*r.Top1)
	}
	s += fmt.Sprintf("SQNR %.1f dB, cosine %.5f", r.SQNR, r.Cosine)
	if r.Labeled {
		s += fmt.Sprintf(", top-1 %.2f%% vs float %.2f%% (drop %.2f points)", 100*r.AccQuant, 100*r.AccFloat, 100*r.Drop())
	}
	return s
}

// evaluator holds the float model's outputs on the evaluation data, computed once, to score quantized variants.
type evaluator struct {
	labels []int64
	metric Metric // resolved: not MetricAuto
	output string // the output judged
	ins    []map[string]*ir.Tensor
	ref    []*ir.Tensor // the float model's output per sample
}

// newEvaluator runs the float model over data and keeps the output named output ("" for the first).
func newEvaluator(fp *ir.Model, data Samples, labels []int64, metric Metric, output string) (*evaluator, error) {
	if labels != nil && len(labels) != data.Len() {
		return nil, fmt.Errorf("quant: evaluation: %d labels for %d samples", len(labels), data.Len())
	}
	if labels != nil && metric.Kind != MetricAuto && metric.Kind != MetricTop1 {
		return nil, fmt.Errorf("quant: evaluation: labels score top-1 accuracy, and the metric is %s", metric)
	}
	p, err := runtime.Compile(fp, runtime.Options{})
	if err != nil {
		return nil, fmt.Errorf("quant: evaluation: %w", err)
	}
	out0 := p.Outputs()[0].Name
	if output != "" {
		var names []string
		for _, vi := range p.Outputs() {
			names = append(names, vi.Name)
		}
		if !slices.Contains(names, output) {
			return nil, fmt.Errorf("quant: evaluation: the model has no output %q (outputs: %s)", output, strings.Join(names, ", "))
		}
		out0 = output
	}
	ev := &evaluator{labels: labels, metric: metric, output: out0}
	for i := 0; i < data.Len(); i++ {
		in, err := data.Sample(i)
		if err != nil {
			return nil, fmt.Errorf("quant: evaluation sample %d: %w", i, err)
		}
		out, err := p.Run(in)
		if err != nil {
			return nil, fmt.Errorf("quant: evaluation sample %d: %w", i, err)
		}
		y := out[out0]
		if y == nil || !y.DType.IsFloat() || y.Rank() == 0 || y.Len() == 0 {
			return nil, fmt.Errorf("quant: evaluation: the model's output %q is not a float tensor of rank ≥ 1", out0)
		}
		if labels != nil && y.Len() != y.Shape[y.Rank()-1] {
			return nil, fmt.Errorf("quant: evaluation: labels need one row of scores per sample, and output %q has shape %v", out0, y.Shape)
		}
		ev.ins = append(ev.ins, in)
		ev.ref = append(ev.ref, y.Clone())
	}
	if ev.metric.Kind == MetricAuto {
		ev.metric.Kind = MetricCosine
		switch {
		case labels != nil || scoreRows(fp.Graph, out0, ev.ref[0].Rank()):
			ev.metric.Kind = MetricTop1
		case fp.Opset("") >= 13 && channelSoftmax(fp.Graph, out0, ev.ref[0].Shape):
			ev.metric.Kind = MetricPixel
		}
	}
	if ev.metric.Kind == MetricPixel && (ev.ref[0].Rank() < 3 || ev.ref[0].Shape[1] < 2) {
		return nil, fmt.Errorf("quant: evaluation: the pixel metric needs an [N, C ≥ 2, …] map, and output %q has shape %v", out0, ev.ref[0].Shape)
	}
	return ev, nil
}

// scoreRows reports whether the graph's output v, of the given rank, holds rows of class scores along its last
// axis, where top-1 agreement means something: a vector or matrix ([N, classes]), or a Softmax/LogSoftmax over
// the last axis or a Gemm/MatMul (a linear head: its last axis is the output features), seen through reshapes and
// a bias Add. A feature or probability map ([N, C, H, W] from a Conv or Sigmoid) is not: the argmax along its
// width is noise.
func scoreRows(g *ir.Graph, v string, rank int) bool {
	if rank <= 2 {
		return true
	}
	prod := map[string]*ir.Node{}
	for _, n := range g.Nodes {
		for _, o := range n.Outputs {
			prod[o] = n
		}
	}
	for n := prod[v]; n != nil; n = prod[n.Input(0)] {
		switch n.OpType {
		case "Softmax", "LogSoftmax":
			axis := n.AttrInt("axis", -1)
			return axis == -1 || axis == int64(rank-1)
		case "Gemm", "MatMul":
			return true
		case "Reshape", "Squeeze", "Unsqueeze", "Identity", "Add":
			continue
		}
		return false
	}
	return false
}

// channelSoftmax reports whether the graph's output v, of the given shape, is a Softmax or LogSoftmax over axis 1
// of a map of rank ≥ 3 with several channels: a segmentation's per-pixel class scores (opset 13 on: before, the
// ops coerced the input to 2-D at the axis).
func channelSoftmax(g *ir.Graph, v string, shape []int) bool {
	if len(shape) < 3 || shape[1] < 2 {
		return false
	}
	for _, n := range g.Nodes {
		if slices.Contains(n.Outputs, v) {
			axis := n.AttrInt("axis", -1)
			return (n.OpType == "Softmax" || n.OpType == "LogSoftmax") && (axis == 1 || axis == 1-int64(len(shape)))
		}
	}
	return false
}

// score runs q on the samples idx and compares it with the float outputs.
func (ev *evaluator) score(q *ir.Model, idx []int, opts runtime.Options) (EvalResult, error) {
	p, err := runtime.Compile(q, opts)
	if err != nil {
		return EvalResult{}, fmt.Errorf("quant: evaluation: %w", err)
	}
	var sig, noise, dot, qq float64
	var rows, same, okF, okQ, inter, union int
	th := ev.metric.Threshold
	for _, i := range idx {
		out, err := p.Run(ev.ins[i])
		if err != nil {
			return EvalResult{}, fmt.Errorf("quant: evaluation sample %d: %w", i, err)
		}
		a, b := ev.ref[i].Float64s(), out[ev.output].Float64s()
		if len(a) != len(b) {
			return EvalResult{}, fmt.Errorf("quant: evaluation sample %d: quantized output has %d values, float %d", i, len(b), len(a))
		}
		for j := range a {
			sig += a[j] * a[j]
			d := a[j] - b[j]
			noise += d * d
			dot += a[j] * b[j]
			qq += b[j] * b[j]
			if ev.metric.Kind == MetricIoU {
				pa, pb := a[j] > th, b[j] > th
				if pa && pb {
					inter++
				}
				if pa || pb {
					union++
				}
			}
		}
		if ev.metric.Kind == MetricPixel {
			sh := ev.ref[i].Shape
			c, inner := sh[1], ir.NumElements(sh[2:])
			for base := 0; base < len(a); base += c * inner {
				for pos := range inner {
					ia, ib := 0, 0
					for k := 1; k < c; k++ {
						if a[base+k*inner+pos] > a[base+ia*inner+pos] {
							ia = k
						}
						if b[base+k*inner+pos] > b[base+ib*inner+pos] {
							ib = k
						}
					}
					if ia == ib {
						same++
					}
					rows++
				}
			}
		}
		if ev.metric.Kind != MetricTop1 {
			continue
		}
		cols := ev.ref[i].Shape[ev.ref[i].Rank()-1]
		for r := 0; r < len(a)/cols; r++ {
			ia, ib := argmax(a[r*cols:(r+1)*cols]), argmax(b[r*cols:(r+1)*cols])
			if ia == ib {
				same++
			}
			rows++
			if ev.labels != nil {
				if int64(ia) == ev.labels[i] {
					okF++
				}
				if int64(ib) == ev.labels[i] {
					okQ++
				}
			}
		}
	}
	r := EvalResult{Samples: len(idx), Metric: ev.metric, SQNR: sqnr(sig, noise), Cosine: 1, IoU: 1}
	if rows > 0 {
		r.Top1 = float64(same) / float64(rows)
	}
	if union > 0 {
		r.IoU = float64(inter) / float64(union)
	}
	if sig > 0 || qq > 0 {
		r.Cosine = dot / math.Sqrt(sig*qq)
	}
	if ev.labels != nil {
		n := float64(len(idx))
		r.Labeled, r.AccFloat, r.AccQuant = true, float64(okF)/n, float64(okQ)/n
	}
	return r, nil
}

// holdOut splits n evaluation samples into those the accuracy guard chooses layers by and the fraction f it holds
// out to report an unbiased drop. The held-out samples are spread evenly (sample i when ⌊(i+1)f⌋ > ⌊if⌋), as data
// sets in a directory are often sorted by class.
func holdOut(n int, f float64) (sel, held []int) {
	for i := 0; i < n; i++ {
		if math.Floor(float64(i+1)*f) > math.Floor(float64(i)*f) {
			held = append(held, i)
		} else {
			sel = append(sel, i)
		}
	}
	return sel, held
}

func sqnr(sig, noise float64) float64 {
	if noise == 0 {
		return math.Inf(1)
	}
	return 10 * math.Log10(sig/noise)
}

func argmax(v []float64) int {
	best := 0
	for i, x := range v {
		if x > v[best] {
			best = i
		}
	}
	return best
}

// Evaluate compares a quantized model with its float original on data by metric (see EvalResult), on the output
// named output (the first when ""); labels, if not nil, hold each sample's class.
func Evaluate(fp, q *ir.Model, data Samples, labels []int64, metric Metric, output string) (EvalResult, error) {
	if data == nil || data.Len() == 0 {
		return EvalResult{}, fmt.Errorf("quant: evaluation: the data set is empty")
	}
	ev, err := newEvaluator(fp, data, labels, metric, output)
	if err != nil {
		return EvalResult{}, err
	}
	all, _ := holdOut(data.Len(), 0)
	return ev.score(q, all, runtime.Options{})
}

// sensitivitySamples bounds the samples each one-layer model runs on when ranking layers: the ranking needs
// only the order of the layers' errors, and a model has a hundred layers or more.
const sensitivitySamples = 4

// guard evaluates the fully quantized model and, when cfg.MaxAccuracyDrop is set and exceeded, keeps layers out
// of int8 computation, most harmful first, until the drop is within it. The layers are ranked by the output SQNR
// of the model with that layer alone quantized (its weights and input activations; run as QDQ simulation, which is
// cheap to compile), then the number kept is searched with the real integer runtime on all of cfg.Eval: doubling
// until the drop holds, then bisecting (the drop is taken to shrink as more layers are kept). A kept layer first
// keeps int8 weights and computes in float (weightsOnly: the file stays small); only when that cannot meet the bound
// even with every layer kept is the search repeated with the kept layers wholly float. The report notes the
// measured result and every layer kept.
func guard(fp *ir.Model, sp *staticPrep, cfg StaticConfig) (*ir.Model, *Report, error) {
	say := func(format string, args ...any) {
		if cfg.Guard != nil {
			cfg.Guard(fmt.Sprintf(format, args...))
		}
	}
	ev, err := newEvaluator(fp, cfg.Eval, cfg.Labels, cfg.Metric, cfg.EvalOutput)
	if err != nil {
		return nil, nil, err
	}
	sel, held := holdOut(cfg.Eval.Len(), 0)
	if cfg.MaxAccuracyDrop > 0 {
		if cfg.Metric.Kind == MetricAuto && ev.metric.Kind == MetricCosine {
			return nil, nil, fmt.Errorf("quant: accuracy guard: output %q (shape %v) is neither rows of class scores nor a "+
				"segmentation's, so top-1 agreement would be noise; choose the metric (--eval-metric iou@THRESHOLD for a "+
				"probability map, pixel for per-pixel classes, cosine)", ev.output, ev.ref[0].Shape)
		}
		sel, held = holdOut(cfg.Eval.Len(), cfg.HoldOut)
		if len(sel) == 0 || cfg.HoldOut > 0 && len(held) == 0 {
			return nil, nil, fmt.Errorf("quant: accuracy guard: holding out %g of %d evaluation samples leaves %d to choose by and %d held out",
				cfg.HoldOut, cfg.Eval.Len(), len(sel), len(held))
		}
	}
	// finish records the result measured on the samples the guard chose by and, when some were held out, the
	// unbiased one on those.
	finish := func(q *ir.Model, rep *Report, res EvalResult) (*ir.Model, *Report, error) {
		rep.Eval = &res
		if len(held) == 0 {
			return q, rep, nil
		}
		h, err := ev.score(q, held, runtime.Options{})
		if err != nil {
			return nil, nil, err
		}
		rep.HeldOut = &h
		rep.Notes = append(rep.Notes, fmt.Sprintf("accuracy guard: drop %.4f on the %d samples it chose by, %.4f on %d held out",
			res.Drop(), res.Samples, h.Drop(), h.Samples))
		return q, rep, nil
	}
	try := func(float map[int]string, weightsInt8 bool) (*ir.Model, *Report, EvalResult, error) {
		q, rep, err := sp.emitKept(float, weightsInt8)
		if err != nil {
			return nil, nil, EvalResult{}, err
		}
		r, err := ev.score(q, sel, runtime.Options{})
		return q, rep, r, err
	}
	q, rep, res, err := try(nil, false)
	if err != nil {
		return nil, nil, err
	}
	say("all %d layers int8: %s", len(sp.cand), res)
	if cfg.MaxAccuracyDrop <= 0 || res.Drop() <= cfg.MaxAccuracyDrop {
		return finish(q, rep, res)
	}

	// Rank: the SQNR of the model with only layer c quantized.
	all := map[int]string{}
	for _, c := range sp.cand {
		all[c] = ""
	}
	type layer struct {
		idx  int
		sqnr float64
	}
	var ranked []layer
	for _, c := range sp.cand {
		delete(all, c)
		one, _, err := sp.emit(all)
		all[c] = ""
		if err != nil {
			return nil, nil, err
		}
		r, err := ev.score(one, sel[:min(sensitivitySamples, len(sel))], runtime.Options{NoOptimize: true})
		if err != nil {
			return nil, nil, err
		}
		ranked = append(ranked, layer{c, r.SQNR})
	}
	sort.SliceStable(ranked, func(i, j int) bool { return ranked[i].sqnr < ranked[j].sqnr })
	var top []string
	for _, l := range ranked[:min(8, len(ranked))] {
		top = append(top, fmt.Sprintf("%s %.1f dB", sp.m.Graph.Nodes[l.idx], l.sqnr))
	}
	say("most sensitive alone (output SQNR with only that layer int8): %s", strings.Join(top, ", "))
	floatFirst := func(k int, weightsInt8 bool) map[int]string {
		how := ""
		if weightsInt8 {
			how = ", weights int8"
		}
		m := map[int]string{}
		for _, l := range ranked[:k] {
			m[l.idx] = fmt.Sprintf("accuracy guard%s (%.1f dB output SQNR with this layer alone int8)", how, l.sqnr)
		}
		return m
	}

	// Search the fewest layers to keep float: k = 1, 2, 4, … until the drop holds, then bisect (lo fails, hi
	// holds). The kept layers first keep int8 weights (weightsInt8: activations float, the file stays small);
	// only if that cannot meet the bound with every layer kept does the search run again with them wholly float.
	type attempt struct {
		q   *ir.Model
		rep *Report
		res EvalResult
	}
	search := func(weightsInt8 bool) (int, map[int]attempt, error) {
		what := "float"
		if weightsInt8 {
			what = "float with int8 weights"
		}
		results := map[int]attempt{}
		measure := func(k int) (bool, error) {
			q, rep, res, err := try(floatFirst(k, weightsInt8), weightsInt8)
			if err != nil {
				return false, err
			}
			results[k] = attempt{q, rep, res}
			say("%d of %d layers kept %s: %s", k, len(ranked), what, res)
			return res.Drop() <= cfg.MaxAccuracyDrop, nil
		}
		lo, hi := 0, -1
		for k := 1; ; k = min(2*k, len(ranked)) {
			ok, err := measure(k)
			if err != nil {
				return 0, nil, err
			}
			if ok {
				hi = k
				break
			}
			lo = k
			if k == len(ranked) {
				return -1, results, nil
			}
		}
		for hi-lo > 1 {
			mid := (lo + hi) / 2
			ok, err := measure(mid)
			if err != nil {
				return 0, nil, err
			}
			if ok {
				hi = mid
			} else {
				lo = mid
			}
		}
		return hi, results, nil
	}
	weightsInt8 := true
	hi, results, err := search(true)
	if err != nil {
		return nil, nil, err
	}
	if hi < 0 {
		weightsInt8 = false
		if hi, results, err = search(false); err != nil {
			return nil, nil, err
		}
	}
	if hi < 0 {
		return nil, nil, fmt.Errorf("quant: accuracy guard: with every quantized layer kept float the drop is still %.4f > %.4f "+
			"(the remaining difference comes from the float graph rewrites, or the evaluation data is too small)",
			results[len(ranked)].res.Drop(), cfg.MaxAccuracyDrop)
	}
	best := results[hi]
	best.rep.GuardFloat = nil
	for _, l := range ranked[:hi] {
		best.rep.GuardFloat = append(best.rep.GuardFloat, sp.m.Graph.Nodes[l.idx].String())
	}
	slices.Sort(best.rep.GuardFloat)
	how := "float"
	if weightsInt8 {
		how = "float with int8 weights"
	}
	best.rep.Notes = append(best.rep.Notes, fmt.Sprintf("accuracy guard: %d of %d layers kept %s for a drop of %.4f ≤ %.4f (all int8: %.4f)",
		hi, len(ranked), how, best.res.Drop(), cfg.MaxAccuracyDrop, res.Drop()))
	return finish(best.q, best.rep, best.res)
}
