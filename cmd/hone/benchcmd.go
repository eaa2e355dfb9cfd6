package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/hone-ml/hone/bench"
)

func newBenchCmd() *cobra.Command {
	var shapes, backends []string
	var batches []int
	var threads, runs, warmup int
	var asJSON, noMem bool
	var probe bool
	cmd := &cobra.Command{
		Use:   "bench MODEL… [--backend hone,ort] [--shape NAME=1,3,224,224] [--threads N] [--runs N]",
		Short: "Measure latency (p50/p90/p99), throughput and peak memory, interleaved across backends",
		Long: `Bench warms up, then times every model × backend round-robin in one run (so drift on a shared machine
hits all alike) and reports p50/p90/p99 latency, throughput, peak RSS (measured in a child process per variant) and
the p50 ratio against the first column. ONNX Runtime (--backend ort) needs a binary built with -tags ort.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			sh, err := bench.ParseShapes(shapes)
			if err != nil {
				return err
			}
			if probe {
				return memProbe(cmd.OutOrStdout(), args[0], backends[0], batches, sh, threads, runs)
			}
			cfg := bench.Config{Models: args, Backends: backends, Batches: batches, Shapes: sh, Threads: threads, Runs: runs, Warmup: warmup}
			if !noMem {
				cfg.MemProbe = func(model, backend string, batch int) (int64, error) {
					return runMemProbe(model, backend, batch, shapes, threads)
				}
			}
			res, err := bench.Run(cfg)
			if err != nil {
				return err
			}
			if asJSON {
				return printJSON(cmd.OutOrStdout(), res)
			}
			printBench(cmd.OutOrStdout(), res, threads)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringSliceVar(&backends, "backend", []string{"hone"}, "backends to compare: hone, ort")
	f.StringArrayVar(&shapes, "shape", nil, "input shape NAME=D0,D1,… (repeatable; unknown batch dims default to 1)")
	f.IntSliceVar(&batches, "batch", nil, "batch sizes to sweep (overrides the first dimension)")
	f.IntVar(&threads, "threads", 1, "threads per backend")
	f.IntVar(&runs, "runs", 30, "timed runs per variant")
	f.IntVar(&warmup, "warmup", 3, "untimed warm-up runs per variant")
	f.BoolVar(&asJSON, "json", false, "machine-readable output")
	f.BoolVar(&noMem, "no-mem", false, "skip the peak-memory probes")
	f.BoolVar(&probe, "mem-probe", false, "internal: run one variant and print its peak RSS")
	f.MarkHidden("mem-probe")
	return cmd
}

// runMemProbe re-executes hone to run one variant alone, so its peak RSS is not mixed with the others'.
func runMemProbe(model, backend string, batch int, shapes []string, threads int) (int64, error) {
	exe, err := os.Executable()
	if err != nil {
		return 0, err
	}
	args := []string{"bench", "--mem-probe", "--backend", backend, "--threads", strconv.Itoa(threads), "--runs", "5"}
	if batch > 0 {
		args = append(args, "--batch", strconv.Itoa(batch))
	}
	for _, s := range shapes {
		args = append(args, "--shape", s)
	}
	args = append(args, model)
	out, err := exec.Command(exe, args...).Output()
	if err != nil {
		if ee, ok := err.(*exec.ExitError); ok {
			return 0, fmt.Errorf("%v: %s", err, strings.TrimSpace(string(ee.Stderr)))
		}
		return 0, err
	}
	var r struct {
		PeakRSS int64 `json:"peak_rss_bytes"`
	}
	if err := json.Unmarshal(out, &r); err != nil {
		return 0, fmt.Errorf("memory probe output %q: %w", out, err)
	}
	return r.PeakRSS, nil
}

func memProbe(w io.Writer, model, backend string, batches []int, shapes map[string][]int, threads, runs int) error {
	batch := 0
	if len(batches) > 0 {
		batch = batches[0]
	}
	infos, err := bench.ModelInputs(model)
	if err != nil {
		return err
	}
	in, err := bench.MakeInputs(infos, shapes, batch)
	if err != nil {
		return err
	}
	s, err := bench.Open(backend, model, threads)
	if err != nil {
		return err
	}
	for i := 0; i < max(runs, 1); i++ {
		if _, err := s.Run(in); err != nil {
			return err
		}
	}
	rss, err := bench.PeakRSS()
	if err != nil {
		return err
	}
	return json.NewEncoder(w).Encode(map[string]int64{"peak_rss_bytes": rss})
}

func printBench(w io.Writer, res []*bench.Result, threads int) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "model\tbackend\tbatch\tsize\tp50\tp90\tp99\tthroughput/s\tpeak RSS\tp50 ratio\tvs ORT\tmax |Δ|\t\n")
	for _, r := range res {
		rss := "-"
		if r.PeakRSS > 0 {
			rss = humanBytes(r.PeakRSS)
		}
		batch := "-"
		if r.Batch > 0 {
			batch = strconv.Itoa(r.Batch)
		}
		vs := "-"
		if r.VsORT > 0 {
			vs = fmt.Sprintf("%.3f", r.VsORT)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%.1f\t%s\t%.3f\t%s\t%.2g\t\n", filepath.Base(r.Model), r.Backend, batch,
			humanBytes(r.FileBytes), ms(r.P50), ms(r.P90), ms(r.P99), r.Throughput, rss, r.Ratio, vs, r.MaxAbsDiff)
	}
	tw.Flush()
	fmt.Fprintf(w, "threads %d; runs interleaved round-robin; ratio = p50 / first row's p50 at the same batch; vs ORT = p50 / ONNX Runtime's p50\n", threads)
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2fms", float64(d)/1e6) }
