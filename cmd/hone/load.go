package main

import (
	"fmt"
	"os"

	"github.com/hone-ml/hone/ir"
	"github.com/hone-ml/hone/onnx"
)

func loadModel(path string) (*ir.Model, error) { return onnx.Load(path) }

// checkOutput refuses, before any work, an output path that is the input model's file (by identity, so another
// spelling or a link to it counts): onnx.Save would refuse it too, but only after the quantization or pruning ran.
func checkOutput(command, in, out string) error {
	si, err := os.Stat(in)
	if err != nil {
		return nil // loading the input reports it
	}
	if so, err := os.Stat(out); err == nil && os.SameFile(si, so) {
		return fmt.Errorf("%s: -o %s is the input model; hone never overwrites its input, so choose another path", command, out)
	}
	return nil
}
