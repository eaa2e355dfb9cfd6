package quant

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"

	"github.com/hone-ml/hone/ir"
	"github.com/hone-ml/hone/runtime"
)

// EvalResult is how a quantized model compares with its float original on evaluation data. Every measure is on
// the model's first output, whose last axis holds the scores of one prediction (a row).
type EvalResult struct {
	Samples int
	Top1    float64 // fraction of rows whose argmax is the float model's
	SQNR    float64 // dB: 10·log10(Σ float² / Σ (float − quantized)²) over every output value
	Cosine  float64 // cosine similarity of the float and quantized outputs, all values as one vector
	// With labels: top-1 accuracy of each model (one row per sample).
	Labeled            bool
	AccFloat, AccQuant float64
}

// Drop is the accuracy lost: top-1 accuracy points (as a fraction) with labels, else the fraction of rows whose
// top-1 changed.
func (r EvalResult) Drop() float64 {
	if r.Labeled {
		return r.AccFloat - r.AccQuant
	}
	return 1 - r.Top1
}

func (r EvalResult) String() string {
	s := fmt.Sprintf("%d samples: top-1 agreement %.2f%%, SQNR %.1f dB, cosine %.5f", r.Samples, 100*r.Top1, r.SQNR, r.Cosine)
	if r.Labeled {
		s += fmt.Sprintf(", top-1 %.2f%% vs float %.2f%% (drop %.2f points)", 100*r.AccQuant, 100*r.AccFloat, 100*r.Drop())
	}
	return s
}

// evaluator holds the float model's outputs on the evaluation data, computed once, to score quantized variants.
type evaluator struct {
	data   Samples
	labels []int64
	ins    []map[string]*ir.Tensor
	ref    []*ir.Tensor // the float model's first output per sample
}

func newEvaluator(fp *ir.Model, data Samples, labels []int64) (*evaluator, error) {
	if labels != nil && len(labels) != data.Len() {
		return nil, fmt.Errorf("quant: evaluation: %d labels for %d samples", len(labels), data.Len())
	}
	p, err := runtime.Compile(fp, runtime.Options{})
	if err != nil {
		return nil, fmt.Errorf("quant: evaluation: %w", err)
	}
	ev := &evaluator{data: data, labels: labels}
	for i := 0; i < data.Len(); i++ {
		in, err := data.Sample(i)
		if err != nil {
			return nil, fmt.Errorf("quant: evaluation sample %d: %w", i, err)
		}
		out, err := p.Run(in)
		if err != nil {
			return nil, fmt.Errorf("quant: evaluation sample %d: %w", i, err)
		}
		y := out[p.Outputs()[0].Name]
		if y == nil || !y.DType.IsFloat() || y.Rank() == 0 || y.Len() == 0 {
			return nil, fmt.Errorf("quant: evaluation: the model's first output %q is not a float tensor of rank ≥ 1", p.Outputs()[0].Name)
		}
		if labels != nil && y.Len() != y.Shape[y.Rank()-1] {
			return nil, fmt.Errorf("quant: evaluation: labels need one row of scores per sample, and output %q has shape %v", p.Outputs()[0].Name, y.Shape)
		}
		ev.ins = append(ev.ins, in)
		ev.ref = append(ev.ref, y.Clone())
	}
	return ev, nil
}

// score runs q on the first n samples (all when n ≤ 0) and compares it with the float outputs.
func (ev *evaluator) score(q *ir.Model, n int, opts runtime.Options) (EvalResult, error) {
	p, err := runtime.Compile(q, opts)
	if err != nil {
		return EvalResult{}, fmt.Errorf("quant: evaluation: %w", err)
	}
	if n <= 0 || n > len(ev.ins) {
		n = len(ev.ins)
	}
	var sig, noise, dot, qq float64
	var rows, same, okF, okQ int
	for i := 0; i < n; i++ {
		out, err := p.Run(ev.ins[i])
		if err != nil {
			return EvalResult{}, fmt.Errorf("quant: evaluation sample %d: %w", i, err)
		}
		a, b := ev.ref[i].Float64s(), out[p.Outputs()[0].Name].Float64s()
		if len(a) != len(b) {
			return EvalResult{}, fmt.Errorf("quant: evaluation sample %d: quantized output has %d values, float %d", i, len(b), len(a))
		}
		for j := range a {
			sig += a[j] * a[j]
			d := a[j] - b[j]
			noise += d * d
			dot += a[j] * b[j]
			qq += b[j] * b[j]
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
	r := EvalResult{Samples: n, Top1: float64(same) / float64(rows), SQNR: sqnr(sig, noise), Cosine: 1}
	if sig > 0 || qq > 0 {
		r.Cosine = dot / math.Sqrt(sig*qq)
	}
	if ev.labels != nil {
		r.Labeled, r.AccFloat, r.AccQuant = true, float64(okF)/float64(n), float64(okQ)/float64(n)
	}
	return r, nil
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

// Evaluate compares a quantized model with its float original on data (see EvalResult); labels, if not nil,
// hold each sample's class.
func Evaluate(fp, q *ir.Model, data Samples, labels []int64) (EvalResult, error) {
	if data == nil || data.Len() == 0 {
		return EvalResult{}, fmt.Errorf("quant: evaluation: the data set is empty")
	}
	ev, err := newEvaluator(fp, data, labels)
	if err != nil {
		return EvalResult{}, err
	}
	return ev.score(q, 0, runtime.Options{})
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
	ev, err := newEvaluator(fp, cfg.Eval, cfg.Labels)
	if err != nil {
		return nil, nil, err
	}
	try := func(float map[int]string, weightsInt8 bool) (*ir.Model, *Report, EvalResult, error) {
		q, rep, err := sp.emitKept(float, weightsInt8)
		if err != nil {
			return nil, nil, EvalResult{}, err
		}
		r, err := ev.score(q, 0, runtime.Options{})
		return q, rep, r, err
	}
	q, rep, res, err := try(nil, false)
	if err != nil {
		return nil, nil, err
	}
	say("all %d layers int8: %s", len(sp.cand), res)
	if cfg.MaxAccuracyDrop <= 0 || res.Drop() <= cfg.MaxAccuracyDrop {
		rep.Eval = &res
		return q, rep, nil
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
		r, err := ev.score(one, sensitivitySamples, runtime.Options{NoOptimize: true})
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
	best.rep.Eval = &best.res
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
	return best.q, best.rep, nil
}
