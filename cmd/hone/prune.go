package main

import (
	"fmt"
	"math"
	"os"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/hone-ml/hone/onnx"
	"github.com/hone-ml/hone/prune"
)

func newPruneCmd() *cobra.Command {
	var out, method, amount, norm, pattern string
	var layers []string
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
			cfg := prune.Config{Method: prune.Method(method), Layers: layers, Dim: dim, MaskOnly: maskOnly, SparseStorage: sparse}
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
			switch strings.ToLower(norm) {
			case "inf":
				cfg.Norm = math.Inf(1)
			case "-inf":
				cfg.Norm = math.Inf(-1)
			default:
				v, err := strconv.ParseFloat(norm, 64)
				if err != nil {
					return fmt.Errorf("prune: --n %q is not a number or inf", norm)
				}
				cfg.Norm = v
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
	return cmd
}
