package runtime_test

import (
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/hone-ml/hone/internal/irtest"
	"github.com/hone-ml/hone/ir"
	"github.com/hone-ml/hone/onnx"
	"github.com/hone-ml/hone/runtime"
)

// TestThreadsDeterministic runs models with 1 and with 2 threads: every output value must have the same bits. A
// kernel whose result depends on where the runtime cuts a tensor between threads (a twin computing a slice's tail
// to within an ulp of the assembly) fails it: a lone HardSwish and Sigmoid over an odd-sized tensor did, and in
// PP-OCRv4 rec with layers kept float by the accuracy guard, the argmax of near-tied steps moved with the thread
// count. det and rec as loaded run too.
func TestThreadsDeterministic(t *testing.T) {
	b := irtest.New("act")
	x := b.Input("x", ir.Float32, 1, 15, 157, 161)
	b.Output(b.Op("HardSwish", []string{x}), b.Op("Sigmoid", []string{x}))
	for _, c := range []struct {
		file  string
		shape []int
	}{{"", []int{1, 15, 157, 161}}, {"ch_PP-OCRv4_det_infer", []int{1, 3, 160, 320}}, {"ch_PP-OCRv4_rec_infer", []int{1, 3, 48, 320}}} {
		name := c.file
		if name == "" {
			name = "hardswish_sigmoid"
		}
		t.Run(name, func(t *testing.T) {
			m := b.Model(14)
			if c.file != "" {
				path := filepath.Join("..", ".cache", "assets", "ocr", c.file+".onnx")
				if _, err := os.Stat(path); err != nil {
					t.Skipf("%s missing: run scripts/fetch-assets.sh", path)
				}
				var err error
				if m, err = onnx.Load(path); err != nil {
					t.Fatal(err)
				}
			}
			in := map[string]*ir.Tensor{"x": irtest.Rand(7, c.shape...)}
			var outs [2]map[string]*ir.Tensor
			for i, threads := range []int{1, 2} {
				p, err := runtime.Compile(m, runtime.Options{Threads: threads})
				if err != nil {
					t.Fatal(err)
				}
				if outs[i], err = p.Run(in); err != nil {
					t.Fatal(err)
				}
			}
			for name, y := range outs[0] {
				for j, v := range y.F32() {
					if w := outs[1][name].F32()[j]; math.Float32bits(v) != math.Float32bits(w) {
						t.Fatalf("%s[%d]: %v with 1 thread, %v with 2", name, j, v, w)
					}
				}
			}
		})
	}
}
