package prune

import (
	"cmp"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/hone-ml/hone/ir"
)

// SensitivityConfig says how to sweep: each selected layer is pruned alone, by Method (l1 or ln-structured,
// with Norm), at each of Amounts.
type SensitivityConfig struct {
	Method  Method
	Amounts []float64
	Layers  []string
	Norm    float64
	// Shapes fixes symbolic input dims for FLOP counting (by input name); nil counts them as 1.
	Shapes map[string][]int
}

// DefaultAmounts is the sweep 0.1, 0.2, …, 0.9.
var DefaultAmounts = []float64{0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9}

// SweepLayer is one layer's row of a sensitivity sweep.
type SweepLayer struct {
	Node string // node name, the Layers selector that picks it alone
	Op   string
	// Scores[i] is the model's score with this layer alone pruned by Amounts[i]; FLOPsSaved[i] and BytesSaved[i]
	// are what that removes from the whole model (nonzero-weight FLOPs and, for structured pruning, the
	// bytes of every shrunk initializer; for unstructured, the 4 bytes of each zeroed weight).
	Scores     []float64
	FLOPsSaved []int64
	BytesSaved []int64
}

// Sweep is the result of Sensitivity.
type Sweep struct {
	Method   Method
	Amounts  []float64
	Baseline float64 // the unpruned model's score
	Layers   []SweepLayer
	Before   Stats
}

// Sensitivity prunes each selected layer alone at each amount and scores the result (the sensitivity analysis
// of Han et al., "Learning both Weights and Connections for Efficient Neural Networks", 2015, and Li et al.,
// "Pruning Filters for Efficient ConvNets", 2017). Layers that cannot be pruned as asked (a structured layer
// feeding a graph output, say) are skipped with their reason in the returned notes. m is not modified.
func Sensitivity(m *ir.Model, cfg SensitivityConfig, eval Evaluate) (*Sweep, []string, error) {
	if cfg.Method != MethodL1 && cfg.Method != MethodLn {
		return nil, nil, invalidf("sensitivity: method %q (want l1 or ln-structured)", cfg.Method)
	}
	if len(cfg.Amounts) == 0 {
		cfg.Amounts = DefaultAmounts
	}
	for _, a := range cfg.Amounts {
		if err := Fraction(a).Validate(); err != nil {
			return nil, nil, err
		}
	}
	if err := checkShapes(m, cfg.Shapes); err != nil {
		return nil, nil, err
	}
	c := m.Clone()
	hoistConstants(c.Graph)
	layers, err := selectLayers(c.Graph, cfg.Layers)
	if err != nil {
		return nil, nil, err
	}
	if len(layers) == 0 {
		return nil, nil, invalidf("sensitivity: the model has no prunable layer")
	}
	base, err := eval(m)
	if err != nil {
		return nil, nil, fmt.Errorf("prune: sensitivity: unpruned model: %w", err)
	}
	sw := &Sweep{Method: cfg.Method, Amounts: slices.Clone(cfg.Amounts), Baseline: base, Before: MeasureShapes(m, cfg.Shapes)}
	var notes []string
layers:
	for _, l := range layers {
		row := SweepLayer{Node: l.node.Name, Op: l.node.OpType}
		for _, a := range cfg.Amounts {
			p, rep, err := Prune(m, Config{Method: cfg.Method, Amount: Fraction(a), Norm: cfg.Norm, Layers: []string{l.node.Name}})
			if errors.Is(err, ErrUnsupported) {
				notes = append(notes, fmt.Sprintf("%s skipped: %v", l.node, err))
				continue layers
			}
			if err != nil {
				return nil, nil, err
			}
			if rep.ChannelsBefore == 0 && cfg.Method == MethodLn && a > 0 {
				// Left alone (rounding to zero channels is fine, a note means it could not be pruned at all).
				if len(rep.Notes) > 0 {
					notes = append(notes, fmt.Sprintf("%s skipped: %s", l.node, rep.Notes[0]))
					continue layers
				}
			}
			s, err := eval(p)
			if err != nil {
				return nil, nil, fmt.Errorf("prune: sensitivity: %s at %v: %w", l.node, a, err)
			}
			after := MeasureShapes(p, cfg.Shapes)
			row.Scores = append(row.Scores, s)
			row.FLOPsSaved = append(row.FLOPsSaved, sw.Before.NonzeroFLOPs-after.NonzeroFLOPs)
			saved := sw.Before.Bytes - after.Bytes
			if cfg.Method == MethodL1 {
				saved = 4 * (sw.Before.Nonzero - after.Nonzero)
			}
			row.BytesSaved = append(row.BytesSaved, saved)
		}
		sw.Layers = append(sw.Layers, row)
	}
	if len(sw.Layers) == 0 {
		return nil, notes, unsupportedf("sensitivity: no selected layer can be pruned by %s", cfg.Method)
	}
	return sw, notes, nil
}

