package quant

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/hone-ml/hone/ir"
	"github.com/hone-ml/hone/onnx"
	"github.com/hone-ml/hone/runtime"
)

func TestZZHalfDet(t *testing.T) {
	for _, name := range []string{"det", "rec"} {
		c := ocrCases(t)[name]
		m, err := onnx.Load(filepath.Join("..", ".cache", "assets", "ocr", c.file+".onnx"))
		if err != nil {
			t.Fatal(err)
		}
		h, _, err := Half(m, HalfConfig{KeepIOTypes: true})
		if err != nil {
			t.Fatal(err)
		}
		fp, _ := runtime.Compile(m, runtime.Options{Threads: 1})
		hp, err := runtime.Compile(h, runtime.Options{Threads: 1})
		if err != nil {
			t.Fatal(err)
		}
		c.eval = c.eval[:3]
		f := c.fidelity(t, name, fp, hp)
		x, _ := c.pre.Apply(c.eval[0])
		in := map[string]*ir.Tensor{"x": x}
		tm := func(p *runtime.Plan) time.Duration {
			p.Run(in)
			s := time.Now()
			for i := 0; i < 3; i++ {
				p.Run(in)
			}
			return time.Since(s) / 3
		}
		t.Logf("%s fp16: fidelity %.4f; fp32 %v, fp16 %v", name, f, tm(fp), tm(hp))
	}
}
