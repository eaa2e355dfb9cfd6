package main

import (
	"fmt"
	"math"
	"os"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/hone-ml/hone/bench"
	"github.com/hone-ml/hone/internal/assets"
	"github.com/hone-ml/hone/ir"
	"github.com/hone-ml/hone/onnx"
	"github.com/hone-ml/hone/prune"
)

func newPruneCmd() *cobra.Command {
	var out, method, amount, norm, pattern string
	var layers, shapes []string
	var dim int
	var maskOnly, sparse bool
	cmd := &cobra.Command{
		Use:   "prune MODEL -o OUT [--method l1|global|ln-structured|nm] [--amount 0.3] [--layers NAME|OP|REGEX]",
		Short: "Prune Conv/Gemm/MatMul weights (magnitude, global, structured with channel removal, N:M)",
		Long: `Prune follows torch.nn.utils.prune: a fractional --amount prunes round(amount·n) weights (half to even), a
whole number prunes that many, and weights already zero count as pruned. --method ln-structured removes whole output
channels by their Ln norm (--n) and physically shrinks every weight that produces or reads them; channels tied by
residual connections are pruned jointly. --mask-only keeps the shapes and zeroes instead.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if out == "" {
				return fmt.Errorf("prune: -o OUT is required")
			}
			if err := checkOutput("prune", args[0], out); err != nil {
				return err
			}
			cfg := prune.Config{Method: prune.Method(method), Layers: layers, Dim: dim, MaskOnly: maskOnly, SparseStorage: sparse}
			var err error
			if cfg.Shapes, err = bench.ParseShapes(shapes); err != nil {
				return err
			}
			if cfg.Method != prune.MethodNM {
				a, err := prune.ParseAmount(amount)
				if err != nil {
					return err
				}
				cfg.Amount = a
			} else {
				n, m, ok := strings.Cut(pattern, ":")
				var err1, err2 error
				cfg.N, err1 = strconv.Atoi(n)
				cfg.M, err2 = strconv.Atoi(m)
				if !ok || err1 != nil || err2 != nil {
					return fmt.Errorf("prune: --pattern %q is not N:M", pattern)
				}
			}
			if cfg.Norm, err = parseNorm(norm); err != nil {
				return err
			}
			m, err := onnx.Load(args[0])
			if err != nil {
				return err
			}
			pruned, rep, err := prune.Prune(m, cfg)
			if err != nil {
				return err
			}
			if err := onnx.Save(pruned, out); err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			if err := rep.Write(w); err != nil {
				return err
			}
			if in, err1 := os.Stat(args[0]); err1 == nil {
				if o, err2 := os.Stat(out); err2 == nil {
					fmt.Fprintf(w, "file bytes:    %d → %d\n", in.Size(), o.Size())
				}
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVarP(&out, "output", "o", "", "where to write the pruned model")
	f.StringVar(&method, "method", "l1", "l1, global, ln-structured or nm")
	f.StringVar(&amount, "amount", "0.3", "fraction in [0,1] (0.3) or a count (12) of weights or channels to prune")
	f.StringSliceVar(&layers, "layers", nil, "layers by node name, op type or regular expression (default: all Conv/Gemm/MatMul)")
	f.StringVar(&norm, "n", "2", "norm order for ln-structured (1, 2, inf, …)")
	f.IntVar(&dim, "dim", 0, "weight axis ln-structured ranks along (0: output channels)")
	f.BoolVar(&maskOnly, "mask-only", false, "ln-structured: zero the channels instead of removing them")
	f.StringVar(&pattern, "pattern", "2:4", "nm: keep N of every M weights along the input dimension")
	f.BoolVar(&sparse, "sparse-storage", false, "store pruned weights as ONNX sparse_initializer where that is smaller")
	f.StringArrayVar(&shapes, "shape", nil, "input shape for the FLOPs report, NAME=D0,D1,… or D0,D1,… (repeatable; default: symbolic dims as 1)")
	cmd.AddCommand(newPruneSensitivityCmd())
	return cmd
}

func parseNorm(s string) (float64, error) {
	switch strings.ToLower(s) {
	case "inf":
		return math.Inf(1), nil
	case "-inf":
		return math.Inf(-1), nil
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0, fmt.Errorf("prune: --n %q is not a number or inf", s)
	}
	return v, nil
}

func newPruneSensitivityCmd() *cobra.Command {
	var evalData, amounts, method, norm, plotPath, out, objective string
	var layers, shapes []string
	var maxDrop float64
	var threads int
	cmd := &cobra.Command{
		Use:   "sensitivity MODEL --eval mnist|DATA.npz [--amounts 0.1,…,0.9] [--max-accuracy-drop X -o OUT]",
		Short: "Prune each layer alone at each amount, measure accuracy, plot it, and pick per-layer amounts within a budget",
		Long: `Sensitivity prunes every selected layer on its own (--method l1 or ln-structured) at each --amounts value and
scores the model on --eval: "mnist" (the embedded held-out digits, for the embedded MNIST model) or a .npz holding
one array per model input (or a single array) and optionally "labels". Without labels the score is top-1 agreement
with the unpruned model. It prints a table, writes a PNG plot (--plot), and with --max-accuracy-drop picks the
per-layer amounts that remove the most FLOPs (or bytes, --objective) while the sum of the single-layer drops stays
within the budget, then measures the combined model and backs off greedy steps until its real drop fits; -o writes it.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg := prune.SensitivityConfig{Method: prune.Method(method), Layers: layers}
			if out != "" {
				if err := checkOutput("prune sensitivity", args[0], out); err != nil {
					return err
				}
			}
			var err error
			if cfg.Norm, err = parseNorm(norm); err != nil {
				return err
			}
			if cfg.Shapes, err = bench.ParseShapes(shapes); err != nil {
				return err
			}
			for _, a := range strings.Split(amounts, ",") {
				v, err := strconv.ParseFloat(strings.TrimSpace(a), 64)
				if err != nil || v < 0 || v > 1 {
					return fmt.Errorf("prune: --amounts: %q is not a fraction in [0, 1]", a)
				}
				cfg.Amounts = append(cfg.Amounts, v)
			}
			obj := prune.Objective(objective)
			if obj != prune.ObjectiveFLOPs && obj != prune.ObjectiveBytes {
				return fmt.Errorf("prune: --objective %q (want flops or bytes)", objective)
			}
			if cmd.Flags().Changed("max-accuracy-drop") && (maxDrop < 0 || math.IsNaN(maxDrop)) {
				return fmt.Errorf("prune: --max-accuracy-drop %v is negative", maxDrop)
			}
			if out != "" && !cmd.Flags().Changed("max-accuracy-drop") {
				return fmt.Errorf("prune: -o needs --max-accuracy-drop (the sweep itself writes no model)")
			}
			m, err := onnx.Load(args[0])
			if err != nil {
				return err
			}
			data, err := loadPruneEval(evalData)
			if err != nil {
				return err
			}
			data.Threads = threads
			eval, err := prune.Evaluator(m, data)
			if err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			sw, notes, err := prune.Sensitivity(m, cfg, eval)
			if err != nil {
				return err
			}
			for _, n := range notes {
				fmt.Fprintln(w, "note:", n)
			}
			if data.Labels == nil {
				fmt.Fprintln(w, "no labels: scores are top-1 agreement with the unpruned model")
			}
			if err := sw.WriteTable(w); err != nil {
				return err
			}
			if plotPath != "" {
				if err := sw.Plot(plotPath); err != nil {
					return err
				}
				fmt.Fprintln(w, "plot:", plotPath)
			}
			if !cmd.Flags().Changed("max-accuracy-drop") {
				return nil
			}
			b, err := sw.PlanBudget(m, cfg.Norm, maxDrop, obj, eval)
			if err != nil {
				return err
			}
			fmt.Fprintf(w, "\nplan for a drop of at most %g:\n", maxDrop)
			if err := b.WritePlan(w, obj); err != nil {
				return err
			}
			b.Report.Before, b.Report.After = prune.MeasureShapes(m, cfg.Shapes), prune.MeasureShapes(b.Model, cfg.Shapes)
			if err := b.Report.Write(w); err != nil {
				return err
			}
			if out != "" {
				if err := onnx.Save(b.Model, out); err != nil {
					return err
				}
				fmt.Fprintln(w, "wrote", out)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&evalData, "eval", "", `evaluation data: "mnist" or a .npz (inputs by name, optional "labels")`)
	f.StringVar(&amounts, "amounts", "0.1,0.2,0.3,0.4,0.5,0.6,0.7,0.8,0.9", "fractions to prune each layer by")
	f.StringVar(&method, "method", "l1", "l1 or ln-structured")
	f.StringVar(&norm, "n", "2", "norm order for ln-structured")
	f.StringSliceVar(&layers, "layers", nil, "layers by node name, op type or regular expression (default: all Conv/Gemm/MatMul)")
	f.StringVar(&plotPath, "plot", "sensitivity.png", "PNG plot of score vs amount per layer (empty: none)")
	f.Float64Var(&maxDrop, "max-accuracy-drop", 0, "pick per-layer amounts within this score drop (e.g. 0.01)")
	f.StringVar(&objective, "objective", "flops", "what --max-accuracy-drop maximises: flops or bytes removed")
	f.StringVarP(&out, "output", "o", "", "with --max-accuracy-drop: where to write the pruned model")
	f.StringArrayVar(&shapes, "shape", nil, "input shape for FLOP counting, NAME=D0,D1,… or D0,D1,… (repeatable)")
	f.IntVar(&threads, "threads", 0, "threads per evaluation (0: all cores)")
	_ = cmd.MarkFlagRequired("eval")
	return cmd
}

// loadPruneEval reads --eval: the embedded MNIST digits or a .npz.
func loadPruneEval(spec string) (prune.EvalData, error) {
	if spec == "mnist" {
		images, labels, err := assets.MNISTHeldOut()
		if err != nil {
			return prune.EvalData{}, err
		}
		return prune.EvalData{Inputs: map[string]*ir.Tensor{"": images}, Labels: labels}, nil
	}
	set, err := bench.LoadEvalNPZ(spec)
	if err != nil {
		return prune.EvalData{}, err
	}
	return prune.EvalData{Inputs: set.Inputs, Labels: set.Labels}, nil
}
