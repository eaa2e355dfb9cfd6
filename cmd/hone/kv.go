package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/hone-ml/hone/turboquant"
	"github.com/spf13/cobra"
)

// newKVCmd groups the TurboQuant KV-cache commands.
func newKVCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "kv", Short: "KV-cache vector quantization (TurboQuant)"}
	cmd.AddCommand(newKVEvalCmd(), newKVNIAHCmd(), newKVBenchCmd())
	return cmd
}

func kvParseInts(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		v, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil {
			return nil, fmt.Errorf("bad integer %q in list %q", f, s)
		}
		out = append(out, v)
	}
	return out, nil
}

func kvParseFloats(s string) ([]float64, error) {
	var out []float64
	for _, f := range strings.Split(s, ",") {
		v, err := strconv.ParseFloat(strings.TrimSpace(f), 64)
		if err != nil {
			return nil, fmt.Errorf("bad number %q in list %q", f, s)
		}
		out = append(out, v)
	}
	return out, nil
}

func kvWriteJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func newKVEvalCmd() *cobra.Command {
	var dims, bits, rot, plotPath string
	var n int
	var seed uint64
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "eval",
		Short: "Measure D_mse, D_prod and inner-product bias (TurboQuant mse/prod, PolarQuant) against the paper's bounds",
		RunE: func(cmd *cobra.Command, _ []string) error {
			ds, err := kvParseInts(dims)
			if err != nil {
				return err
			}
			bs, err := kvParseInts(bits)
			if err != nil {
				return err
			}
			kind, err := turboquant.ParseRotation(rot)
			if err != nil {
				return err
			}
			if n < 1 {
				return fmt.Errorf("kv eval: --n must be ≥ 1")
			}
			rows, err := turboquant.Eval(ds, bs, n, kind, seed)
			if err != nil {
				return err
			}
			if plotPath != "" {
				if err := turboquant.PlotDistortion(rows, plotPath); err != nil {
					return err
				}
			}
			if asJSON {
				return kvWriteJSON(cmd.OutOrStdout(), rows)
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "dim\tbits\tdata\tvariant\tbits/coord\tD_mse\ttheory\tbounds\tD_prod\tprod bounds\tbias")
			for _, r := range rows {
				dm, th := "-", "-"
				if r.Variant != "prod" { // prod is built for inner products; its D_mse is not its objective
					dm, th = fmt.Sprintf("%.5f", r.DMSE), fmt.Sprintf("%.5f", r.Theory)
				}
				fmt.Fprintf(tw, "%d\t%d\t%s\t%s\t%.3f\t%s\t%s\t[%.4f, %.4f]\t%.3e\t[%.2e, %.2e]\t%.4f\n", r.Dim, r.Bits,
					r.Data, r.Variant, r.Rate, dm, th, r.MSELower, r.MSEUpper, r.DProd, r.ProdLower, r.ProdUpper, r.Bias)
			}
			return tw.Flush()
		},
	}
	f := cmd.Flags()
	f.StringVar(&dims, "dim", "64,128,1536", "comma-separated dimensions")
	f.StringVar(&bits, "bits", "1,2,3,4", "comma-separated bits per coordinate")
	f.IntVar(&n, "n", 2000, "vectors per (dim, bits, data)")
	f.StringVar(&rot, "rotation", "hadamard", "rotation: hadamard (fast) or dense (QR of a Gaussian)")
	f.Uint64Var(&seed, "seed", 1, "random seed")
	f.StringVar(&plotPath, "plot", "", "write a PNG plot of D_mse vs bits to this path")
	f.BoolVar(&asJSON, "json", false, "print JSON rows")
	return cmd
}

