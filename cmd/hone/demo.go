package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/spf13/cobra"

	"github.com/hone-ml/hone/bench"
	"github.com/hone-ml/hone/internal/assets"
	"github.com/hone-ml/hone/internal/tempfiles"
	"github.com/hone-ml/hone/ir"
	"github.com/hone-ml/hone/optimize"
)

func newDemoCmd() *cobra.Command {
	var (
		threads, runs int
		maxDrop       float64
		out           string
	)
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Optimize the embedded MNIST CNN end to end and show the evidence (no arguments, no network)",
		Long: `Demo runs ` + "`hone optimize`" + ` on the MNIST CNN shipped inside the binary: it calibrates on the first
200 of its 2000 held-out digits and scores every recipe (FP16, INT8 dynamic, INT8 static with each calibrator,
structured pruning from a sensitivity sweep, pruning + INT8) on the other 1800, benchmarks them all interleaved,
and prints size, latency, throughput, peak memory and accuracy, each measured in this run, with the recipe chosen
within a 1-point accuracy budget. With -tags ort the chosen model is also run in ONNX Runtime.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runDemo(cmd.OutOrStdout(), cmd.ErrOrStderr(), threads, runs, maxDrop, out)
		},
	}
	cmd.Flags().IntVar(&threads, "threads", 1, "threads")
	cmd.Flags().IntVar(&runs, "runs", 50, "timed runs per recipe")
	cmd.Flags().Float64Var(&maxDrop, "max-accuracy-drop", 1, "accuracy budget in percentage points")
	cmd.Flags().StringVarP(&out, "output", "o", "", "also keep the chosen model in this file")
	return cmd
}

func runDemo(w, errw io.Writer, threads, runs int, maxDrop float64, out string) error {
	start := time.Now()
	dir, err := os.MkdirTemp("", "hone-demo-")
	if err != nil {
		return err
	}
	untrack := tempfiles.Track(dir) // removed on SIGINT/SIGTERM too, which skip the defer
	defer func() { os.RemoveAll(dir); untrack() }()
	model := filepath.Join(dir, "mnist_cnn.onnx")
	if err := os.WriteFile(model, assets.MNISTModel(), 0o644); err != nil {
		return err
	}
	calib, eval, err := optimize.MNIST(optimize.MNISTCalib)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "hone demo: optimizing the embedded MNIST CNN (calibration: %d held-out digits; evaluation: the other %d)\n\n",
		calib.Len(), eval.N())
	cfg := optimize.Config{Model: model, Calib: calib, Eval: eval, MaxDrop: maxDrop, Target: optimize.TargetBalanced,
		Threads: threads, Runs: runs, Warmup: 5, WorkDir: dir,
		MemProbe: func(model, backend string, batch int) (bench.Memory, error) {
			return runMemProbe(model, backend, batch, nil, threads)
		}}
	res, err := optimize.Run(cfg)
	if res == nil {
		return err
	}
	if terr := res.WriteTable(w); terr != nil {
		return terr
	}
	if err != nil {
		return err
	}
	chosen := filepath.Join(dir, "chosen.onnx")
	if out != "" {
		chosen = out
	}
	if err := res.Save(chosen); err != nil {
		return err
	}
	if slices.Contains(bench.Backends(), "ort") {
		acc, err := ortAccuracy(chosen, eval, threads)
		if err != nil {
			return fmt.Errorf("demo: the chosen model in ONNX Runtime: %w", err)
		}
		fmt.Fprintf(w, "ONNX Runtime runs the chosen model too: %.2f%% accuracy on the same %d digits (hone: %.2f%%)\n",
			100*acc, eval.N(), 100*res.Chosen.Score)
	} else {
		fmt.Fprintln(w, "(build with -tags ort to check the chosen model in ONNX Runtime as well)")
	}
	if out != "" {
		fmt.Fprintf(w, "wrote %s\n", out)
	}
	fmt.Fprintf(w, "done in %.1fs\n", time.Since(start).Seconds())
	return nil
}

// ortAccuracy runs the evaluation digits through the model in ONNX Runtime and returns its top-1 accuracy.
func ortAccuracy(path string, eval *optimize.EvalSet, threads int) (float64, error) {
	s, err := bench.Open("ort", path, threads)
	if err != nil {
		return 0, err
	}
	defer s.Close()
	infos, err := bench.ModelInputs(path)
	if err != nil {
		return 0, err
	}
	set := &bench.EvalSet{Name: "mnist", Inputs: map[string]*ir.Tensor{}, Labels: eval.Labels}
	for k, v := range eval.Inputs {
		set.Inputs[k] = v
	}
	preds, err := bench.Predict(s, infos, set, 1) // batch 1, as optimize scored it: dynamic quantization is batch-dependent
	if err != nil {
		return 0, err
	}
	return bench.Score(preds, eval.Labels), nil
}
