package bench

import (
	"cmp"
	"fmt"
	"math"
	"os"
	"runtime"
	"sort"
	"time"

	"github.com/hone-ml/hone/ir"
	"github.com/hone-ml/hone/onnx"
)

// Config says what to measure.
type Config struct {
	Models   []string
	Backends []string
	Batches  []int // 0 means the shape given by Shapes / the model
	Shapes   map[string][]int
	Threads  int
	Runs     int // timed runs per variant
	Warmup   int
	// MemProbe, when set, measures each variant's peak memory in a child process, so one variant's
	// allocations never inflate another's figure (see ProbeMemory).
	MemProbe func(model, backend string, batch int) (Memory, error)
	// Eval, when set, scores every model × backend on it (top-1 accuracy with labels, agreement with the
	// first variant without).
	Eval *EvalSet
	// EvalBatch is the chunk size for Eval (default 64; a model with a fixed batch dimension uses that).
	EvalBatch int
	// Progress, when set, is told after each timed round.
	Progress func(done, total int)
}

// Memory is a variant's peak memory: the process's resident set (VmHWM) and the Go heap's peak in-use bytes.
type Memory struct {
	RSS    int64 `json:"peak_rss_bytes"`
	GoHeap int64 `json:"peak_go_heap_bytes"`
}

// Result is one variant's measurements.
type Result struct {
	Model      string        `json:"model"`
	Backend    string        `json:"backend"`
	Batch      int           `json:"batch"`
	FileBytes  int64         `json:"file_bytes"`
	Runs       int           `json:"runs"`
	Mean       time.Duration `json:"mean_ns"`
	P50        time.Duration `json:"p50_ns"`
	P90        time.Duration `json:"p90_ns"`
	P99        time.Duration `json:"p99_ns"`
	Throughput float64       `json:"throughput_per_s"` // items (batch rows) per second at p50
	Params     int64         `json:"parameters"`       // elements in initializers and Constant nodes
	PeakRSS    int64         `json:"peak_rss_bytes,omitempty"`
	PeakHeap   int64         `json:"peak_go_heap_bytes,omitempty"`
	// Accuracy is top-1 accuracy on Config.Eval (or agreement with the first variant when the set has no
	// labels); HasAccuracy says whether it was measured.
	Accuracy    float64 `json:"accuracy,omitempty"`
	HasAccuracy bool    `json:"has_accuracy"`
	EvalMetric  string  `json:"eval_metric,omitempty"` // "accuracy" or "agreement"
	EvalN       int     `json:"eval_examples,omitempty"`
	// Ratios against the first variant at the same batch (the first column of the table).
	Ratio           float64         `json:"p50_ratio_vs_first"` // this p50 / the first variant's p50
	SizeRatio       float64         `json:"size_ratio_vs_first"`
	ParamsRatio     float64         `json:"params_ratio_vs_first,omitempty"`
	ThroughputRatio float64         `json:"throughput_ratio_vs_first"`
	RSSRatio        float64         `json:"rss_ratio_vs_first,omitempty"`
	HeapRatio       float64         `json:"heap_ratio_vs_first,omitempty"`
	AccuracyDelta   float64         `json:"accuracy_delta_pt_vs_first,omitempty"` // percentage points
	VsORT           float64         `json:"p50_ratio_vs_ort,omitempty"`           // this p50 / ORT's p50 on the same model and batch
	MaxAbsDiff      float64         `json:"max_abs_diff_vs_first"`
	Samples         []time.Duration `json:"samples_ns"`
}

type variant struct {
	model, backend string
	sess           Session
	res            *Result
}

