package bench

import (
	"fmt"
	"path/filepath"
	"time"
)

// Table is one batch size's results laid out as the "Why optimize?" table: one column per variant (model ×
// backend), one row per metric, each cell with its ratio against the first column.
type Table struct {
	Batch  int
	Header []string   // "" then one label per variant
	Rows   [][]string // metric name, then one cell per variant
}

// Label names a variant in tables and plots: the model's file name, plus the backend when it is not hone.
func Label(r *Result) string {
	l := filepath.Base(r.Model)
	if r.Backend != "hone" {
		l += " (" + r.Backend + ")"
	}
	return l
}

// Tables groups results by batch (in the order measured) and formats them.
func Tables(res []*Result) []Table {
	var out []Table
	idx := map[int]int{}
	var groups [][]*Result
	for _, r := range res {
		i, ok := idx[r.Batch]
		if !ok {
			i = len(groups)
			idx[r.Batch] = i
			groups = append(groups, nil)
		}
		groups[i] = append(groups[i], r)
	}
	for _, g := range groups {
		t := Table{Batch: g[0].Batch, Header: []string{""}}
		for _, r := range g {
			t.Header = append(t.Header, Label(r))
		}
		row := func(name string, cell func(r *Result, first bool) string) {
			line := []string{name}
			for i, r := range g {
				line = append(line, cell(r, i == 0))
			}
			t.Rows = append(t.Rows, line)
		}
		withRatio := func(v string, ratio float64, first bool) string {
			if first || ratio == 0 {
				return v
			}
			return fmt.Sprintf("%s (%.2f×)", v, ratio)
		}
		row("file size", func(r *Result, first bool) string { return withRatio(Bytes(r.FileBytes), r.SizeRatio, first) })
		row("parameters", func(r *Result, first bool) string { return withRatio(Count(r.Params), r.ParamsRatio, first) })
		row("p50 latency", func(r *Result, first bool) string { return withRatio(Millis(r.P50), r.Ratio, first) })
		row("p99 latency", func(r *Result, first bool) string { return Millis(r.P99) })
		row("throughput", func(r *Result, first bool) string {
			return withRatio(fmt.Sprintf("%.1f/s", r.Throughput), r.ThroughputRatio, first)
		})
		if anyOf(g, func(r *Result) bool { return r.PeakRSS > 0 }) {
			row("peak RSS", func(r *Result, first bool) string { return withRatio(Bytes(r.PeakRSS), r.RSSRatio, first) })
			row("peak Go heap", func(r *Result, first bool) string { return withRatio(Bytes(r.PeakHeap), r.HeapRatio, first) })
		}
		if anyOf(g, func(r *Result) bool { return r.HasAccuracy }) {
			row(g[0].EvalMetric, func(r *Result, first bool) string {
				if !r.HasAccuracy {
					return "-"
				}
				v := fmt.Sprintf("%.2f%%", 100*r.Accuracy)
				if !first {
					v += fmt.Sprintf(" (%+.2f pt)", r.AccuracyDelta)
				}
				return v
			})
		}
		if anyOf(g, func(r *Result) bool { return r.VsORT > 0 && r.Backend != "ort" }) {
			row("p50 vs ORT", func(r *Result, first bool) string {
				if r.VsORT == 0 {
					return "-"
				}
				return fmt.Sprintf("%.2f×", r.VsORT)
			})
		}
		row("max |Δ| vs first", func(r *Result, first bool) string {
			if first {
				return "-"
			}
			return fmt.Sprintf("%.2g", r.MaxAbsDiff)
		})
		out = append(out, t)
	}
	return out
}

func anyOf(rs []*Result, f func(*Result) bool) bool {
	for _, r := range rs {
		if f(r) {
			return true
		}
	}
	return false
}

// Millis formats a duration in milliseconds.
func Millis(d time.Duration) string { return fmt.Sprintf("%.3f ms", float64(d)/1e6) }

// Bytes formats a byte count with binary prefixes.
func Bytes(b int64) string {
	switch {
	case b >= 1<<30:
		return fmt.Sprintf("%.2f GiB", float64(b)/(1<<30))
	case b >= 1<<20:
		return fmt.Sprintf("%.2f MiB", float64(b)/(1<<20))
	case b >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(b)/(1<<10))
	}
	return fmt.Sprintf("%d B", b)
}

// Count formats a count with SI prefixes.
func Count(v int64) string {
	f := float64(v)
	switch {
	case f >= 1e9:
		return fmt.Sprintf("%.2f G", f/1e9)
	case f >= 1e6:
		return fmt.Sprintf("%.2f M", f/1e6)
	case f >= 1e3:
		return fmt.Sprintf("%.1f k", f/1e3)
	}
	return fmt.Sprintf("%d", v)
}
