package bench

import (
	"testing"

	"github.com/hone-ml/hone/ir"
)

// TestNodeFLOPs checks the operation counts against 2·(multiply-adds) worked out by hand, for the float ops and
// the integer and fused forms hone's runtime compiles them into (which profile reports per node): a quantized
// model's convolutions must count what the float one's do.
func TestNodeFLOPs(t *testing.T) {
	ten := func(dt ir.DType, shape ...int) *ir.Tensor { return ir.New(dt, shape...) }
	x, w, y := ten(ir.Float32, 1, 3, 8, 8), ten(ir.Float32, 4, 3, 3, 3), ten(ir.Float32, 1, 4, 8, 8)
	xq, wq, yq := ten(ir.Int8, 1, 3, 8, 8), ten(ir.Int8, 4, 3, 3, 3), ten(ir.Int8, 1, 4, 8, 8)
	s := ir.Scalar(1)
	conv := int64(2 * 3 * 3 * 3 * 4 * 8 * 8) // 27 multiply-adds per output, 256 outputs
	ct, cw, cy := ten(ir.Float32, 1, 4, 3, 3), ten(ir.Float32, 4, 2, 2, 2), ten(ir.Float32, 1, 2, 6, 6)
	a, b, mm := ten(ir.Int8, 2, 5, 16), ten(ir.Int8, 16, 6), ten(ir.Float32, 2, 5, 6)
	for _, c := range []struct {
		op, domain string
		in         []*ir.Tensor
		out        *ir.Tensor
		want       int64
	}{
		{"Conv", "", []*ir.Tensor{x, w}, y, conv},
		{ir.OpFusedConv, ir.DomainHone, []*ir.Tensor{x, w}, y, conv},
		{"QLinearConv", "", []*ir.Tensor{xq, s, nil, wq, s, nil, s, nil}, yq, conv},
		{"ConvInteger", "", []*ir.Tensor{xq, wq}, ten(ir.Int32, 1, 4, 8, 8), conv},
		{ir.OpQConvFloat, ir.DomainHone, []*ir.Tensor{xq, wq, nil, s, nil, s, nil}, y, conv},
		// each of the 36 input values (4 channels × 3×3) scatters to 2 output channels × 2×2 taps
		{"ConvTranspose", "", []*ir.Tensor{ct, cw}, cy, 2 * 36 * 2 * 2 * 2},
		{ir.OpFusedConvTranspose, ir.DomainHone, []*ir.Tensor{ct, cw}, cy, 2 * 36 * 2 * 2 * 2},
		{ir.OpQConvTranspose, ir.DomainHone, []*ir.Tensor{ten(ir.Int8, 1, 4, 3, 3), ten(ir.Int8, 4, 2, 2, 2)}, ten(ir.Int8, 1, 2, 6, 6), 2 * 36 * 2 * 2 * 2},
		{"MatMulIntegerToFloat", ir.DomainMicrosoft, []*ir.Tensor{a, b, s, s}, mm, 2 * 16 * 60},
		{"QLinearMatMul", "", []*ir.Tensor{a, s, nil, b, s, nil, s, nil}, ten(ir.Int8, 2, 5, 6), 2 * 16 * 60},
	} {
		n := &ir.Node{Name: c.op, OpType: c.op, Domain: c.domain}
		if got := NodeFLOPs(n, c.in, []*ir.Tensor{c.out}); got != c.want {
			t.Errorf("%s: %d operations, want %d", c.op, got, c.want)
		}
	}
}
