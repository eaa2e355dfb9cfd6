package main

import (
	"fmt"
	"io"
	"path/filepath"
	"sort"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/hone-ml/hone/bench"
	"github.com/hone-ml/hone/internal/tempfiles"
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
sorted by self time (% of total, calls, bytes allocated — the bytes of each node's outputs —, GFLOP/s, shapes).
--trace writes Chrome trace-event JSON (Perfetto, chrome://tracing) with one event per node per run at its real
start and end.`,
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
			prof, err := bench.Profile(p, in, runs)
			if err != nil {
				return err
			}
			if trace != "" {
				b, err := prof.ChromeTrace(filepath.Base(args[0]))
				if err != nil {
					return err
				}
				if err := writeFileAtomic(trace, b); err != nil {
					return err
				}
			}
			if asJSON {
				return printJSON(cmd.OutOrStdout(), map[string]any{"runs": prof.Runs, "wall_ns": prof.Wall,
					"self_per_run_ns": prof.SelfPerRun(), "by_op_type": bench.ByOpType(prof.Nodes), "nodes": prof.Nodes})
			}
			printProfile(cmd.OutOrStdout(), prof, top)
			if trace != "" {
				fmt.Fprintf(cmd.OutOrStdout(), "\ntrace with %d node events written to %s (open in https://ui.perfetto.dev or chrome://tracing)\n", len(prof.Events), trace)
			}
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

func printProfile(w io.Writer, prof *bench.Profiling, top int) {
	runs := max(prof.Runs, 1)
	self := prof.SelfPerRun()
	wall := prof.MeanWall()
	per := func(d time.Duration) time.Duration { return d / time.Duration(runs) }
	pct := func(d time.Duration) float64 { return 100 * float64(per(d)) / float64(max(self, 1)) }
	fmt.Fprintf(w, "%d runs; end-to-end %s per run; nodes account for %s (%.1f%%); times and bytes are per run\n\n",
		runs, ms(wall), ms(self), 100*float64(self)/float64(max(wall, 1)))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "op type\tnodes\tcalls\tself\t%% of total\tbytes alloc\tGFLOP/s\t\n")
	for _, s := range bench.ByOpType(prof.Nodes) {
		gf := "-"
		if s.FLOPs > 0 && s.Self > 0 {
			gf = fmt.Sprintf("%.1f", float64(s.FLOPs)*float64(runs)/s.Self.Seconds()/1e9)
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%s\t%.1f\t%s\t%s\t\n", s.OpType, s.Nodes, s.Calls, ms(per(s.Self)), pct(s.Self),
			humanBytes(s.Bytes/int64(runs)), gf)
	}
	tw.Flush()
	sorted := append([]*bench.NodeStat(nil), prof.Nodes...)
	sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].Self > sorted[j].Self })
	fmt.Fprintf(w, "\ntop %d of %d nodes\n", min(top, len(sorted)), len(sorted))
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "node\top\tcalls\tself\t%% of total\tbytes alloc\tshapes (inputs → outputs)\n")
	for _, n := range sorted[:min(top, len(sorted))] {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%.1f\t%s\t%s\n", n.Name, n.OpType, n.Calls, ms(per(n.Self)), pct(n.Self),
			humanBytes(n.Bytes/int64(runs)), n.Shapes)
	}
	tw.Flush()
}

// writeFileAtomic writes data to a temporary file beside path and renames it into place, so a reader (or a
// failed run) never leaves half a file under the final name.
func writeFileAtomic(path string, data []byte) error {
	if err := tempfiles.WriteFile(path, func(w io.Writer) error { _, err := w.Write(data); return err }); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}
