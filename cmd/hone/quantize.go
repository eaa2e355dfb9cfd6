package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/hone-ml/hone/ir"
	"github.com/hone-ml/hone/onnx"
	"github.com/hone-ml/hone/quant"
)

// newQuantizeCmd is `hone quantize MODEL -o OUT --mode …`, plus the `explain` subcommand.
func newQuantizeCmd() *cobra.Command {
	var (
		out, mode   string
		perTensor   bool
		keepIO      bool
		equalize    bool
		biasCorrect bool
		exclude     []string
		opTypes     []string
		calib       string
		calName     string
		pct         float64
		pre         string
		evalDir     string
		maxDrop     float64
		holdOut     float64
		metric      string
		evalOutput  string
		rounding    string
		actType     string
	)
	cmd := &cobra.Command{
		Use:   "quantize MODEL -o OUT --mode dynamic",
		Short: "Quantize a model (dynamic or static int8, fp16, bf16), or explain the quantization math",
		Long: `Quantize writes a quantized copy of MODEL to OUT; MODEL itself is never modified.

--mode dynamic quantizes the weights of MatMul and Gemm to int8 (symmetric, one scale per output channel unless
--per-tensor) and their activations at run time, as ONNX Runtime's quantize_dynamic emits it:
DynamicQuantizeLinear → MatMulInteger → Cast → Mul by the scales (→ Add bias). --op-types MatMul,Gemm,Conv adds
Conv as ConvInteger with uint8 weights and one zero point (128), which every ONNX Runtime CPU build runs (none
takes a per-channel zero point); the weights stay symmetric with a scale per output channel. Gather among them
stores embedding tables int8 (one scale per row, dequantized once at load), as static mode always does.

--mode static calibrates activation ranges on --calib samples and writes ONNX QDQ (int8 activations, per-channel
symmetric int8 weights, int32 biases) around Conv, Gemm, MatMul, Add, Mul, pooling and Concat.
--op-types Conv,MatMul limits it to those op types (ORT's op_types_to_quantize), leaving the rest float.
--activation-type uint8 writes uint8 activations instead (U8S8), which ONNX Runtime on x86 runs with its
integer kernels by default (it computes S8S8 QDQ in float unless session.qdqisint8allowed is set).

--eval DATA measures the result (any mode; fp16/bf16 with --keep-io-types) against MODEL on DATA's samples
(same formats as --calib; a labels.txt beside them, one class index per line in file-name order, or a single
.npz file's "labels" array adds top-1 accuracy): SQNR and cosine of the first output (--eval-output names
another), and the --eval-metric: top-1 agreement (auto, where the output holds rows of class scores), pixel (the
per-position class over axis 1 of a segmentation map; auto after a Softmax over it), iou@T (the IoU of the
values above T, for probability maps such as a text detector's) or cosine. In static mode --max-accuracy-drop X
computes the most sensitive layers in float until the drop is ≤ X (a fraction: 0.003 = 0.3 points of top-1
accuracy with labels, else 1 − the metric) and lists them; they keep int8 weights (the file stays small) unless
even that cannot meet X, when they are kept wholly float. The guard chooses by all but --eval-holdout of the
samples (spread evenly) and reports the drop on those it held out: the number to expect on new data.
--weight-rounding gptq (the default) corrects each layer's weights for the quantization of its input and rounds
them with GPTQ (Frantar et al. 2022): the same scales, but each layer's integers chosen together so that its
outputs from the int8 inputs it will read stay close to the float ones on the calibration data (one more pass
over it). --weight-rounding nearest rounds each weight alone.

--mode fp16 / bf16 converts weights and compute to 16-bit floats (weights clamped to float16's finite range);
ops that must stay float32 (Resize, TopK, NonMaxSuppression, Range, …) keep it with Casts around them.
--keep-io-types leaves the model's float32 inputs and outputs as they were.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if out == "" {
				return fmt.Errorf("quantize: -o OUT is required")
			}
			if err := checkModeFlags(cmd, mode); err != nil {
				return err
			}
			if err := checkOutput("quantize", args[0], out); err != nil {
				return err
			}
			m, err := onnx.Load(args[0])
			if err != nil {
				return err
			}
			var (
				q   *ir.Model
				rep *quant.Report
			)
			switch mode {
			case "dynamic":
				q, rep, err = quant.Dynamic(m, quant.DynamicConfig{PerTensor: perTensor, Exclude: exclude, OpTypes: opTypes})
			case "fp16", "bf16":
				q, rep, err = quant.Half(m, quant.HalfConfig{BFloat16: mode == "bf16", KeepIOTypes: keepIO, Exclude: exclude})
			case "static":
				q, rep, err = quantizeStatic(cmd, m, staticFlags{calib, pre, calName, pct, exclude, opTypes, evalDir, evalOutput, metric, holdOut, maxDrop, equalize, biasCorrect, perTensor, rounding, actType})
			default:
				return fmt.Errorf("quantize: unknown --mode %q (want dynamic, static, fp16 or bf16)", mode)
			}
			if err != nil {
				return err
			}
			if evalDir != "" && mode != "static" {
				if err := evaluateMode(m, q, rep, evalDir, pre, metric, evalOutput); err != nil {
					return err
				}
			}
			if err := onnx.Save(q, out); err != nil {
				return err
			}
			return writeQuantReport(cmd.OutOrStdout(), rep, args[0], out)
		},
	}
	f := cmd.Flags()
	f.StringVarP(&out, "output", "o", "", "where to write the quantized model")
	f.StringVar(&mode, "mode", "dynamic", "dynamic, static, fp16 or bf16")
	f.StringVar(&calib, "calib", "", "static: calibration samples: a directory of .npy (a one-input model), .npz (an array per input) or PNG/JPEG files, or one .npy/.npz file; a file holding N rows of a batch-1 input is N samples")
	f.StringVar(&pre, "preprocess", "", "how images (static's --calib, any mode's --eval) become input, e.g. resize=224,mean=0.485,0.456,0.406,std=0.229,0.224,0.225,layout=nchw (keys: resize, fit=stretch|pad, mean, std, scale, layout, order)")
	f.StringVar(&calName, "calibrator", "minmax", "static: minmax, percentile, entropy or mse")
	f.Float64Var(&pct, "percentile", 99.999, "static: percentile kept by --calibrator percentile")
	f.StringVar(&evalDir, "eval", "", "evaluation samples to measure the result on, any mode (as --calib; a directory's labels.txt, or a .npz file's \"labels\" array, for top-1 accuracy); static mode's accuracy guard reads them")
	f.StringVar(&evalOutput, "eval-output", "", "with --eval: the output judged (default the model's first)")
	f.StringVar(&metric, "eval-metric", "auto", "with --eval: what the result is judged by: auto (top-1 where the output holds rows of class scores, pixel where it is a Softmax over a map's channels), top1, pixel (per-position argmax over axis 1), iou@THRESHOLD or cosine")
	f.Float64Var(&holdOut, "eval-holdout", 0.25, "static with --max-accuracy-drop: the fraction of --eval the guard does not choose by, reported as an unbiased drop (0 = choose by all)")
	f.Float64Var(&maxDrop, "max-accuracy-drop", 0, "static with --eval: keep the most sensitive layers float until the drop is ≤ this fraction (0 = off)")
	f.BoolVar(&equalize, "equalize", false, "static: cross-layer equalization of Conv pairs joined by Relu-like ops before calibrating (float function unchanged)")
	f.BoolVar(&biasCorrect, "bias-correct", false, "static: subtract the shift quantization makes in each Conv/Gemm output channel's mean on the calibration data from its bias (one more quantized pass per layer)")
	f.StringVar(&rounding, "weight-rounding", "", "static: gptq (the default) to correct each Conv/Gemm/MatMul's weights for its int8 input and round them together from that input's Hessian on the calibration data (fewer output errors; costs two K×K float64 matrices per layer, K its inputs per output, and K³ factorizations: seconds per layer at K in the thousands; layers with K > 4096 round to nearest), or nearest")
	f.StringVar(&actType, "activation-type", "int8", "static: int8 (S8S8, the default) or uint8 (U8S8: the form ONNX Runtime runs with its integer kernels on x86 by default)")
	f.BoolVar(&keepIO, "keep-io-types", false, "fp16/bf16: keep float32 model inputs and outputs, with Casts at the boundary")
	f.BoolVar(&perTensor, "per-tensor", false, "dynamic and static: one weight scale per tensor instead of per output channel")
	f.StringSliceVar(&exclude, "exclude", nil, "node names to keep in floating point")
	f.StringSliceVar(&opTypes, "op-types", nil, "the op types to quantize: dynamic from "+strings.Join(quant.DynamicOpTypes, ", ")+" (default MatMul,Gemm); static from "+strings.Join(quant.StaticOpTypes, ", ")+" (default all)")
	cmd.AddCommand(newQuantizeExplainCmd())
	return cmd
}

// quantizeModeFlags names, for each flag only some modes read, those modes: a flag given to another mode is an
// error, not silently ignored.
var quantizeModeFlags = map[string][]string{
	"calib": {"static"}, "calibrator": {"static"}, "percentile": {"static"}, "eval-holdout": {"static"},
	"max-accuracy-drop": {"static"}, "equalize": {"static"},
	"bias-correct": {"static"}, "weight-rounding": {"static"}, "activation-type": {"static"},
	"keep-io-types": {"fp16", "bf16"}, "per-tensor": {"dynamic", "static"}, "op-types": {"dynamic", "static"},
}

// checkModeFlags refuses an unknown mode, and flags given that the mode does not read.
func checkModeFlags(cmd *cobra.Command, mode string) error {
	if !slices.Contains([]string{"dynamic", "static", "fp16", "bf16"}, mode) {
		return fmt.Errorf("quantize: unknown --mode %q (want dynamic, static, fp16 or bf16)", mode)
	}
	for _, name := range slices.Sorted(maps.Keys(quantizeModeFlags)) {
		if modes := quantizeModeFlags[name]; cmd.Flags().Changed(name) && !slices.Contains(modes, mode) {
			return fmt.Errorf("quantize: --%s applies to --mode %s, not %s", name, strings.Join(modes, " and "), mode)
		}
	}
	// Within static mode, flags that only count with another one.
	needs := [][2]string{{"eval-metric", "eval"}, {"eval-output", "eval"}, {"eval-holdout", "max-accuracy-drop"}}
	if mode != "static" { // images to calibrate on are static's; to evaluate on, any mode's
		needs = append(needs, [2]string{"preprocess", "eval"})
	}
	for _, p := range needs {
		if cmd.Flags().Changed(p[0]) && !cmd.Flags().Changed(p[1]) {
			return fmt.Errorf("quantize: --%s needs --%s", p[0], p[1])
		}
	}
	if keep, _ := cmd.Flags().GetBool("keep-io-types"); (mode == "fp16" || mode == "bf16") && cmd.Flags().Changed("eval") && !keep {
		return fmt.Errorf("quantize: --eval with --mode %s needs --keep-io-types: the samples are float32, and the model's inputs would become 16-bit", mode)
	}
	if cal, _ := cmd.Flags().GetString("calibrator"); cmd.Flags().Changed("percentile") && cal != "percentile" {
		return fmt.Errorf("quantize: --percentile applies to --calibrator percentile, not %s", cal)
	}
	return nil
}

// staticFlags are the flags static mode reads.
type staticFlags struct {
	calib, pre, calibrator string
	percentile             float64
	exclude, opTypes       []string
	eval, evalOutput       string
	metric                 string
	holdOut, maxDrop       float64
	equalize, biasCorrect  bool
	perTensor              bool
	rounding               string
	activations            string
}

// quantizeStatic runs static quantization with a progress bar on stderr while calibrating, and the accuracy
// guard's measurements on stderr as they come.
func quantizeStatic(cmd *cobra.Command, m *ir.Model, sf staticFlags) (*ir.Model, *quant.Report, error) {
	if sf.calib == "" {
		return nil, nil, fmt.Errorf("quantize: --mode static needs --calib DIR")
	}
	if sf.maxDrop < 0 || sf.maxDrop >= 1 {
		return nil, nil, fmt.Errorf("quantize: --max-accuracy-drop %g is not a fraction in [0, 1)", sf.maxDrop)
	}
	if sf.maxDrop > 0 && sf.eval == "" {
		return nil, nil, fmt.Errorf("quantize: --max-accuracy-drop needs --eval DIR")
	}
	cal, err := quant.ParseCalibrator(sf.calibrator)
	if err != nil {
		return nil, nil, err
	}
	rounding, err := quant.ParseWeightRounding(sf.rounding)
	if err != nil {
		return nil, nil, err
	}
	act := map[string]ir.DType{"int8": ir.Int8, "uint8": ir.Uint8}[sf.activations]
	if act == ir.Undefined {
		return nil, nil, fmt.Errorf("quantize: --activation-type %q: want int8 or uint8", sf.activations)
	}
	data, err := openCalib(m, sf.calib, sf.pre)
	if err != nil {
		return nil, nil, err
	}
	metric, err := quant.ParseMetric(sf.metric)
	if err != nil {
		return nil, nil, err
	}
	if sf.holdOut < 0 || sf.holdOut >= 1 {
		return nil, nil, fmt.Errorf("quantize: --eval-holdout %g is not a fraction in [0, 1)", sf.holdOut)
	}
	cfg := quant.StaticConfig{Calibrator: cal, Percentile: sf.percentile, Exclude: sf.exclude, OpTypes: sf.opTypes, PerTensor: sf.perTensor, MaxAccuracyDrop: sf.maxDrop,
		Equalize: sf.equalize, BiasCorrect: sf.biasCorrect, WeightRounding: rounding, Activations: act, Metric: metric, EvalOutput: sf.evalOutput}
	if sf.maxDrop > 0 {
		cfg.HoldOut = sf.holdOut
	}
	if sf.eval != "" {
		if cfg.Eval, cfg.Labels, err = openEval(m, sf.eval, sf.pre); err != nil {
			return nil, nil, err
		}
	}
	// The default hold-out gives way on sets too small to spare a sample; one asked for does not.
	if cfg.HoldOut > 0 && cfg.Eval != nil && math.Floor(float64(cfg.Eval.Len())*cfg.HoldOut) < 1 && !cmd.Flags().Changed("eval-holdout") {
		fmt.Fprintf(cmd.ErrOrStderr(), "eval: %d samples are too few to hold out %g of them: the guard chooses by all\n", cfg.Eval.Len(), cfg.HoldOut)
		cfg.HoldOut = 0
	}
	// A plain carriage-return bar: progressbar/v3 would pull golang.org/x/term into go.sum for this one line.
	w := cmd.ErrOrStderr()
	cfg.Progress = func(done, total int) {
		const width = 30
		fill := width * done / total
		fmt.Fprintf(w, "\rcalibrating [%s%s] %d/%d", strings.Repeat("=", fill), strings.Repeat(" ", width-fill), done, total)
		if done == total {
			fmt.Fprintln(w)
		}
	}
	cfg.Guard = func(msg string) { fmt.Fprintf(w, "eval: %s\n", msg) }
	return quant.Static(m, data, cfg)
}

// openEval opens --eval data as openCalib does, with its labels: a directory's labels.txt, or a single .npz
// file's "labels" array; nil when there are none.
func openEval(m *ir.Model, path, preSpec string) (quant.Samples, []int64, error) {
	data, err := openCalib(m, path, preSpec)
	if err != nil {
		return nil, nil, fmt.Errorf("quantize: --eval: %w", err)
	}
	if ds, ok := data.(*quant.DirSamples); ok && ds.Labels() != nil {
		if labels := ds.Labels(); len(labels) != data.Len() {
			return nil, nil, fmt.Errorf("quantize: --eval %s: %d labels for %d samples", path, len(labels), data.Len())
		}
		return data, ds.Labels(), nil
	}
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		labels, err := readLabels(filepath.Join(path, "labels.txt"), data.Len())
		return data, labels, err
	}
	return data, nil, nil
}

// evaluateMode measures a dynamic or 16-bit model against m on --eval, as static mode's report does (no guard:
// these modes have no layers to choose).
func evaluateMode(m, q *ir.Model, rep *quant.Report, path, preSpec, metric, output string) error {
	me, err := quant.ParseMetric(metric)
	if err != nil {
		return err
	}
	data, labels, err := openEval(m, path, preSpec)
	if err != nil {
		return err
	}
	res, err := quant.Evaluate(m, q, data, labels, me, output)
	if err != nil {
		return err
	}
	rep.Eval = &res
	return nil
}

// readLabels reads one class index per line; a missing file means no labels.
func readLabels(path string, n int) ([]int64, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("quantize: --eval labels: %w", err)
	}
	var out []int64
	for i, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		v, err := strconv.ParseInt(strings.TrimSpace(line), 10, 64)
		if err != nil || v < 0 {
			return nil, fmt.Errorf("quantize: %s line %d: %q is not a class index", path, i+1, line)
		}
		out = append(out, v)
	}
	if len(out) != n {
		return nil, fmt.Errorf("quantize: %s has %d labels for %d samples", path, len(out), n)
	}
	return out, nil
}

// openCalib opens calibration or evaluation data: a folder of images (decoded and preprocessed per preSpec) when it
// holds any PNG or JPEG, else a folder of .npy/.npz samples or one such file.
func openCalib(m *ir.Model, dir, preSpec string) (quant.Samples, error) {
	if quant.HasImages(dir) {
		pre, err := quant.ParsePreprocess(preSpec)
		if err != nil {
			return nil, err
		}
		return quant.OpenImages(dir, m, pre)
	}
	if preSpec != "" {
		return nil, fmt.Errorf("quantize: --preprocess applies to images, and %s holds no PNG or JPEG file", dir)
	}
	return quant.OpenSamples(dir, m.Graph.RealInputs())
}

// writeQuantReport prints what was quantized and the sizes: initializer bytes and file bytes before and after.
func writeQuantReport(w io.Writer, rep *quant.Report, in, out string) error {
	var b strings.Builder
	fmt.Fprintf(&b, "mode %s: %d nodes quantized\n", rep.Mode, len(rep.Quantized))
	for _, note := range rep.Notes {
		fmt.Fprintf(&b, "  note: %s\n", note)
	}
	for _, k := range rep.KeptFloat {
		fmt.Fprintf(&b, "  kept float: %s: %s\n", k.Node, k.Reason)
	}
	if rep.Eval != nil {
		fmt.Fprintf(&b, "accuracy vs float: %s\n", rep.Eval)
	}
	if rep.HeldOut != nil {
		fmt.Fprintf(&b, "held out:          %s (drop %.4f; the guard did not choose by these)\n", rep.HeldOut, rep.HeldOut.Drop())
	}
	fmt.Fprintf(&b, "weights: %d → %d bytes (%.3f×)\n", rep.BytesFloat, rep.BytesQuant, rep.Ratio())
	if si, err := os.Stat(in); err == nil {
		if so, err := os.Stat(out); err == nil {
			fmt.Fprintf(&b, "file:    %d → %d bytes (%.3f×)\n", si.Size(), so.Size(), float64(so.Size())/float64(si.Size()))
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func newQuantizeExplainCmd() *cobra.Command {
	var (
		values string
		bits   int
		scheme string
	)
	cmd := &cobra.Command{
		Use:   "explain --values 0.35,-1.2,0.8,-0.5,1.5,0.05",
		Short: "Quantize a few values step by step: range, scale, zero point, each value's round trip and error",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			s, err := quant.ParseScheme(scheme)
			if err != nil {
				return err
			}
			var vals []float32
			for _, f := range strings.Split(values, ",") {
				if f = strings.TrimSpace(f); f == "" {
					continue
				}
				v, err := strconv.ParseFloat(f, 32)
				if err != nil {
					return fmt.Errorf("quantize explain: --values: %q is not a number", f)
				}
				vals = append(vals, float32(v))
			}
			e, err := quant.Explain(vals, bits, s)
			if err != nil {
				return err
			}
			return e.Write(cmd.OutOrStdout())
		},
	}
	cmd.Flags().StringVar(&values, "values", "0.35,-1.2,0.8,-0.5,1.5,0.05", "comma-separated real values")
	cmd.Flags().IntVar(&bits, "bits", 8, "integer width (2–16)")
	cmd.Flags().StringVar(&scheme, "scheme", "asymmetric", "asymmetric (uint range with a zero point) or symmetric (signed, zero point 0)")
	return cmd
}
