package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/hone-ml/hone/bench"
	"github.com/hone-ml/hone/runtime"
)

func newProfileCmd() *cobra.Command {
	var shapes []string
	var threads, runs, top int
	var trace string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "profile MODEL [--shape NAME=1,3,224,224] [--trace out.json]",
		Short: "Per-node and per-op-type time table, and a Chrome trace of one run",
		Long: `Profile runs MODEL (after a warm-up) with a timer around every node and prints the op types and nodes
sorted by self time (% of total, calls, FLOPs, shapes). --trace writes Chrome trace-event JSON (Perfetto,
chrome://tracing) of the last run.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			sh, err := bench.ParseShapes(shapes)
			if err != nil {
				return err
			}
			m, err := loadModel(args[0])
			if err != nil {
				return err
			}
			p, err := runtime.Compile(m, runtime.Options{Threads: threads})
			if err != nil {
				return err
			}
			in, err := bench.MakeInputs(p.Inputs(), sh, 0)
			if err != nil {
				return err
			}
			if _, err := p.Run(in); err != nil { // warm-up: first-run allocations stay out of the table
				return err
			}
			nodes, wall, err := bench.Profile(p, in, runs)
			if err != nil {
				return err
			}
			if trace != "" {
				if err := writeTrace(trace, nodes, runs); err != nil {
					return err
				}
			}
			if asJSON {
				return printJSON(cmd.OutOrStdout(), map[string]any{"wall_ns": wall, "by_op_type": bench.ByOpType(nodes), "nodes": nodes})
			}
			printProfile(cmd.OutOrStdout(), nodes, wall, runs, top)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringArrayVar(&shapes, "shape", nil, "input shape NAME=D0,D1,… (repeatable)")
	f.IntVar(&threads, "threads", 1, "threads")
	f.IntVar(&runs, "runs", 10, "profiled runs (times are per run)")
	f.IntVar(&top, "top", 20, "nodes to list")
	f.StringVar(&trace, "trace", "", "write a Chrome trace-event JSON file")
	f.BoolVar(&asJSON, "json", false, "machine-readable output")
	return cmd
}

func printProfile(w io.Writer, nodes []*bench.NodeStat, wall time.Duration, runs, top int) {
	var self time.Duration
	for _, n := range nodes {
		self += n.Self
	}
	per := func(d time.Duration) time.Duration { return d / time.Duration(max(runs, 1)) }
	fmt.Fprintf(w, "end-to-end %s per run; nodes account for %s (%.1f%%)\n\n", ms(wall), ms(per(self)), 100*float64(per(self))/float64(wall))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "op type\tnodes\tself\t%%\tGFLOP/s\t\n")
	for _, s := range bench.ByOpType(nodes) {
		gf := "-"
		if s.FLOPs > 0 && s.Self > 0 {
			gf = fmt.Sprintf("%.1f", float64(s.FLOPs)*float64(runs)/s.Self.Seconds()/1e9)
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t%.1f\t%s\t\n", s.OpType, s.Nodes, ms(per(s.Self)), 100*float64(s.Self)/float64(self), gf)
	}
	tw.Flush()
	sorted := append([]*bench.NodeStat(nil), nodes...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Self > sorted[j].Self })
	fmt.Fprintf(w, "\ntop %d nodes\n", min(top, len(sorted)))
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "node\top\tself\t%%\tinputs\n")
	for _, n := range sorted[:min(top, len(sorted))] {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%.1f\t%s\n", n.Name, n.OpType, ms(per(n.Self)), 100*float64(n.Self)/float64(self), n.Shapes)
	}
	tw.Flush()
}

// writeTrace writes Chrome trace-event JSON ("X" complete events, microseconds) for the profiled nodes.
func writeTrace(path string, nodes []*bench.NodeStat, runs int) error {
	type event struct {
		Name string         `json:"name"`
		Cat  string         `json:"cat"`
		Ph   string         `json:"ph"`
		Ts   float64        `json:"ts"`
		Dur  float64        `json:"dur"`
		Pid  int            `json:"pid"`
		Tid  int            `json:"tid"`
		Args map[string]any `json:"args"`
	}
	var evs []event
	for _, n := range nodes {
		evs = append(evs, event{Name: n.Name, Cat: n.OpType, Ph: "X", Ts: float64(n.Start) / 1e3,
			Dur: float64(n.Self) / float64(max(runs, 1)) / 1e3, Pid: 1, Tid: 1,
			Args: map[string]any{"op_type": n.OpType, "inputs": n.Shapes, "flops": n.FLOPs}})
	}
	b, err := json.Marshal(map[string]any{"traceEvents": evs, "displayTimeUnit": "ms"})
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".trace-*")
	if err != nil {
		return err
	}
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return err
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	return os.Rename(tmp.Name(), path)
}
