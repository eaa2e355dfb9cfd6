package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/hone-ml/hone/bench"
	"github.com/hone-ml/hone/internal/assets"
	"github.com/hone-ml/hone/ir"
)

func newBenchCmd() *cobra.Command {
	var shapes, backends []string
	var batches []int
	var threads, runs, warmup int
	var asJSON, noMem bool
	var probe bool
	var eval, html string
	cmd := &cobra.Command{
		Use:   "bench MODEL… [--backend hone,ort] [--batch 1,8,32] [--threads N] [--eval DATA] [--html report.html]",
		Short: "Measure size, parameters, latency, throughput, memory and accuracy, interleaved across variants",
		Long: `Bench warms up, then times every model × backend round-robin in one run (so drift on a shared machine
hits all alike) and reports file size, parameters, p50/p99 latency, throughput at each batch size, peak memory (RSS
and Go heap, each variant measured alone in a child process), accuracy with --eval, and every figure's ratio
against the first column. --eval takes a .npz (one array per model input, plus "labels"; without labels the
score is top-1 agreement with the first model) or "mnist" for the embedded held-out digits. --html writes a
self-contained report with plots. ONNX Runtime (--backend ort) needs a binary built with -tags ort; its thread
pools run with spin-waiting off (session.intra_op/inter_op.allow_spinning = 0), so that between its own runs its
idle threads do not take the cores hone's workers need while the two are timed in turn. --backend ort-int8 is
ONNX Runtime with its int8 QDQ fusions on (session.qdqisint8allowed): x86 builds leave them off and run a QDQ
model's int8-activation Conv and MatMul in float, which on x86 is ORT's faster path for hone's S8S8 models.
Models quantized with --activation-type uint8 (U8S8) run on ORT's integer kernels with either backend.`,
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
			if eval != "" {
				if cfg.Eval, err = loadEval(eval); err != nil {
					return err
				}
			}
			if !noMem {
				cfg.MemProbe = func(model, backend string, batch int) (bench.Memory, error) {
					return runMemProbe(model, backend, batch, shapes, threads)
				}
			}
			res, err := bench.Run(cfg)
			if err != nil {
				return err
			}
			if html != "" {
				if err := writeHTMLReport(html, res, threads); err != nil {
					return err
				}
			}
			if asJSON {
				return printJSON(cmd.OutOrStdout(), res)
			}
			printBench(cmd.OutOrStdout(), res, threads)
			if html != "" {
				fmt.Fprintf(cmd.OutOrStdout(), "report written to %s\n", html)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringSliceVar(&backends, "backend", []string{"hone"}, "backends to compare: hone, ort, ort-int8")
	f.StringArrayVar(&shapes, "shape", nil, "input shape NAME=D0,D1,… (repeatable; unknown batch dims default to 1)")
	f.IntSliceVar(&batches, "batch", nil, "batch sizes to sweep (overrides the first dimension)")
	f.IntVar(&threads, "threads", 1, "threads per backend")
	f.IntVar(&runs, "runs", 30, "timed runs per variant")
	f.IntVar(&warmup, "warmup", 3, "untimed warm-up runs per variant")
	f.BoolVar(&asJSON, "json", false, "machine-readable output")
	f.StringVar(&eval, "eval", "", `score each variant on DATA: a .npz (inputs + "labels") or "mnist" (embedded held-out digits)`)
	f.StringVar(&html, "html", "", "also write an HTML report with plots to this file")
	f.BoolVar(&noMem, "no-mem", false, "skip the peak-memory probes")
	f.BoolVar(&probe, "mem-probe", false, "internal: run one variant and print its peak RSS")
	f.MarkHidden("mem-probe")
	return cmd
}

// runMemProbe re-executes hone to run one variant alone, so its peak RSS is not mixed with the others'.
func runMemProbe(model, backend string, batch int, shapes []string, threads int) (bench.Memory, error) {
	var mem bench.Memory
	exe, err := os.Executable()
	if err != nil {
		return mem, err
	}
	args := []string{"bench", "--mem-probe", "--backend", backend, "--threads", strconv.Itoa(threads), "--runs", "5"}
	if batch > 0 {
		args = append(args, "--batch", strconv.Itoa(batch))
	}
	for _, s := range shapes {
		args = append(args, "--shape", s)
	}
	args = append(args, model)
	cmd := exec.Command(exe, args...)
	// Under `go test` the executable is the test binary: this variable makes its TestMain act as hone instead of
	// running the tests again (which would re-enter this probe without end).
	cmd.Env = append(os.Environ(), "HONE_TEST_AS_HONE=1")
	out, err := cmd.Output()
	if err != nil {
		if ee, ok := err.(*exec.ExitError); ok {
			return mem, fmt.Errorf("%v: %s", err, strings.TrimSpace(string(ee.Stderr)))
		}
		return mem, err
	}
	if err := json.Unmarshal(out, &mem); err != nil {
		return mem, fmt.Errorf("memory probe output %q: %w", out, err)
	}
	return mem, nil
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
	stop := bench.TrackHeapPeak() // from before loading: the weights live on the Go heap too
	s, err := bench.Open(backend, model, threads)
	if err != nil {
		stop()
		return err
	}
	defer s.Close()
	for i := 0; i < max(runs, 1); i++ {
		if _, err := s.Run(in); err != nil {
			stop()
			return err
		}
	}
	heap := stop()
	rss, err := bench.PeakRSS()
	if err != nil {
		return err
	}
	return json.NewEncoder(w).Encode(bench.Memory{RSS: rss, GoHeap: heap})
}

// loadEval resolves --eval: "mnist" is the held-out digits embedded in the binary, anything else a .npz file.
func loadEval(spec string) (*bench.EvalSet, error) {
	if spec == "mnist" {
		images, labels, err := assets.MNISTHeldOut()
		if err != nil {
			return nil, err
		}
		return &bench.EvalSet{Name: "mnist held-out digits", Inputs: map[string]*ir.Tensor{"": images}, Labels: labels}, nil
	}
	return bench.LoadEvalNPZ(spec)
}

// writeHTMLReport writes the report next to its final name and renames it, so a reader never sees half a file.
func writeHTMLReport(path string, res []*bench.Result, threads int) error {
	var b bytes.Buffer
	note := fmt.Sprintf("hone bench, %d thread(s), runs interleaved round-robin after warm-up; ratios are against the first column at the same batch size.", threads)
	if err := bench.WriteHTML(&b, "hone bench report", note, res); err != nil {
		return err
	}
	return writeFileAtomic(path, b.Bytes())
}

func printBench(w io.Writer, res []*bench.Result, threads int) {
	for i, t := range bench.Tables(res) {
		if i > 0 {
			fmt.Fprintln(w)
		}
		if t.Batch > 0 {
			fmt.Fprintf(w, "batch %d\n", t.Batch)
		}
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, strings.Join(t.Header, "\t")+"\t")
		for _, row := range t.Rows {
			fmt.Fprintln(tw, strings.Join(row, "\t")+"\t")
		}
		tw.Flush()
	}
	fmt.Fprintf(w, "threads %d; runs interleaved round-robin; (×) = ratio to the first column at the same batch; memory measured per variant in a child process\n", threads)
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2fms", float64(d)/1e6) }