func newKVNIAHCmd() *cobra.Command {
	var bits, rot, keys string
	var dim, n, trials int
	var margin float64
	var seed uint64
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "niah",
		Short: "Needle-in-a-haystack: does a planted key stay the top attention score on the quantized cache?",
		RunE: func(cmd *cobra.Command, _ []string) error {
			bs, err := kvParseFloats(bits)
			if err != nil {
				return err
			}
			kind, err := turboquant.ParseRotation(rot)
			if err != nil {
				return err
			}
			if keys != "mse" && keys != "prod" {
				return fmt.Errorf("kv niah: --keys %q: want mse or prod", keys)
			}
			var res []turboquant.NIAHResult
			for _, b := range bs {
				r, err := turboquant.NIAH(turboquant.NIAHConfig{Dim: dim, N: n, Trials: trials, Bits: b, Margin: margin,
					Rotation: kind, Seed: seed, KeyProd: keys == "prod"})
				if err != nil {
					return err
				}
				res = append(res, r)
			}
			if asJSON {
				return kvWriteJSON(cmd.OutOrStdout(), res)
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "bits\tkeys\tN\thits\ttrials\trate\tkey bytes/vector")
			for _, r := range res {
				fmt.Fprintf(tw, "%.1f\t%s\t%d\t%d\t%d\t%.4f\t%d\n", r.Bits, r.Keys, r.N, r.Hits, r.Trials, r.Rate, r.Bytes)
			}
			return tw.Flush()
		},
	}
	f := cmd.Flags()
	f.StringVar(&bits, "bits", "2,2.5,3,3.5", "comma-separated bit rates (fractional allowed)")
	f.IntVar(&dim, "dim", 128, "head dimension")
	f.IntVar(&n, "n", 32768, "keys in the cache, needle included")
	f.IntVar(&trials, "trials", 1000, "trials per bit rate")
	f.Float64Var(&margin, "margin", 1, "needle logit above the best haystack logit, in haystack standard deviations")
	f.StringVar(&rot, "rotation", "hadamard", "rotation: hadamard (fast) or dense")
	f.StringVar(&keys, "keys", "mse", "key quantizer: mse (TurboQuant_mse) or prod (TurboQuant_prod, unbiased logits)")
	f.Uint64Var(&seed, "seed", 1, "random seed")
	f.BoolVar(&asJSON, "json", false, "print JSON rows")
	return cmd
}

func newKVBenchCmd() *cobra.Command {
	var rot string
	var dim, n int
	var bits float64
	var dur time.Duration
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Encode, decode and attention throughput, vector kernels vs pure-Go twins, quantized vs fp32 cache",
		RunE: func(cmd *cobra.Command, _ []string) error {
			kind, err := turboquant.ParseRotation(rot)
			if err != nil {
				return err
			}
			if n < 1 || dur <= 0 {
				return fmt.Errorf("kv bench: --n and --time must be positive")
			}
			rows, err := turboquant.Bench(dim, bits, n, kind, dur)
			if err != nil {
				return err
			}
			if asJSON {
				return kvWriteJSON(cmd.OutOrStdout(), rows)
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "op\timpl\tdim\tbits\tN\tvectors/s\tcoords/s\tGB/s")
			for _, r := range rows {
				fmt.Fprintf(tw, "%s\t%s\t%d\t%.1f\t%d\t%.3g\t%.3g\t%.2f\n", r.Op, r.Impl, r.Dim, r.Bits, r.N, r.VectorsSec,
					r.CoordsSec, r.GBSec)
			}
			return tw.Flush()
		},
	}
	f := cmd.Flags()
	f.IntVar(&dim, "dim", 128, "vector dimension")
	f.Float64Var(&bits, "bits", 3, "bits per coordinate")
	f.IntVar(&n, "n", 32768, "tokens in the cache for the attention benchmark")
	f.StringVar(&rot, "rotation", "hadamard", "rotation: hadamard or dense")
	f.DurationVar(&dur, "time", time.Second, "minimum time per measurement")
	f.BoolVar(&asJSON, "json", false, "print JSON rows")
	return cmd
}
