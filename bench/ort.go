//go:build ort

package bench

import (
	"github.com/hone-ml/hone/backend/ort"
	"github.com/hone-ml/hone/ir"
)

func init() { backends["ort"] = openORT } // optional backend: registers itself only in ort builds

type ortSession struct{ s *ort.Session }

func openORT(path string, threads int) (Session, error) {
	if err := ort.Init(""); err != nil {
		return nil, err
	}
	s, err := ort.NewSession(path, ort.Options{Threads: threads})
	if err != nil {
		return nil, err
	}
	return &ortSession{s: s}, nil
}

func (o *ortSession) Run(in map[string]*ir.Tensor) (map[string]*ir.Tensor, error) { return o.s.Run(in) }
func (o *ortSession) Close() error                                                { return o.s.Close() }
