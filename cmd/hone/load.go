package main

import (
	"github.com/hone-ml/hone/ir"
	"github.com/hone-ml/hone/onnx"
)

func loadModel(path string) (*ir.Model, error) { return onnx.Load(path) }
