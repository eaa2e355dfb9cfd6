package optimize

import (
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/hone-ml/hone/bench"
)

// WriteTable prints every candidate, fp32 first: size, p50 latency, throughput, peak memory, accuracy, the ratios
// against fp32 and whether it is on the Pareto front; then the choice and one line of reasoning per rejected
// recipe, then the notes.
func (r *Result) WriteTable(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	metric := r.Metric
	if metric == "" {
		metric = "accuracy"
	}
	fmt.Fprintf(tw, "recipe\tsize\tp50\tthroughput\tpeak RSS\tGo heap\t%s\tpareto\t\n", metric)
	for _, c := range append([]*Candidate{r.Baseline}, r.Candidates...) {
		name := c.Name
		if c.Chosen {
			name = "* " + name
		}
		if c.Err != "" {
			fmt.Fprintf(tw, "%s\tfailed\t\t\t\t\t\t\t\n", name)
			continue
		}
		acc := "-"
		if c.HasScore {
			acc = fmt.Sprintf("%.2f%%", 100*c.Score)
			if c != r.Baseline {
				acc += " (" + signed(-c.Drop) + " pt)"
			}
		}
		size, lat, thr := bench.Bytes(c.FileBytes), bench.Millis(c.P50), fmt.Sprintf("%.1f/s", c.Throughput)
		if c != r.Baseline {
			size += fmt.Sprintf(" (%.2f×)", 1/c.Compression)
			lat += fmt.Sprintf(" (%.2f×)", 1/c.Speedup)
		}
		pareto := ""
		if c.Pareto {
			pareto = "yes"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t\n", name, size, lat, thr, mem(c.PeakRSS), mem(c.PeakHeap), acc, pareto)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(w, "(×) = ratio to fp32; budget %.2g pt of %s; target %s; * = chosen\n\n", r.MaxDrop, metric, r.Target)
	if r.Chosen != nil {
		fmt.Fprintf(w, "chosen: %s — %s\n", r.Chosen.Name, r.describe(r.Chosen))
	}
	for _, c := range r.Candidates {
		if !c.Chosen {
			fmt.Fprintf(w, "  %s: %s\n", c.Name, c.Verdict)
		}
	}
	for _, n := range r.Notes {
		fmt.Fprintf(w, "  note: %s\n", n)
	}
	return nil
}

func mem(b int64) string {
	if b == 0 {
		return "-"
	}
	return bench.Bytes(b)
}
