package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"
)

// newRootCmd builds the whole command tree. Every subcommand is listed here, explicitly.
func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:           "hone",
		Short:         "Make ML models small and fast, prove what they kept, and run them",
		SilenceUsage:  true,
		SilenceErrors: true,
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
