// Package optimize turns hone's lossy passes into one decision: it tries candidate recipes (FP16, INT8 dynamic,
// INT8 static with each calibrator, structured pruning at amounts chosen by a sensitivity sweep, pruning + INT8),
// scores each on evaluation data, benchmarks them all in one interleaved run, keeps the Pareto front of accuracy,
// latency and size, and picks the best recipe within an accuracy budget for a target.
package optimize

import (
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/hone-ml/hone/bench"
	"github.com/hone-ml/hone/internal/tempfiles"
	"github.com/hone-ml/hone/ir"
	"github.com/hone-ml/hone/onnx"
	"github.com/hone-ml/hone/prune"
	"github.com/hone-ml/hone/quant"
)

// Target is what the choice among the recipes within budget optimises.
type Target string

// Targets. Balanced maximises the geometric mean of the speed-up and the size reduction, so a recipe that is 4×
// smaller but 1.2× slower can still win, while one that is only slower cannot.
const (
	TargetSize     Target = "size"
	TargetLatency  Target = "latency"
	TargetBalanced Target = "balanced"
)

// ParseTarget parses a --target value.
func ParseTarget(s string) (Target, error) {
	switch t := Target(s); t {
	case TargetSize, TargetLatency, TargetBalanced:
		return t, nil
	}
	return "", fmt.Errorf("optimize: unknown target %q (want size, latency or balanced)", s)
}

// Recipe families, the names --skip takes.
const (
	FamilyFP16    = "fp16"
	FamilyDynamic = "dynamic"
	FamilyStatic  = "static"
	FamilyPrune   = "prune"
)

// ErrNoEvalData is returned when there is nothing to judge accuracy on and the caller did not accept choosing on
// speed and size alone.
var ErrNoEvalData = errors.New("optimize: no evaluation data: refusing to choose on speed and size alone (give eval data, or accept the risk with --no-accuracy-check)")

// ErrNoRecipe is wrapped when no recipe is both within the accuracy budget and better than fp32 on the target.
var ErrNoRecipe = errors.New("no recipe meets the budget")

// Config says what to optimise and how to judge it.
type Config struct {
	Model string // the fp32 ONNX file
	// Calib feeds static quantization's calibration; without it the static recipes are skipped.
	Calib quant.Samples
	// Eval is what accuracy is measured on; it should not overlap Calib.
	Eval *EvalSet
	// NoAccuracyCheck allows choosing without Eval, on speed and size alone.
	NoAccuracyCheck bool
	MaxDrop         float64 // accuracy budget in percentage points (default 1)
	Target          Target  // default balanced
	// Recipe, when set, is the only candidate: no search.
	Recipe *Recipe
	// Skip names recipe families not to try (FamilyFP16, …).
	Skip []string
	// Calibrators for the static recipes (default all four).
	Calibrators []quant.Calibrator
	// PruneAmounts are the per-layer fractions the sensitivity sweep tries (default 0.25 and 0.5).
	PruneAmounts []float64
	// PruneBudgets are the fractions of MaxDrop the pruning plans may spend, one pruned candidate each (default ½
	// and 1). The smallest one is also combined with INT8, leaving the rest of the budget to quantization.
	PruneBudgets []float64

	Shapes  map[string][]int // benchmark input shapes (bench.ParseShapes)
	Batch   int              // benchmark batch (0: the shape given by Shapes or the model)
	Threads int
	Runs    int // timed runs per candidate (default 20)
	Warmup  int
	// EvalBatch is how many examples one evaluation run feeds (default 1). Dynamic quantization picks its
	// activation scales per run, so its score depends on the batch: the default judges it as a latency-bound
	// deployment runs it, one example at a time.
	EvalBatch int
	// MemProbe, when set, measures each candidate's peak memory alone (bench.Config.MemProbe).
	MemProbe func(model, backend string, batch int) (bench.Memory, error)

	// WorkDir holds the candidate files (default: a new temporary directory, removed by Result.Close).
	WorkDir string
	// Log, when set, gets one line per stage.
	Log io.Writer
	// Progress, when set, is told how far a long stage (sweep, calibration, benchmark) has got.
	Progress func(stage string, done, total int)
}

