package runtime_test

import (
	"os"
	"testing"

	"github.com/hone-ml/hone/ir"
	"github.com/hone-ml/hone/onnx"
	"github.com/hone-ml/hone/runtime"
)

func BenchmarkZZH21Model(b *testing.B) {
	path := os.Getenv("H21_MODEL")
	if path == "" {
		b.Skip()
	}
	m, err := onnx.Load(path)
	if err != nil {
		b.Fatal(err)
	}
	p, err := runtime.Compile(m, runtime.Options{Threads: 1})
	if err != nil {
		b.Fatal(err)
	}
	x := ir.New(ir.Float32, 1, 3, 224, 224)
	f := x.F32()
	for i := range f {
		f[i] = float32(i%251)/125 - 1
	}
	in := map[string]*ir.Tensor{p.Inputs()[0].Name: x}
	for i := 0; i < b.N; i++ {
		if _, err := p.Run(in); err != nil {
			b.Fatal(err)
		}
	}
}
