package runtime

import (
	"os"
	"testing"

	"github.com/hone-ml/hone/ir"
	"github.com/hone-ml/hone/onnx"
)

func BenchmarkTmpDet(b *testing.B) {
	m, err := onnx.Load(os.Getenv("MODEL"))
	if err != nil {
		b.Skip(err)
	}
	p, err := Compile(m, Options{Threads: 1})
	if err != nil {
		b.Fatal(err)
	}
	x := ir.New(ir.Float32, 1, 3, 640, 640)
	for i := range x.F32() {
		x.F32()[i] = float32(i%255)/128 - 1
	}
	in := map[string]*ir.Tensor{p.Inputs()[0].Name: x}
	b.ResetTimer()
	for range b.N {
		if _, err := p.Run(in); err != nil {
			b.Fatal(err)
		}
	}
}