// Candidate is one recipe's outcome. Ratios are against fp32 (above 1 is better for Speedup and Compression).
type Candidate struct {
	Name   string  `json:"name"`
	Recipe *Recipe `json:"recipe,omitempty"` // nil for the fp32 baseline
	Path   string  `json:"-"`

	Score    float64 `json:"score,omitempty"` // accuracy or agreement, a fraction
	HasScore bool    `json:"has_score"`
	Drop     float64 `json:"drop_pt"` // percentage points lost against fp32

	FileBytes   int64         `json:"file_bytes"`
	Params      int64         `json:"parameters"`
	P50         time.Duration `json:"p50_ns"`
	P99         time.Duration `json:"p99_ns"`
	Throughput  float64       `json:"throughput_per_s"`
	PeakRSS     int64         `json:"peak_rss_bytes,omitempty"`
	PeakHeap    int64         `json:"peak_go_heap_bytes,omitempty"`
	Speedup     float64       `json:"speedup"`     // fp32 p50 / this p50
	Compression float64       `json:"compression"` // fp32 file bytes / this file's

	Pareto  bool   `json:"pareto"`
	Within  bool   `json:"within_budget"`
	Chosen  bool   `json:"chosen"`
	Verdict string `json:"verdict"` // why it was chosen or rejected
	Err     string `json:"error,omitempty"`
	family  string
}

// Result is a search's (or a fixed recipe's) outcome.
type Result struct {
	Model      string       `json:"model"`
	Metric     string       `json:"metric"` // "accuracy", "agreement" or "" without eval data
	EvalN      int          `json:"eval_examples"`
	MaxDrop    float64      `json:"max_drop_pt"`
	Target     Target       `json:"target"`
	Baseline   *Candidate   `json:"baseline"`
	Candidates []*Candidate `json:"candidates"`
	Chosen     *Candidate   `json:"chosen,omitempty"`
	Notes      []string     `json:"notes,omitempty"`
	Sweep      *prune.Sweep `json:"-"`
	Elapsed    float64      `json:"elapsed_s"`
	dir        string
	ownDir     bool
	untrack    func() // stops the interrupt handler's removal of an own dir
}

// Close removes the candidate files when the directory was created by Run.
func (r *Result) Close() error {
	if r.ownDir {
		err := os.RemoveAll(r.dir)
		r.untrack()
		return err
	}
	return nil
}

// Run searches the recipes (or applies cfg.Recipe), evaluates and benchmarks them, and chooses. The candidate
// files stay in the work directory until Close. When no recipe qualifies it returns the Result (for the table)
// with an error wrapping ErrNoRecipe.
func Run(cfg Config) (*Result, error) {
	start := time.Now()
	if cfg.MaxDrop == 0 {
		cfg.MaxDrop = 1
	}
	if cfg.MaxDrop < 0 || !finite(cfg.MaxDrop) {
		return nil, fmt.Errorf("optimize: the accuracy budget must be a non-negative number of points, got %v", cfg.MaxDrop)
	}
	if cfg.Target == "" {
		cfg.Target = TargetBalanced
	}
	if _, err := ParseTarget(string(cfg.Target)); err != nil {
		return nil, err
	}
	if cfg.Eval == nil && !cfg.NoAccuracyCheck {
		return nil, ErrNoEvalData
	}
	if cfg.Eval != nil && cfg.Eval.N() == 0 {
		return nil, fmt.Errorf("optimize: the eval data has no examples")
	}
	if cfg.Recipe != nil {
		if err := cfg.Recipe.Validate(); err != nil {
			return nil, err
		}
	}
	m, err := onnx.Load(cfg.Model)
	if err != nil {
		return nil, fmt.Errorf("optimize: %w", err)
	}
	if ins := m.Graph.RealInputs(); len(ins) == 1 && cfg.Calib != nil {
		cfg.Calib = named{cfg.Calib, ins[0].Name}
	}
	res := &Result{Model: cfg.Model, MaxDrop: cfg.MaxDrop, Target: cfg.Target, dir: cfg.WorkDir}
	if res.dir == "" {
		if res.dir, err = os.MkdirTemp("", "hone-optimize-"); err != nil {
			return nil, err
		}
		res.ownDir, res.untrack = true, tempfiles.Track(res.dir)
	}
	s := &search{cfg: cfg, m: m, res: res}
	if err := s.run(); err != nil {
		res.Close()
		return nil, err
	}
	err = res.decide(cfg.NoAccuracyCheck)
	res.Elapsed = time.Since(start).Seconds()
	return res, err
}

type search struct {
	cfg Config
	m   *ir.Model
	res *Result
	sc  *scorer
	n   int // candidate files written
}

func (s *search) logf(format string, args ...any) {
	if s.cfg.Log != nil {
		fmt.Fprintf(s.cfg.Log, format+"\n", args...)
	}
}

func (s *search) progress(stage string) func(done, total int) {
	if s.cfg.Progress == nil {
		return nil
	}
	return func(done, total int) { s.cfg.Progress(stage, done, total) }
}

func (s *search) skip(family string) bool { return slices.Contains(s.cfg.Skip, family) }

