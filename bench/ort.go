//go:build ort

package bench

import (
	"github.com/hone-ml/hone/backend/ort"
	"github.com/hone-ml/hone/ir"
)

// Optional backends, registered only in ort builds: "ort" is ONNX Runtime as it is by default; "ort-int8" turns
// on its int8 QDQ fusions (ort.Options.Int8QDQ), which x86 builds leave off, running QDQ models with int8
// activations through float Conv and MatMul instead of its integer kernels.
func init() {
	backends["ort"] = func(path string, threads int) (Session, error) { return openORT(path, threads, false) }
	backends["ort-int8"] = func(path string, threads int) (Session, error) { return openORT(path, threads, true) }
}

type ortSession struct{ s *ort.Session }

func openORT(path string, threads int, int8QDQ bool) (Session, error) {
	if err := ort.Init(""); err != nil {
		return nil, err
	}
	s, err := ort.NewSession(path, ort.Options{Threads: threads, Int8QDQ: int8QDQ})
	if err != nil {
		return nil, err
	}
	return &ortSession{s: s}, nil
}

func (o *ortSession) Run(in map[string]*ir.Tensor) (map[string]*ir.Tensor, error) { return o.s.Run(in) }
func (o *ortSession) Close() error                                                { return o.s.Close() }
