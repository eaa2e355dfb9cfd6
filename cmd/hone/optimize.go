package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/hone-ml/hone/bench"
	"github.com/hone-ml/hone/onnx"
	"github.com/hone-ml/hone/optimize"
	"github.com/hone-ml/hone/quant"
)

// optimizeFlags are `hone optimize`'s options; demo fills the same struct.
type optimizeFlags struct {
	out, calib, eval, recipe, target string
	maxDrop, mapThreshold            float64
	noCheck, asJSON, noMem           bool
	shapes, skip, calibrators        []string
	pruneAmounts                     []float64
	batch, threads, runs             int
}

func newOptimizeCmd() *cobra.Command {
	var o optimizeFlags
	cmd := &cobra.Command{
		Use:   "optimize MODEL --calib DATA --eval DATA [--max-accuracy-drop 1.0] [--target size|latency|balanced] -o OUT",
		Short: "Search quantization and pruning recipes and write the best model within an accuracy budget",
		Long: `Optimize tries candidate recipes on MODEL — FP16, INT8 dynamic, INT8 static with each calibrator
(minmax, percentile, entropy, mse), structured pruning at per-layer amounts chosen from a sensitivity sweep, and
pruning + INT8 — scores each on --eval, benchmarks them all interleaved in one run, marks the Pareto front of
accuracy, latency and size, and writes the best recipe within --max-accuracy-drop points for --target to OUT.
It prints the table and one line of reasoning per recipe it did not choose.

--eval takes a .npz (one array per model input, plus optional "labels") or "mnist" (the embedded held-out digits);
without labels the score is agreement with the fp32 model (top-1 per row, or per position for dense maps; a
single-channel map is binarized at --map-threshold). --calib takes a directory of .npy/.npz samples, a .npz with
N rows per array, or "mnist" (the first 200 held-out digits; --eval mnist then uses the other 1800).
--recipe FILE.yaml applies a fixed pipeline instead of searching:

  name: pruned-int8
  steps:
    - {step: prune, method: ln-structured, amount: 0.25}
    - {step: quantize, mode: static, calibrator: entropy}

When no recipe meets the budget, optimize lists the closest ones, writes nothing and exits non-zero.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if o.out == "" {
				return fmt.Errorf("optimize: -o OUT is required")
			}
			return runOptimize(cmd.OutOrStdout(), cmd.ErrOrStderr(), args[0], o)
		},
	}
	f := cmd.Flags()
	f.StringVarP(&o.out, "output", "o", "", "where to write the chosen model (never the input)")
	f.StringVar(&o.calib, "calib", "", `calibration data: directory of .npy/.npz samples, a .npz, or "mnist"`)
	f.StringVar(&o.eval, "eval", "", `evaluation data: .npz (inputs + optional "labels") or "mnist"`)
	f.Float64Var(&o.maxDrop, "max-accuracy-drop", 1, "accuracy budget in percentage points")
	f.StringVar(&o.target, "target", "balanced", "what to optimise within the budget: size, latency or balanced")
	f.StringVar(&o.recipe, "recipe", "", "apply this YAML recipe instead of searching")
	f.BoolVar(&o.noCheck, "no-accuracy-check", false, "allow choosing without --eval, on speed and size alone")
	f.Float64Var(&o.mapThreshold, "map-threshold", 0.5, "agreement on single-channel score maps: binarize at this value (PP-OCR DB: 0.3)")
	f.StringSliceVar(&o.skip, "skip", nil, "recipe families not to try: fp16, dynamic, static, prune")
	f.StringSliceVar(&o.calibrators, "calibrators", nil, "static calibrators to try (default minmax,percentile,entropy,mse)")
	f.Float64SliceVar(&o.pruneAmounts, "prune-amounts", nil, "per-layer amounts of the sensitivity sweep (default 0.25,0.5)")
	f.StringArrayVar(&o.shapes, "shape", nil, "benchmark input shape NAME=D0,D1,… (repeatable)")
	f.IntVar(&o.batch, "batch", 0, "benchmark batch size (0: the model's or --shape's)")
	f.IntVar(&o.threads, "threads", 1, "threads")
	f.IntVar(&o.runs, "runs", 20, "timed benchmark runs per recipe")
	f.BoolVar(&o.noMem, "no-mem", false, "skip the per-recipe peak-memory probes")
	f.BoolVar(&o.asJSON, "json", false, "machine-readable output")
	return cmd
}

func runOptimize(w, errw io.Writer, model string, o optimizeFlags) error {
	cfg, err := optimizeConfig(model, o, errw)
	if err != nil {
		return err
	}
	res, err := optimize.Run(cfg)
	if res != nil {
		defer res.Close()
	}
	if res == nil {
		return err
	}
	if o.asJSON {
		if jerr := printJSON(w, res); jerr != nil {
			return jerr
		}
	} else if terr := res.WriteTable(w); terr != nil {
		return terr
	}
	if err != nil {
		return err // no recipe qualified: nothing is written
	}
	if err := res.Save(o.out); err != nil {
		return err
	}
	if !o.asJSON {
		fmt.Fprintf(w, "wrote %s (%s) in %.1fs\n", o.out, res.Chosen.Name, res.Elapsed)
	}
	return nil
}

// optimizeConfig turns the flags into an optimize.Config, loading the data sets.
func optimizeConfig(model string, o optimizeFlags, errw io.Writer) (optimize.Config, error) {
	cfg := optimize.Config{Model: model, MaxDrop: o.maxDrop, NoAccuracyCheck: o.noCheck, Skip: o.skip,
		PruneAmounts: o.pruneAmounts, Batch: o.batch, Threads: o.threads, Runs: o.runs, Log: errw}
	var err error
	if cfg.Target, err = optimize.ParseTarget(o.target); err != nil {
		return cfg, err
	}
	if cfg.Shapes, err = bench.ParseShapes(o.shapes); err != nil {
		return cfg, err
	}
	for _, c := range o.calibrators {
		cal, err := quant.ParseCalibrator(c)
		if err != nil {
			return cfg, err
		}
		cfg.Calibrators = append(cfg.Calibrators, cal)
	}
	if o.recipe != "" {
		if cfg.Recipe, err = optimize.LoadRecipe(o.recipe); err != nil {
			return cfg, err
		}
	}
	if o.calib == "mnist" || o.eval == "mnist" {
		calib, eval, err := optimize.MNIST(optimize.MNISTCalib)
		if err != nil {
			return cfg, err
		}
		if o.calib == "mnist" {
			cfg.Calib = calib
		}
		if o.eval == "mnist" {
			cfg.Eval = eval
		}
	}
	if o.eval != "" && o.eval != "mnist" {
		if cfg.Eval, err = optimize.LoadEval(o.eval); err != nil {
			return cfg, err
		}
	}
	if cfg.Eval != nil {
		cfg.Eval.MapThreshold = o.mapThreshold
	}
	if o.calib != "" && o.calib != "mnist" {
		m, err := onnx.Load(model)
		if err != nil {
			return cfg, err
		}
		if cfg.Calib, err = optimize.LoadCalib(o.calib, m.Graph.RealInputs()); err != nil {
			return cfg, err
		}
	}
	if !o.noMem {
		cfg.MemProbe = func(model, backend string, batch int) (bench.Memory, error) {
			return runMemProbe(model, backend, batch, o.shapes, o.threads)
		}
	}
	cfg.Progress = progressBar(errw)
	return cfg, nil
}

// progressBar draws one carriage-return bar per stage on w, redrawn only when it grows so a log file stays short.
func progressBar(w io.Writer) func(stage string, done, total int) {
	lastStage, lastFill := "", -1
	return func(stage string, done, total int) {
		if total <= 0 {
			return
		}
		const width = 30
		fill := width * min(done, total) / total
		if stage == lastStage && fill == lastFill && done < total {
			return
		}
		lastStage, lastFill = stage, fill
		fmt.Fprintf(w, "\r%-40.40s [%s%s] %d/%d", stage, strings.Repeat("=", fill), strings.Repeat(" ", width-fill), done, total)
		if done >= total {
			fmt.Fprintln(w)
		}
	}
}