func (s *search) run() error {
	res := s.res
	res.Baseline = &Candidate{Name: "fp32", Path: s.cfg.Model, Within: true}
	if s.cfg.Eval != nil {
		sc, err := newScorer(s.m, s.cfg.Eval, s.cfg.EvalBatch, s.cfg.Threads)
		if err != nil {
			return err
		}
		s.sc = sc
		res.Metric, res.EvalN = sc.metric, s.cfg.Eval.N()
		base := 1.0
		if sc.metric == "accuracy" {
			if base, err = sc.score(s.m); err != nil {
				return fmt.Errorf("optimize: evaluating the fp32 model: %w", err)
			}
		}
		res.Baseline.Score, res.Baseline.HasScore = base, true
		s.logf("fp32 %s on %d examples: %.2f%%", sc.metric, res.EvalN, 100*base)
	}

	if s.cfg.Recipe != nil {
		s.try(s.cfg.Recipe, "recipe")
	} else {
		s.searchRecipes()
	}
	return s.benchmark()
}

// searchRecipes builds and scores the candidate recipes, cheapest first.
func (s *search) searchRecipes() {
	res := s.res
	if !s.skip(FamilyFP16) {
		s.try(&Recipe{Steps: []Step{{Step: "quantize", Mode: "fp16"}}}, FamilyFP16)
	}
	if !s.skip(FamilyDynamic) {
		s.try(&Recipe{Steps: []Step{{Step: "quantize", Mode: "dynamic"}}}, FamilyDynamic)
	}
	var bestQuant *Step
	if !s.skip(FamilyStatic) {
		if s.cfg.Calib == nil || s.cfg.Calib.Len() == 0 {
			res.Notes = append(res.Notes, "INT8 static: skipped, no calibration data")
		} else {
			cals := s.cfg.Calibrators
			if len(cals) == 0 {
				cals = []quant.Calibrator{quant.CalMinMax, quant.CalPercentile, quant.CalEntropy, quant.CalMSE}
			}
			for _, cal := range cals {
				s.try(&Recipe{Steps: []Step{{Step: "quantize", Mode: "static", Calibrator: string(cal)}}}, FamilyStatic)
			}
		}
	}
	// The INT8 step pruning is combined with: the static calibrator that kept the most accuracy (the first on a
	// tie), else dynamic when it applied.
	var best *Candidate
	for _, c := range res.Candidates {
		if c.Err != "" || (c.family != FamilyStatic && c.family != FamilyDynamic) {
			continue
		}
		if best == nil || (c.family == FamilyStatic && best.family == FamilyDynamic) ||
			(c.family == best.family && c.HasScore && c.Score > best.Score) {
			best = c
		}
	}
	if best != nil {
		st := best.Recipe.Steps[0]
		bestQuant = &st
	}
	if s.skip(FamilyPrune) {
		return
	}
	if s.sc == nil {
		res.Notes = append(res.Notes, "pruning: skipped, its sensitivity sweep needs eval data")
		return
	}
	for i, plan := range s.prunePlans() {
		c := s.try(plan, FamilyPrune)
		if i == 0 && bestQuant != nil && c.Err == "" {
			s.try(&Recipe{Name: plan.Name + " + " + bestQuant.String(), Steps: []Step{plan.Steps[0], *bestQuant}}, FamilyPrune+"+"+bestQuant.Mode)
		}
	}
}

// prunePlans runs the sensitivity sweep (ln-structured, L2, output channels) and turns it into one per-layer
// plan per fraction of the budget, the smallest fraction first.
func (s *search) prunePlans() []*Recipe {
	res := s.res
	amounts := s.cfg.PruneAmounts
	if len(amounts) == 0 {
		amounts = []float64{0.25, 0.5}
	}
	budgets := slices.Clone(s.cfg.PruneBudgets)
	if len(budgets) == 0 {
		budgets = []float64{0.5, 1}
	}
	slices.Sort(budgets)
	layers := len(prune.Measure(s.m).Layers)
	total := layers * len(amounts)
	s.logf("sensitivity sweep: %d layers × %d amounts, ln-structured", layers, len(amounts))
	done := 0
	prog := s.progress("sensitivity sweep")
	eval := func(m *ir.Model) (float64, error) {
		v, err := s.sc.score(m)
		done++
		if prog != nil {
			prog(min(done, total), total)
		}
		return v, err
	}
	sweep, notes, err := prune.Sensitivity(s.m, prune.SensitivityConfig{Method: prune.MethodLn, Amounts: amounts, Norm: 2}, eval)
	if prog != nil && done < total {
		prog(total, total) // layers the sweep skipped were counted in the total
	}
	if err != nil {
		res.Notes = append(res.Notes, fmt.Sprintf("pruning: sensitivity sweep failed: %v", err))
		return nil
	}
	res.Sweep = sweep
	if len(notes) > 0 {
		res.Notes = append(res.Notes, fmt.Sprintf("pruning: %d layers cannot be pruned structurally (e.g. %s)", len(notes), notes[0]))
	}
	obj := prune.ObjectiveFLOPs
	if s.cfg.Target == TargetSize {
		obj = prune.ObjectiveBytes
	}
	var plans []*Recipe
	seen := map[string]bool{}
	for _, f := range budgets {
		b, err := sweep.PlanBudget(s.m, 2, f*s.cfg.MaxDrop/100, obj, eval)
		if err != nil {
			res.Notes = append(res.Notes, fmt.Sprintf("pruning at %.2g× the budget: %v", f, err))
			continue
		}
		per := map[string]float64{}
		key := ""
		for _, c := range b.Plan {
			if c.Amount > 0 {
				per[c.Node] = c.Amount
				key += fmt.Sprintf("%s=%g;", c.Node, c.Amount)
			}
		}
		if len(per) == 0 {
			res.Notes = append(res.Notes, fmt.Sprintf("pruning at %.2g× the budget: no layer can lose a channel within %.2g pt", f, f*s.cfg.MaxDrop))
			continue
		}
		if seen[key] {
			continue
		}
		seen[key] = true
		removed := 1 - float64(b.Report.After.Params)/float64(max(b.Report.Before.Params, 1))
		name := fmt.Sprintf("pruned −%.0f%% params (%.2g pt plan)", 100*removed, f*s.cfg.MaxDrop)
		plans = append(plans, &Recipe{Name: name, Steps: []Step{{Step: "prune", Method: string(prune.MethodLn), PerLayer: per}}})
	}
	return plans
}

