package main

import "github.com/spf13/cobra"

// newKVCmd groups the TurboQuant KV-cache commands.
func newKVCmd() *cobra.Command {
	return &cobra.Command{Use: "kv", Short: "KV-cache vector quantization (TurboQuant)"}
}
