package optimize

import (
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/hone-ml/hone/internal/tempfiles"
)

// gain is how much better than fp32 a candidate is on the target: above 1 is an improvement.
func (c *Candidate) gain(t Target) float64 {
	switch t {
	case TargetSize:
		return c.Compression
	case TargetLatency:
		return c.Speedup
	}
	return math.Sqrt(c.Speedup * c.Compression)
}

// dominates reports whether a is at least as good as b in accuracy drop, p50 latency and file size, and better
// in one of them.
func dominates(a, b *Candidate) bool {
	if a.Drop > b.Drop || a.P50 > b.P50 || a.FileBytes > b.FileBytes {
		return false
	}
	return a.Drop < b.Drop || a.P50 < b.P50 || a.FileBytes < b.FileBytes
}

// decide marks the Pareto front, the candidates within budget, the choice, and a verdict for every candidate.
func (r *Result) decide(noCheck bool) error {
	points := []*Candidate{r.Baseline}
	for _, c := range r.Candidates {
		if c.Err == "" {
			points = append(points, c)
		}
	}
	for _, c := range points {
		c.Pareto = true
		for _, o := range points {
			if o != c && dominates(o, c) {
				c.Pareto = false
				break
			}
		}
	}
	const eps = 1e-9
	var eligible []*Candidate
	for _, c := range r.Candidates {
		switch {
		case c.Err != "":
			c.Verdict = "failed: " + c.Err
			continue
		case c.HasScore && c.Drop > r.MaxDrop+eps:
			c.Verdict = fmt.Sprintf("−%.2f pt %s > budget %.2g", c.Drop, r.Metric, r.MaxDrop)
			continue
		case !c.HasScore && !noCheck:
			c.Verdict = "not evaluated"
			continue
		}
		c.Within = true
		if g := c.gain(r.Target); g <= 1 {
			c.Verdict = "within budget but " + r.noGain(c)
			continue
		}
		eligible = append(eligible, c)
	}
	r.Baseline.Verdict = "reference"
	if len(eligible) == 0 {
		return fmt.Errorf("optimize: %w of %.2g pt while beating fp32 on %s; closest: %s", ErrNoRecipe, r.MaxDrop, r.Target, r.closest(3))
	}
	best := eligible[0]
	for _, c := range eligible[1:] {
		if better(c, best, r.Target) {
			best = c
		}
	}
	best.Chosen, r.Chosen = true, best
	best.Verdict = fmt.Sprintf("chosen for --target %s: %s", r.Target, r.describe(best))
	for _, c := range eligible {
		if c == best {
			continue
		}
		if !c.Pareto {
			for _, o := range points {
				if o != c && dominates(o, c) {
					c.Verdict = "dominated by " + o.Name + " (no better in accuracy, latency or size)"
					break
				}
			}
			continue
		}
		c.Verdict = fmt.Sprintf("on the Pareto front, but %s %s", best.Name, r.wins(best, c))
	}
	return nil
}

// better orders eligible candidates for a target: the target's own figure first, the other ones and the
// accuracy drop as tie-breaks.
func better(a, b *Candidate, t Target) bool {
	ga, gb := a.gain(t), b.gain(t)
	if math.Abs(ga-gb) > 1e-3*max(ga, gb) {
		return ga > gb
	}
	if a.Drop != b.Drop {
		return a.Drop < b.Drop
	}
	if t == TargetSize {
		return a.P50 < b.P50
	}
	return a.FileBytes < b.FileBytes
}

func (r *Result) noGain(c *Candidate) string {
	switch r.Target {
	case TargetSize:
		return fmt.Sprintf("no smaller than fp32 (%.2f×)", 1/c.Compression)
	case TargetLatency:
		return fmt.Sprintf("%.2f× slower than fp32", 1/c.Speedup)
	}
	return fmt.Sprintf("no net gain (%s)", r.describe(c))
}

func (r *Result) wins(best, c *Candidate) string {
	switch r.Target {
	case TargetSize:
		return fmt.Sprintf("is smaller (%.2f× vs %.2f× fp32's size)", 1/best.Compression, 1/c.Compression)
	case TargetLatency:
		return fmt.Sprintf("is faster (%.2f× vs %.2f× fp32's speed)", best.Speedup, c.Speedup)
	}
	return fmt.Sprintf("balances better (√(speed-up × size reduction) %.2f vs %.2f)", best.gain(TargetBalanced), c.gain(TargetBalanced))
}

func (r *Result) describe(c *Candidate) string {
	s := fmt.Sprintf("%.2f× faster", c.Speedup)
	if c.Speedup < 1 {
		s = fmt.Sprintf("%.2f× slower", 1/c.Speedup)
	}
	if c.Compression >= 1 {
		s += fmt.Sprintf(", %.2f× smaller", c.Compression)
	} else {
		s += fmt.Sprintf(", %.2f× larger", 1/c.Compression)
	}
	if c.HasScore {
		s += fmt.Sprintf(", %s pt %s (budget %.2g)", signed(-c.Drop), r.Metric, r.MaxDrop)
	} else {
		s += ", accuracy not checked"
	}
	return s
}

// closest lists up to k built candidates nearest the budget, for the error when none meets it.
func (r *Result) closest(k int) string {
	var cs []*Candidate
	for _, c := range r.Candidates {
		if c.Err == "" {
			cs = append(cs, c)
		}
	}
	if len(cs) == 0 {
		return "none (every recipe failed)"
	}
	slices.SortStableFunc(cs, func(a, b *Candidate) int {
		switch {
		case a.Drop < b.Drop:
			return -1
		case a.Drop > b.Drop:
			return 1
		}
		return 0
	})
	var parts []string
	for _, c := range cs[:min(k, len(cs))] {
		parts = append(parts, fmt.Sprintf("%s (%s)", c.Name, r.describe(c)))
	}
	return strings.Join(parts, "; ")
}

// Save copies the chosen candidate to path atomically (a temporary file in the same directory, then a rename),
// refusing to overwrite the input model.
func (r *Result) Save(path string) error {
	if r.Chosen == nil {
		return fmt.Errorf("optimize: no recipe was chosen, nothing to write")
	}
	if same(path, r.Model) {
		return fmt.Errorf("optimize: refusing to overwrite the input model %s", r.Model)
	}
	return copyAtomic(r.Chosen.Path, path)
}

func same(a, b string) bool {
	sa, errA := os.Stat(a)
	sb, errB := os.Stat(b)
	if errA == nil && errB == nil {
		return os.SameFile(sa, sb)
	}
	pa, _ := filepath.Abs(a)
	pb, _ := filepath.Abs(b)
	return pa == pb
}

func copyAtomic(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	if err := tempfiles.WriteFile(dst, func(w io.Writer) error { _, err := io.Copy(w, in); return err }); err != nil {
		return fmt.Errorf("optimize: writing %s: %w", dst, err)
	}
	return nil
}