// try applies a recipe, scores it and writes its file; a failure is recorded on the candidate, not returned,
// so one recipe's problem never stops the search.
func (s *search) try(r *Recipe, family string) *Candidate {
	if r.Name == "" {
		r.Name = r.String()
	}
	c := &Candidate{Name: r.Name, Recipe: r, family: family}
	s.res.Candidates = append(s.res.Candidates, c)
	t0 := time.Now()
	out, err := r.Apply(s.m, s.cfg.Calib, s.progress("calibrating "+r.Name))
	if err == nil && s.sc != nil {
		c.Score, err = s.sc.score(out)
		c.HasScore = err == nil
		c.Drop = 100 * (s.res.Baseline.Score - c.Score)
	}
	if err == nil {
		s.n++
		c.Path = filepath.Join(s.res.dir, fmt.Sprintf("candidate%02d.onnx", s.n))
		err = onnx.Save(out, c.Path, onnx.AllowOverwrite())
	}
	if err != nil {
		c.Err = err.Error()
		s.logf("%-34s failed: %v", c.Name, err)
		return c
	}
	if c.HasScore {
		s.logf("%-34s %s %.2f%% (%s pt) in %.1fs", c.Name, s.sc.metric, 100*c.Score, signed(-c.Drop), time.Since(t0).Seconds())
	} else {
		s.logf("%-34s built in %.1fs", c.Name, time.Since(t0).Seconds())
	}
	return c
}

// benchmark measures fp32 and every built candidate in one interleaved run.
func (s *search) benchmark() error {
	all := []*Candidate{s.res.Baseline}
	for _, c := range s.res.Candidates {
		if c.Err == "" {
			all = append(all, c)
		}
	}
	paths := make([]string, len(all))
	for i, c := range all {
		paths[i] = c.Path
	}
	runs := s.cfg.Runs
	if runs <= 0 {
		runs = 20
	}
	s.logf("benchmarking %d models, %d interleaved runs each", len(all), runs)
	var batches []int
	if s.cfg.Batch > 0 {
		batches = []int{s.cfg.Batch}
	}
	br, err := bench.Run(bench.Config{Models: paths, Backends: []string{"hone"}, Batches: batches, Shapes: s.cfg.Shapes,
		Threads: s.cfg.Threads, Runs: runs, Warmup: s.cfg.Warmup, MemProbe: s.cfg.MemProbe, Progress: s.progress("benchmark")})
	if err != nil {
		return fmt.Errorf("optimize: %w", err)
	}
	if len(br) != len(all) {
		return fmt.Errorf("optimize: benchmark returned %d results for %d models", len(br), len(all))
	}
	for i, c := range all {
		r := br[i]
		c.FileBytes, c.Params, c.P50, c.P99, c.Throughput = r.FileBytes, r.Params, r.P50, r.P99, r.Throughput
		c.PeakRSS, c.PeakHeap = r.PeakRSS, r.PeakHeap
	}
	base := s.res.Baseline
	for _, c := range all {
		c.Speedup = ratio(float64(base.P50), float64(c.P50))
		c.Compression = ratio(float64(base.FileBytes), float64(c.FileBytes))
	}
	return nil
}

// signed formats a change in points with its sign, never as "-0.00".
func signed(v float64) string {
	if math.Abs(v) < 0.005 {
		v = 0
	}
	return fmt.Sprintf("%+.2f", v)
}

func ratio(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return a / b
}
