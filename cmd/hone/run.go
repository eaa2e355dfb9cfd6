package main

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/spf13/cobra"

	"github.com/hone-ml/hone/bench"
	"github.com/hone-ml/hone/ir"
	"github.com/hone-ml/hone/npy"
)

func newRunCmd() *cobra.Command {
	var inputs []string
	var outDir, backend string
	var threads int
	cmd := &cobra.Command{
		Use:   "run MODEL --input NAME=FILE.npy … [--out DIR]",
		Short: "Run a model on NumPy inputs and write each output as NAME.npy",
		Long: `Run executes MODEL once. Inputs come from .npy files (--input NAME=FILE.npy, repeatable) or one .npz
holding every input by name (--input FILE.npz). Each output is written to DIR/NAME.npy (DIR defaults to ".").
--backend ort runs ONNX Runtime instead (binaries built with -tags ort).`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			feeds, err := readInputs(inputs)
			if err != nil {
				return err
			}
			s, err := bench.Open(backend, args[0], threads)
			if err != nil {
				return err
			}
			defer s.Close()
			outs, err := s.Run(feeds)
			if err != nil {
				return err
			}
			if err := os.MkdirAll(outDir, 0o755); err != nil {
				return err
			}
			names := make([]string, 0, len(outs))
			for n := range outs {
				names = append(names, n)
			}
			sort.Strings(names)
			for _, n := range names {
				path := filepath.Join(outDir, safeFileName(n)+".npy")
				if err := npy.WriteFile(path, outs[n]); err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "%s\t%s\t→ %s\n", n, outs[n], path)
			}
			return nil
		},
	}
	cmd.Flags().StringArrayVarP(&inputs, "input", "i", nil, "NAME=FILE.npy or FILE.npz (repeatable)")
	cmd.Flags().StringVarP(&outDir, "out", "o", ".", "directory for the output .npy files")
	cmd.Flags().StringVar(&backend, "backend", "hone", "hone or ort")
	cmd.Flags().IntVar(&threads, "threads", 0, "threads (0 = all cores)")
	return cmd
}

func readInputs(specs []string) (map[string]*ir.Tensor, error) {
	feeds := map[string]*ir.Tensor{}
	for _, s := range specs {
		name, file, ok := strings.Cut(s, "=")
		if !ok {
			file = s
			if !strings.HasSuffix(file, ".npz") {
				return nil, fmt.Errorf("--input %q: want NAME=FILE.npy or FILE.npz", s)
			}
			m, _, err := npy.ReadNPZ(file)
			if err != nil {
				return nil, err
			}
			for k, v := range m {
				feeds[k] = v
			}
			continue
		}
		t, err := npy.ReadFile(file)
		if err != nil {
			return nil, fmt.Errorf("--input %s: %w", name, err)
		}
		feeds[name] = t
	}
	return feeds, nil
}

// safeFileName maps an output name to a file name (ONNX names may hold '/' or ':').
func safeFileName(name string) string {
	return strings.Map(func(r rune) rune {
		if r == '/' || r == '\\' || r == ':' || r == 0 {
			return '_'
		}
		return r
	}, name)
}