// Run measures every model × backend at each batch size. Runs are interleaved (round-robin, rotating the start)
// so drift on a shared machine hits every variant alike.
func Run(cfg Config) ([]*Result, error) {
	if cfg.Runs <= 0 {
		cfg.Runs = 20
	}
	if cfg.Warmup <= 0 {
		cfg.Warmup = 3
	}
	if len(cfg.Batches) == 0 {
		cfg.Batches = []int{0}
	}
	if len(cfg.Models) == 0 || len(cfg.Backends) == 0 {
		return nil, fmt.Errorf("bench: nothing to measure: give at least one model and one backend")
	}
	params := map[string]int64{}
	for _, m := range cfg.Models {
		mod, err := onnx.Load(m)
		if err != nil {
			return nil, fmt.Errorf("bench: %w", err)
		}
		params[m] = Parameters(mod)
	}
	type score struct {
		acc float64
		n   int
	}
	scores := map[[2]string]score{} // by model, backend: measured once, whatever the batch
	var refPreds []int64
	var all []*Result
	for _, batch := range cfg.Batches {
		var vs []*variant
		closeAll := func() {
			for _, v := range vs {
				v.sess.Close()
			}
		}
		for _, m := range cfg.Models {
			st, err := os.Stat(m)
			if err != nil {
				closeAll()
				return nil, fmt.Errorf("bench: %w", err)
			}
			for _, b := range cfg.Backends {
				s, err := Open(b, m, cfg.Threads)
				if err != nil {
					closeAll()
					return nil, fmt.Errorf("bench: %s on %s: %w", m, b, err)
				}
				vs = append(vs, &variant{model: m, backend: b, sess: s, res: &Result{Model: m, Backend: b, Batch: batch, FileBytes: st.Size(), Params: params[m]}})
			}
		}
		inputs, err := inputsFor(cfg.Models[0], cfg.Shapes, batch)
		if err != nil {
			closeAll()
			return nil, err
		}
		var ref map[string]*ir.Tensor
		for i, v := range vs {
			for w := 0; w < cfg.Warmup; w++ {
				out, err := v.sess.Run(inputs)
				if err != nil {
					closeAll()
					return nil, fmt.Errorf("bench: %s on %s: %w", v.model, v.backend, err)
				}
				if w == 0 {
					if i == 0 {
						ref = out
					} else {
						v.res.MaxAbsDiff = maxAbsDiff(ref, out)
					}
				}
			}
		}
		if cfg.Eval != nil {
			for _, v := range vs {
				key := [2]string{v.model, v.backend}
				sc, done := scores[key]
				if !done {
					infos, err := ModelInputs(v.model)
					if err != nil {
						closeAll()
						return nil, err
					}
					preds, err := Predict(v.sess, infos, cfg.Eval, cmp.Or(cfg.EvalBatch, 64))
					if err != nil {
						closeAll()
						return nil, fmt.Errorf("bench: evaluating %s on %s: %w", v.model, v.backend, err)
					}
					want := cfg.Eval.Labels
					if want == nil {
						if refPreds == nil {
							refPreds = preds // the first variant is the reference its successors must agree with
						}
						want = refPreds
					}
					sc = score{Score(preds, want), len(preds)}
					scores[key] = sc
				}
				v.res.Accuracy, v.res.HasAccuracy, v.res.EvalN = sc.acc, true, sc.n
				v.res.EvalMetric = "accuracy"
				if cfg.Eval.Labels == nil {
					v.res.EvalMetric = "agreement"
				}
			}
		}
		for r := 0; r < cfg.Runs; r++ {
			for j := range vs {
				v := vs[(j+r)%len(vs)]
				t0 := time.Now()
				if _, err := v.sess.Run(inputs); err != nil {
					closeAll()
					return nil, fmt.Errorf("bench: %s on %s: %w", v.model, v.backend, err)
				}
				v.res.Samples = append(v.res.Samples, time.Since(t0))
			}
			if cfg.Progress != nil {
				cfg.Progress(r+1, cfg.Runs)
			}
		}
		closeAll()
		runtime.GC()
		rows := batchRows(inputs)
		for _, v := range vs {
			summarise(v.res, rows)
			if cfg.MemProbe != nil {
				mem, err := cfg.MemProbe(v.model, v.backend, batch)
				if err != nil {
					return nil, fmt.Errorf("bench: memory probe for %s on %s: %w", v.model, v.backend, err)
				}
				v.res.PeakRSS, v.res.PeakHeap = mem.RSS, mem.GoHeap
			}
		}
		for _, v := range vs {
			setRatios(v.res, vs[0].res)
			all = append(all, v.res)
		}
		for _, v := range vs {
			for _, o := range vs {
				if o.backend == "ort" && o.model == v.model {
					v.res.VsORT = float64(v.res.P50) / float64(o.res.P50)
				}
			}
		}
	}
	return all, nil
}

// setRatios fills r's ratios against first (the table's first column); a ratio whose base is zero stays 0.
func setRatios(r, first *Result) {
	ratio := func(a, b float64) float64 {
		if b == 0 {
			return 0
		}
		return a / b
	}
	r.Ratio = ratio(float64(r.P50), float64(first.P50))
	r.SizeRatio = ratio(float64(r.FileBytes), float64(first.FileBytes))
	r.ParamsRatio = ratio(float64(r.Params), float64(first.Params))
	r.ThroughputRatio = ratio(r.Throughput, first.Throughput)
	r.RSSRatio = ratio(float64(r.PeakRSS), float64(first.PeakRSS))
	r.HeapRatio = ratio(float64(r.PeakHeap), float64(first.PeakHeap))
	r.AccuracyDelta = 0
	if r.HasAccuracy && first.HasAccuracy {
		r.AccuracyDelta = 100 * (r.Accuracy - first.Accuracy)
	}
}

func inputsFor(model string, shapes map[string][]int, batch int) (map[string]*ir.Tensor, error) {
	infos, err := ModelInputs(model)
	if err != nil {
		return nil, err
	}
	return MakeInputs(infos, shapes, batch)
}

func batchRows(in map[string]*ir.Tensor) int {
	for _, t := range in {
		if len(t.Shape) > 0 {
			return max(t.Shape[0], 1)
		}
	}
	return 1
}

func summarise(r *Result, rows int) {
	s := append([]time.Duration(nil), r.Samples...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	r.Runs = len(s)
	var sum time.Duration
	for _, d := range s {
		sum += d
	}
	r.Mean = sum / time.Duration(len(s))
	r.P50 = Percentile(s, 50)
	r.P90 = Percentile(s, 90)
	r.P99 = Percentile(s, 99)
	r.Throughput = float64(rows) / r.P50.Seconds()
}

// Percentile returns the p-th percentile of sorted samples (nearest rank).
func Percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(math.Ceil(p/100*float64(len(sorted)))) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

func maxAbsDiff(a, b map[string]*ir.Tensor) float64 {
	var m float64
	for name, ta := range a {
		tb, ok := b[name]
		if !ok || ta.Len() != tb.Len() {
			return math.Inf(1)
		}
		fa, fb := ta.Float64s(), tb.Float64s()
		for i := range fa {
			if d := math.Abs(fa[i] - fb[i]); d > m || math.IsNaN(d) {
				m = d
			}
		}
	}
	return m
}
