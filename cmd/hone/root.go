package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/hone-ml/hone/kernels"
)

// newRootCmd builds the whole command tree. Every subcommand is listed here, explicitly.
func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:           "hone",
		Short:         "Make ML models small and fast, prove what they kept, and run them",
		SilenceUsage:  true,
		SilenceErrors: true,
		// A misspelt HONE_CPU would otherwise run at full speed unnoticed, and a benchmark meant for the AVX2
		// kernels would time the AVX-512 ones.
		PersistentPreRunE: func(*cobra.Command, []string) error { return kernels.CPUCapError() },
	}
	root.AddCommand(
		newInspectCmd(),
		newRunCmd(),
		newBenchCmd(),
		newDemoCmd(),
		newProfileCmd(),
		newKVCmd(),
		newServeCmd(),
		newLoadtestCmd(),
		newPruneCmd(),
		newQuantizeCmd(),
		newOptimizeCmd(),
	)
	return root
}

func execute() int {
	if err := newRootCmd().Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "hone:", err)
		return 1
	}
	return 0
}
