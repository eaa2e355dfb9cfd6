package main

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/hone-ml/hone/quant"
)

// newQuantizeCmd is `hone quantize`: post-training quantization. Its subcommands so far: explain.
func newQuantizeCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "quantize",
		Short: "Quantize models, or explain the quantization math",
	}
	cmd.AddCommand(newQuantizeExplainCmd())
	return cmd
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