// WriteTable prints one row per layer: the score at each amount and the drop at the largest.
func (s *Sweep) WriteTable(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	var head strings.Builder
	head.WriteString("layer\top\t")
	for _, a := range s.Amounts {
		fmt.Fprintf(&head, "%g\t", a)
	}
	fmt.Fprintln(tw, head.String())
	for _, l := range s.Layers {
		fmt.Fprintf(tw, "%s\t%s\t", l.Node, l.Op)
		for _, v := range l.Scores {
			fmt.Fprintf(tw, "%.4f\t", v)
		}
		fmt.Fprintln(tw)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err := fmt.Fprintf(w, "unpruned score: %.4f (%s pruning, one layer at a time)\n", s.Baseline, s.Method)
	return err
}

// Objective is what Choose maximises.
type Objective string

// Objectives.
const (
	ObjectiveFLOPs Objective = "flops"
	ObjectiveBytes Objective = "bytes"
)

// Choice is one layer's amount in a plan; Amount 0 leaves it alone.
type Choice struct {
	Node   string
	Amount float64
	Drop   float64 // the score drop the sweep measured for this layer alone
	Saved  int64   // FLOPs or bytes this layer's amount removes, per the objective
}

// Choose picks at most one amount per layer, maximising the total saving while the sum of the measured
// single-layer drops stays within maxDrop. It is a multiple-choice knapsack solved greedily by the best
// saving per unit of drop (a drop at or below zero is free), the usual heuristic for per-layer budgets (as in
// Li et al. 2017's sensitivity-driven layer selection). Steps are returned in the order they were taken, so a
// caller that finds the combined drop too large can back them off.
func (s *Sweep) Choose(maxDrop float64, obj Objective) ([]Choice, []Choice) {
	level := make([]int, len(s.Layers)) // 0: unpruned, i+1: Amounts[i]
	val := func(l, lv int) (drop float64, saved int64) {
		if lv == 0 {
			return 0, 0
		}
		row := s.Layers[l]
		drop = math.Max(s.Baseline-row.Scores[lv-1], 0)
		if obj == ObjectiveBytes {
			return drop, row.BytesSaved[lv-1]
		}
		return drop, row.FLOPsSaved[lv-1]
	}
	var steps []Choice
	used := 0.0
	for {
		best, bestLv := -1, 0
		var bestRatio float64
		var bestSaved int64
		for l := range s.Layers {
			d0, s0 := val(l, level[l])
			for lv := level[l] + 1; lv <= len(s.Amounts); lv++ {
				d1, s1 := val(l, lv)
				dd, ds := d1-d0, s1-s0
				if ds <= 0 || used+dd > maxDrop+1e-12 {
					continue
				}
				ratio := math.Inf(1)
				if dd > 1e-12 {
					ratio = float64(ds) / dd
				}
				if best < 0 || ratio > bestRatio || ratio == bestRatio && ds > bestSaved {
					best, bestLv, bestRatio, bestSaved = l, lv, ratio, ds
				}
			}
		}
		if best < 0 {
			break
		}
		d0, _ := val(best, level[best])
		d1, s1 := val(best, bestLv)
		used += d1 - d0
		level[best] = bestLv
		steps = append(steps, Choice{Node: s.Layers[best].Node, Amount: s.Amounts[bestLv-1], Drop: d1, Saved: s1})
	}
	return s.plan(level, obj), steps
}

func (s *Sweep) plan(level []int, obj Objective) []Choice {
	var out []Choice
	for l, lv := range level {
		if lv == 0 {
			continue
		}
		row := s.Layers[l]
		c := Choice{Node: row.Node, Amount: s.Amounts[lv-1], Drop: math.Max(s.Baseline-row.Scores[lv-1], 0),
			Saved: row.FLOPsSaved[lv-1]}
		if obj == ObjectiveBytes {
			c.Saved = row.BytesSaved[lv-1]
		}
		out = append(out, c)
	}
	return out
}

// PruneEach prunes each chosen layer by its own amount, one after another (later choices see the graph the
// earlier ones shrank), and returns the result with one report against m.
func PruneEach(m *ir.Model, method Method, norm float64, plan []Choice) (*ir.Model, *Report, error) {
	cur := m
	for _, c := range plan {
		p, _, err := Prune(cur, Config{Method: method, Amount: Fraction(c.Amount), Norm: norm, Layers: []string{c.Node}})
		if err != nil {
			return nil, nil, err
		}
		cur = p
	}
	if cur == m {
		cur = m.Clone()
	}
	rep := &Report{Method: method, Before: Measure(m), After: Measure(cur)}
	for _, c := range plan {
		rep.Selected = append(rep.Selected, c.Node)
	}
	return cur, rep, nil
}

// Budget is the result of PlanBudget.
type Budget struct {
	Plan     []Choice
	Model    *ir.Model
	Report   *Report
	Score    float64 // measured on the combined model
	Drop     float64 // Baseline - Score
	BackOffs int     // greedy steps undone because the measured combined drop exceeded the budget
}

// PlanBudget chooses per-layer amounts within maxDrop (Choose), prunes them together and measures the combined
// model: single-layer drops need not add up, so while the measured drop exceeds the budget the last greedy
// step is undone (its layer goes back to its previous amount) and the model measured again.
func (s *Sweep) PlanBudget(m *ir.Model, norm, maxDrop float64, obj Objective, eval Evaluate) (*Budget, error) {
	if math.IsNaN(maxDrop) || maxDrop < 0 {
		return nil, invalidf("max accuracy drop %v is negative", maxDrop)
	}
	_, steps := s.Choose(maxDrop, obj)
	b := &Budget{}
	for {
		plan := planOf(steps)
		p, rep, err := PruneEach(m, s.Method, norm, plan)
		if err != nil {
			return nil, err
		}
		score, err := eval(p)
		if err != nil {
			return nil, err
		}
		b.Plan, b.Model, b.Report, b.Score, b.Drop = plan, p, rep, score, s.Baseline-score
		if b.Drop <= maxDrop+1e-12 || len(steps) == 0 {
			return b, nil
		}
		steps = steps[:len(steps)-1]
		b.BackOffs++
	}
}

// planOf collapses greedy steps into the last amount per layer, in layer order of first appearance.
func planOf(steps []Choice) []Choice {
	idx := map[string]int{}
	var out []Choice
	for _, c := range steps {
		if i, ok := idx[c.Node]; ok {
			out[i] = c
			continue
		}
		idx[c.Node] = len(out)
		out = append(out, c)
	}
	return out
}

// WritePlan prints the chosen amounts, biggest saving first.
func (b *Budget) WritePlan(w io.Writer, obj Objective) error {
	plan := slices.Clone(b.Plan)
	slices.SortStableFunc(plan, func(x, y Choice) int { return cmp.Compare(y.Saved, x.Saved) })
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "layer\tamount\tdrop alone\t%s saved\t\n", obj)
	for _, c := range plan {
		fmt.Fprintf(tw, "%s\t%g\t%.4f\t%d\t\n", c.Node, c.Amount, c.Drop, c.Saved)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err := fmt.Fprintf(w, "combined: score %.4f, drop %.4f (%d greedy steps backed off)\n", b.Score, b.Drop, b.BackOffs)
	return err
}
