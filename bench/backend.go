// Package bench measures models on hone's runtime and on peer backends (ONNX Runtime with the `ort` build tag),
// interleaved in one run so the ratios are fair on a noisy machine.
package bench

import (
	"fmt"
	"sort"
	"strings"

	"github.com/hone-ml/hone/ir"
	"github.com/hone-ml/hone/onnx"
	"github.com/hone-ml/hone/runtime"
)

// Session is a loaded model ready to run.
type Session interface {
	Run(inputs map[string]*ir.Tensor) (map[string]*ir.Tensor, error)
	Close() error
}

// Opener loads a model file on one backend.
type Opener func(path string, threads int) (Session, error)

// backends maps a backend name to its opener. "ort" and "ort-int8" are added by ort.go when built with the ort tag.
var backends = map[string]Opener{
	"hone": openHone,
}

// Backends lists the available backend names.
func Backends() []string {
	var out []string
	for k := range backends {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Open loads path on the named backend.
func Open(backend, path string, threads int) (Session, error) {
	o, ok := backends[backend]
	if !ok {
		if backend == "ort" || backend == "ort-int8" {
			return nil, fmt.Errorf("bench: backend %s is not in this build; rebuild with `go build -tags ort ./cmd/hone` (needs cgo)", backend)
		}
		return nil, fmt.Errorf("bench: unknown backend %q (have %s)", backend, strings.Join(Backends(), ", "))
	}
	return o(path, threads)
}

type honeSession struct{ plan *runtime.Plan }

func openHone(path string, threads int) (Session, error) {
	m, err := onnx.Load(path)
	if err != nil {
		return nil, err
	}
	p, err := runtime.Compile(m, runtime.Options{Threads: threads})
	if err != nil {
		return nil, err
	}
	return &honeSession{plan: p}, nil
}

func (s *honeSession) Run(in map[string]*ir.Tensor) (map[string]*ir.Tensor, error) {
	return s.plan.Run(in)
}
func (s *honeSession) Close() error { return nil }
