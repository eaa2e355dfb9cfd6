package runtime

import (
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"testing"

	"github.com/hone-ml/hone/ir"
)

// BenchmarkQLinearConv times QLinearConv on PP-OCRv4 det's costliest layer shapes (int8, per-channel weights,
// 1 thread): a wide 1×1, the 3→16 stem and a 96→24 3×3.
func BenchmarkQLinearConv(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 1))
	for _, c := range []struct {
		name          string
		c, h, w, m, k int
		stride, pad   int64
		group         int64
	}{
		{"1x1_16to32_320", 16, 320, 320, 32, 1, 1, 0, 1},
		{"1x1_48to48_160", 48, 160, 160, 48, 1, 1, 0, 1},
		{"1x1_12to96_160", 12, 160, 160, 96, 1, 1, 0, 1},
		{"1x1_96to96_80", 96, 80, 80, 96, 1, 1, 0, 1},
		{"1x1_192to192_40", 192, 40, 40, 192, 1, 1, 0, 1},
		{"1x1_384to384_20", 384, 20, 20, 384, 1, 1, 0, 1},
		{"stem_3to16_640_s2", 3, 640, 640, 16, 3, 2, 1, 1},
		{"3x3_96to24_160", 96, 160, 160, 24, 3, 1, 1, 1},
		{"3x3_96to24_80", 96, 80, 80, 24, 3, 1, 1, 1},
		{"3x3_64to64_56", 64, 56, 56, 64, 3, 1, 1, 1},        // ResNet-18 layer1
		{"stem_3to64_224_k7s2", 3, 224, 224, 64, 7, 2, 3, 1}, // ResNet-18 conv1
		{"3x3_128to128_28", 128, 28, 28, 128, 3, 1, 1, 1},    // ResNet-18 layer2
		{"3x3_256to256_14", 256, 14, 14, 256, 3, 1, 1, 1},    // ResNet-18 layer3
		{"3x3_512to512_7", 512, 7, 7, 512, 3, 1, 1, 1},       // ResNet-18 layer4
		{"dw3x3_16_320", 16, 320, 320, 16, 3, 1, 1, 16},
	} {
		b.Run(c.name, func(b *testing.B) {
			x := qRandInt(r, ir.Int8, 1, c.c, c.h, c.w)
			w := qRandInt(r, ir.Int8, c.m, c.c/int(c.group), c.k, c.k)
			ws := make([]float32, c.m)
			bias := make([]int32, c.m)
			for i := range ws {
				ws[i] = 0.003
				bias[i] = int32(r.IntN(2000) - 1000)
			}
			attrs := []*ir.Attr{nnAInt("group", c.group), nnAInts("strides", c.stride, c.stride), nnAInts("pads", c.pad, c.pad, c.pad, c.pad)}
			n := nnNode("QLinearConv", []string{"x", "xs", "zx", "w", "ws", "zw", "ys", "yz", "b"}, []string{"y"}, attrs...)
			consts := map[string]*ir.Tensor{"w": w, "ws": ir.FromFloat32([]int{c.m}, ws), "zw": ir.New(ir.Int8, c.m),
				"b": ir.FromInt32([]int{c.m}, bias), "xs": ir.Scalar(float32(0.02)), "zx": ir.New(ir.Int8), "ys": ir.Scalar(float32(0.05)), "yz": ir.New(ir.Int8)}
			p, err := Compile(nnGraph(13, n, consts), Options{NoOptimize: true, Threads: qBenchThreads})
			if err != nil {
				b.Fatal(err)
			}
			feeds := map[string]*ir.Tensor{"x": x}
			for _, rw := range []bool{true, false} {
				b.Run(fmt.Sprintf("rowwin=%v", rw), func(b *testing.B) {
					defer func(on bool) { qRowWindowsOn = on }(qRowWindowsOn)
					qRowWindowsOn = rw
					for i := 0; i < b.N; i++ {
						if _, err := p.Run(feeds); err != nil {
							b.Fatal(fmt.Sprint(err))
						}
					}
				})
			}
		})
	}
}

// qBenchThreads is BenchmarkQLinearConv's thread count (HONE_BENCH_THREADS, default 1).
var qBenchThreads = func() int {
	if n, err := strconv.Atoi(os.Getenv("HONE_BENCH_THREADS")); err == nil && n > 0 {
		return n
	}
	return 1
}()
