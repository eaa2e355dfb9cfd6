package runtime

import (
	"math"

	"github.com/hone-ml/hone/kernels"
)

// tBuildGeluTanh compiles hone's GeluTanh (see ir.OpGeluTanh): y = (x·(tanh(c2·(x + c1·(x·(x·x)))) + 1))·0.5.
func tBuildGeluTanh(b *BuildCtx) (Kernel, error) {
	k := b.Node.AttrFloats("coefficients", nil)
	if len(k) != 2 {
		return nil, Invalidf("coefficients must be [c1, c2], got %v", k)
	}
	c1, c2 := k[0], k[1]
	f1, f2 := float64(c1), float64(c2)
	return tUnaryKernel(tUnary{
		f:   func(x float64) float64 { return (x * (math.Tanh(f2*(x+f1*(x*(x*x)))) + 1)) * 0.5 },
		f32: func(dst, x []float32) { tGeluTanh(dst, x, c1, c2) },
	})(b)
}

// tGeluTanh computes GeluTanh on float32 with the operations, and the kernels, of the nine nodes it replaces, in
// blocks of 512 values that stay in L1 between them. dst may be x.
func tGeluTanh(dst, x []float32, c1, c2 float32) {
	var t [512]float32
	for lo := 0; lo < len(x); lo += len(t) {
		hi := min(lo+len(t), len(x))
		xs, ts := x[lo:hi], t[:hi-lo]
		kernels.Mul(ts, xs, xs)
		kernels.Mul(ts, xs, ts)
		kernels.MulScalar(ts, ts, c1)
		kernels.Add(ts, xs, ts)
		kernels.MulScalar(ts, ts, c2)
		kernels.Tanh(ts, ts)
		kernels.AddScalar(ts, ts, 1)
		kernels.Mul(ts, xs, ts)
		kernels.MulScalar(dst[lo:hi], ts, 0.5)
	}
}
