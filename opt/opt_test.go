package opt_test

import (
	"fmt"
	"math"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/hone-ml/hone/internal/irtest"
	"github.com/hone-ml/hone/ir"
	"github.com/hone-ml/hone/opt"
	"github.com/hone-ml/hone/runtime"
)

// passCase is a hand-built graph, the op counts it must have after optimisation, and its inputs.
type passCase struct {
	name  string
	build func() (*irtest.Builder, []*ir.Tensor)
	want  map[string]int // op counts after opt.Run
}

func convInput(b *irtest.Builder) string { return b.Input("x", ir.Float32, 1, 3, 6, 6) }

func conv(b *irtest.Builder, x string, bias bool) string {
	in := []string{x, b.Init("w", irtest.Rand(1, 4, 3, 3, 3))}
	if bias {
		in = append(in, b.Init("b", irtest.Rand(2, 4)))
	}
	return b.Op("Conv", in, irtest.Ints("pads", 1, 1, 1, 1))
}

func bn(b *irtest.Builder, x string) string {
	return b.Op("BatchNormalization", []string{x, b.Init("g", irtest.Rand(3, 4)), b.Init("beta", irtest.Rand(4, 4)),
		b.Init("mean", irtest.Rand(5, 4)), b.Init("var", irtest.RandPos(6, 0.5, 2, 4))}, irtest.Float("epsilon", 1e-3))
}

var cases = []passCase{
	{"dead", func() (*irtest.Builder, []*ir.Tensor) {
		b := irtest.New("g")
		x := b.Input("x", ir.Float32, 4)
		y := b.Op("Relu", []string{x})
		d := b.Op("Neg", []string{x})
		b.Op("Exp", []string{d}) // reaches no output
		b.Output(y)
		return b, []*ir.Tensor{irtest.Rand(1, 4)}
	}, map[string]int{"Relu": 1}},
	{"identity_dropout", func() (*irtest.Builder, []*ir.Tensor) {
		b := irtest.New("g")
		x := b.Input("x", ir.Float32, 4)
		y := b.Op("Identity", []string{x})
		z := b.Op("Dropout", []string{y}, irtest.Float("ratio", 0.5))
		w := b.Op("Relu", []string{z})
		b.Output(b.Op("Identity", []string{w}))
		return b, []*ir.Tensor{irtest.Rand(1, 4)}
	}, map[string]int{"Relu": 1}},
	{"identity_input_to_output_stays", func() (*irtest.Builder, []*ir.Tensor) {
		b := irtest.New("g")
		x := b.Input("x", ir.Float32, 4)
		b.Output(b.Op("Identity", []string{x}))
		return b, []*ir.Tensor{irtest.Rand(1, 4)}
	}, map[string]int{"Identity": 1}},
	{"dropout_training_stays", func() (*irtest.Builder, []*ir.Tensor) {
		b := irtest.New("g")
		x := b.Input("x", ir.Float32, 4)
		tm := b.Input("tm", ir.Bool)
		b.Output(b.Op("Relu", []string{b.Op("Dropout", []string{x, "", tm})}))
		f := ir.New(ir.Bool)
		return b, []*ir.Tensor{irtest.Rand(1, 4), f}
	}, map[string]int{"Dropout": 1, "Relu": 1}},
	{"fold_shape", func() (*irtest.Builder, []*ir.Tensor) {
		b := irtest.New("g")
		x := b.Input("x", ir.Float32, 2, 3, 4)
		s := b.Op("Shape", []string{x})
		d0 := b.Op("Gather", []string{s, b.Init("i0", ir.FromInt64(nil, []int64{0}))})
		u := b.Op("Unsqueeze", []string{d0, b.Init("ax", irtest.I64(0))})
		shp := b.Op("Concat", []string{u, b.Init("m1", irtest.I64(-1))}, irtest.Int("axis", 0))
		b.Output(b.Op("Reshape", []string{x, shp}))
		return b, []*ir.Tensor{irtest.Rand(1, 2, 3, 4)}
	}, map[string]int{"Reshape": 1}},
	{"conv_bn", func() (*irtest.Builder, []*ir.Tensor) {
		b := irtest.New("g")
		b.Output(bn(b, conv(b, convInput(b), true)))
		return b, []*ir.Tensor{irtest.Rand(9, 1, 3, 6, 6)}
	}, map[string]int{"Conv": 1}},
	{"conv_nobias_bn_relu", func() (*irtest.Builder, []*ir.Tensor) {
		b := irtest.New("g")
		b.Output(b.Op("Relu", []string{bn(b, conv(b, convInput(b), false))}))
		return b, []*ir.Tensor{irtest.Rand(9, 1, 3, 6, 6)}
	}, map[string]int{ir.OpFusedConv: 1}},
	{"conv_bn_shared_stays", func() (*irtest.Builder, []*ir.Tensor) {
		b := irtest.New("g")
		c := conv(b, convInput(b), true)
		b.Output(bn(b, c), c) // the Conv output is also a graph output: BN must not fold
		return b, []*ir.Tensor{irtest.Rand(9, 1, 3, 6, 6)}
	}, map[string]int{"Conv": 1, "BatchNormalization": 1}},
	{"convtranspose_bn", func() (*irtest.Builder, []*ir.Tensor) {
		b := irtest.New("g")
		x := b.Input("x", ir.Float32, 1, 4, 3, 3)
		c := b.Op("ConvTranspose", []string{x, b.Init("w", irtest.Rand(1, 4, 2, 3, 3))}, irtest.Int("group", 2),
			irtest.Ints("strides", 2, 2))
		b.Output(bn(b, c))
		return b, []*ir.Tensor{irtest.Rand(9, 1, 4, 3, 3)}
	}, map[string]int{"ConvTranspose": 1}},
	{"convtranspose_add_bn", func() (*irtest.Builder, []*ir.Tensor) { // PP-OCR det's head: bias Add, then BN
		b := irtest.New("g")
		x := b.Input("x", ir.Float32, 1, 4, 3, 3)
		c := b.Op("ConvTranspose", []string{x, b.Init("w", irtest.Rand(1, 4, 2, 2, 2))}, irtest.Int("group", 2),
			irtest.Ints("strides", 2, 2))
		b.Output(bn(b, b.Op("Add", []string{c, b.Init("k", irtest.Rand(7, 1, 4, 1, 1))})))
		return b, []*ir.Tensor{irtest.Rand(9, 1, 4, 3, 3)}
	}, map[string]int{"ConvTranspose": 1}},
	{"convtranspose_add", func() (*irtest.Builder, []*ir.Tensor) { // one output channel, a [1,1,1,1] bias
		b := irtest.New("g")
		x := b.Input("x", ir.Float32, 1, 4, 3, 3)
		c := b.Op("ConvTranspose", []string{x, b.Init("w", irtest.Rand(1, 4, 1, 2, 2)), b.Init("b0", irtest.Rand(2, 1))},
			irtest.Ints("strides", 2, 2))
		b.Output(b.Op("Sigmoid", []string{b.Op("Add", []string{b.Init("k", irtest.Rand(7, 1, 1, 1, 1)), c})}))
		return b, []*ir.Tensor{irtest.Rand(9, 1, 4, 3, 3)}
	}, map[string]int{ir.OpFusedConvTranspose: 1}},
	{"convtranspose_relu_overlapping", func() (*irtest.Builder, []*ir.Tensor) { // 3×3 taps at stride 2 overlap: col2im path
		b := irtest.New("g")
		x := b.Input("x", ir.Float32, 1, 4, 3, 3)
		c := b.Op("ConvTranspose", []string{x, b.Init("w", irtest.Rand(1, 4, 3, 3, 3)), b.Init("b0", irtest.Rand(2, 3))},
			irtest.Ints("strides", 2, 2), irtest.Ints("pads", 1, 1, 1, 1))
		b.Output(b.Op("Relu", []string{c}))
		return b, []*ir.Tensor{irtest.Rand(9, 1, 4, 3, 3)}
	}, map[string]int{ir.OpFusedConvTranspose: 1}},
	{"conv_add_bn", func() (*irtest.Builder, []*ir.Tensor) {
		b := irtest.New("g")
		c := conv(b, convInput(b), true)
		b.Output(bn(b, b.Op("Add", []string{c, b.Init("k", irtest.Rand(7, 4, 1, 1))})))
		return b, []*ir.Tensor{irtest.Rand(9, 1, 3, 6, 6)}
	}, map[string]int{"Conv": 1}},
	{"conv_add_bn_add_output_stays", func() (*irtest.Builder, []*ir.Tensor) {
		b := irtest.New("g")
		c := conv(b, convInput(b), true)
		a := b.Op("Add", []string{c, b.Init("k", irtest.Rand(7, 4, 1, 1))})
		b.Output(bn(b, a), a) // the Add's output is a graph output: the BN must not fold through it
		return b, []*ir.Tensor{irtest.Rand(9, 1, 3, 6, 6)}
	}, map[string]int{"Conv": 1, "BatchNormalization": 1}},
	{"conv_add", func() (*irtest.Builder, []*ir.Tensor) {
		b := irtest.New("g")
		c := conv(b, convInput(b), true)
		b.Output(b.Op("Add", []string{b.Init("k", irtest.Rand(7, 4, 1, 1)), c}))
		return b, []*ir.Tensor{irtest.Rand(9, 1, 3, 6, 6)}
	}, map[string]int{"Conv": 1}},
	{"conv_add_spatial_stays", func() (*irtest.Builder, []*ir.Tensor) {
		b := irtest.New("g")
		c := conv(b, convInput(b), false)
		b.Output(b.Op("Add", []string{c, b.Init("k", irtest.Rand(7, 1, 6))})) // varies along W, not channels
		return b, []*ir.Tensor{irtest.Rand(9, 1, 3, 6, 6)}
	}, map[string]int{"Conv": 1, "Add": 1}},
	{"conv_clip", func() (*irtest.Builder, []*ir.Tensor) {
		b := irtest.New("g")
		c := conv(b, convInput(b), true)
		b.Output(b.Op("Clip", []string{c, b.Init("lo", ir.Scalar(0)), b.Init("hi", ir.Scalar(0.3))}))
		return b, []*ir.Tensor{irtest.Rand(9, 1, 3, 6, 6)}
	}, map[string]int{ir.OpFusedConv: 1}},
	{"conv_leakyrelu", func() (*irtest.Builder, []*ir.Tensor) {
		b := irtest.New("g")
		b.Output(b.Op("LeakyRelu", []string{conv(b, convInput(b), true)}, irtest.Float("alpha", 0.2)))
		return b, []*ir.Tensor{irtest.Rand(9, 1, 3, 6, 6)}
	}, map[string]int{ir.OpFusedConv: 1}},
	{"conv_sigmoid", func() (*irtest.Builder, []*ir.Tensor) {
		b := irtest.New("g")
		b.Output(b.Op("Sigmoid", []string{conv(b, convInput(b), true)}))
		return b, []*ir.Tensor{irtest.Rand(9, 1, 3, 6, 6)}
	}, map[string]int{ir.OpFusedConv: 1}},
	{"conv_hardsigmoid", func() (*irtest.Builder, []*ir.Tensor) {
		b := irtest.New("g")
		b.Output(b.Op("HardSigmoid", []string{conv(b, convInput(b), true)}, irtest.Float("alpha", 0.3)))
		return b, []*ir.Tensor{irtest.Rand(9, 1, 3, 6, 6)}
	}, map[string]int{ir.OpFusedConv: 1}},
	{"conv_x_hardsigmoid_is_hardswish", func() (*irtest.Builder, []*ir.Tensor) {
		b := irtest.New("g")
		c := conv(b, convInput(b), true)
		hs := b.Op("HardSigmoid", []string{c}, irtest.Float("alpha", 1.0/6), irtest.Float("beta", 0.5))
		b.Output(b.Op("Mul", []string{c, hs}))
		return b, []*ir.Tensor{irtest.Rand(9, 1, 3, 6, 6)}
	}, map[string]int{ir.OpFusedConv: 1}},
	{"hardsigmoid_other_alpha_stays", func() (*irtest.Builder, []*ir.Tensor) {
		b := irtest.New("g")
		x := b.Input("x", ir.Float32, 8)
		hs := b.Op("HardSigmoid", []string{x}, irtest.Float("alpha", 0.2), irtest.Float("beta", 0.5))
		b.Output(b.Op("Mul", []string{x, hs}))
		return b, []*ir.Tensor{irtest.Rand(9, 8)}
	}, map[string]int{"HardSigmoid": 1, "Mul": 1}},
	{"conv_relu_two_readers_stays", func() (*irtest.Builder, []*ir.Tensor) {
		b := irtest.New("g")
		c := conv(b, convInput(b), true)
		b.Output(b.Op("Relu", []string{c}), b.Op("Neg", []string{c}))
		return b, []*ir.Tensor{irtest.Rand(9, 1, 3, 6, 6)}
	}, map[string]int{"Conv": 1, "Relu": 1, "Neg": 1}},
	{"conv_mul_add", func() (*irtest.Builder, []*ir.Tensor) {
		b := irtest.New("g")
		c := conv(b, convInput(b), true)
		m := b.Op("Mul", []string{b.Init("s", irtest.F32([]int{1}, 0.75)), c}) // PP-LCNet's learned scale
		b.Output(b.Op("Add", []string{m, b.Init("k", irtest.F32([]int{1}, -0.25))}))
		return b, []*ir.Tensor{irtest.Rand(9, 1, 3, 6, 6)}
	}, map[string]int{"Conv": 1}},
	{"conv_nobias_mul_per_channel", func() (*irtest.Builder, []*ir.Tensor) {
		b := irtest.New("g")
		c := conv(b, convInput(b), false)
		b.Output(b.Op("Mul", []string{c, b.Init("s", irtest.Rand(7, 1, 4, 1, 1))}))
		return b, []*ir.Tensor{irtest.Rand(9, 1, 3, 6, 6)}
	}, map[string]int{"Conv": 1}},
	{"conv_mul_spatial_stays", func() (*irtest.Builder, []*ir.Tensor) {
		b := irtest.New("g")
		c := conv(b, convInput(b), true)
		b.Output(b.Op("Mul", []string{c, b.Init("s", irtest.Rand(7, 6, 1))})) // varies along H
		return b, []*ir.Tensor{irtest.Rand(9, 1, 3, 6, 6)}
	}, map[string]int{"Conv": 1, "Mul": 1}},
	{"conv_hardswish_clip_div", func() (*irtest.Builder, []*ir.Tensor) {
		b := irtest.New("g")
		c := conv(b, convInput(b), true)
		a := b.Op("Add", []string{c, b.Init("three", ir.Scalar(3))})
		cl := b.Op("Clip", []string{a, b.Init("lo", ir.Scalar(0)), b.Init("hi", ir.Scalar(6))})
		m := b.Op("Mul", []string{c, cl})
		b.Output(b.Op("Div", []string{m, b.Init("six", ir.Scalar(6))}))
		return b, []*ir.Tensor{irtest.RandPos(9, -8, 8, 1, 3, 6, 6)}
	}, map[string]int{ir.OpFusedConv: 1}},
	{"hardswish_clip_sixth_first", func() (*irtest.Builder, []*ir.Tensor) {
		b := irtest.New("g")
		x := b.Input("x", ir.Float32, 64)
		a := b.Op("Add", []string{b.Init("three", irtest.F32([]int{1}, 3)), x})
		cl := b.Op("Clip", []string{a, b.Init("lo", ir.Scalar(0)), b.Init("hi", ir.Scalar(6))})
		d := b.Op("Mul", []string{cl, b.Init("sixth", ir.Scalar(1.0/6))})
		b.Output(b.Op("Mul", []string{d, x}))
		return b, []*ir.Tensor{irtest.RandPos(9, -8, 8, 64)}
	}, map[string]int{"HardSwish": 1}},
	{"hardswish_clip_relu6_bound_stays", func() (*irtest.Builder, []*ir.Tensor) {
		b := irtest.New("g")
		x := b.Input("x", ir.Float32, 64)
		a := b.Op("Add", []string{x, b.Init("three", ir.Scalar(3))})
		cl := b.Op("Clip", []string{a, b.Init("lo", ir.Scalar(0)), b.Init("hi", ir.Scalar(5))}) // not 6
		m := b.Op("Mul", []string{x, cl})
		b.Output(b.Op("Div", []string{m, b.Init("six", ir.Scalar(6))}))
		return b, []*ir.Tensor{irtest.RandPos(9, -8, 8, 64)}
	}, map[string]int{"Add": 1, "Clip": 1, "Mul": 1, "Div": 1}},
	{"hardswish_clip_mul_other_stays", func() (*irtest.Builder, []*ir.Tensor) {
		b := irtest.New("g")
		x := b.Input("x", ir.Float32, 64)
		y := b.Input("y", ir.Float32, 64)
		a := b.Op("Add", []string{x, b.Init("three", ir.Scalar(3))})
		cl := b.Op("Clip", []string{a, b.Init("lo", ir.Scalar(0)), b.Init("hi", ir.Scalar(6))})
		m := b.Op("Mul", []string{y, cl}) // multiplies another value: not hard-swish
		b.Output(b.Op("Div", []string{m, b.Init("six", ir.Scalar(6))}))
		return b, []*ir.Tensor{irtest.RandPos(9, -8, 8, 64), irtest.Rand(8, 64)}
	}, map[string]int{"Add": 1, "Clip": 1, "Mul": 1, "Div": 1}},
	{"conv_sum_relu", func() (*irtest.Builder, []*ir.Tensor) {
		b := irtest.New("g")
		x := convInput(b)
		r := b.Input("r", ir.Float32, 1, 4, 6, 6)
		c := conv(b, x, true)
		b.Output(b.Op("Relu", []string{b.Op("Add", []string{r, c})}))
		return b, []*ir.Tensor{irtest.Rand(9, 1, 3, 6, 6), irtest.Rand(8, 1, 4, 6, 6)}
	}, map[string]int{ir.OpFusedConv: 1}},
	{"conv_sum_broadcast", func() (*irtest.Builder, []*ir.Tensor) {
		b := irtest.New("g")
		x := convInput(b)
		r := b.Input("r", ir.Float32, 1, 6)
		c := conv(b, x, false)
		b.Output(b.Op("Add", []string{c, r}))
		return b, []*ir.Tensor{irtest.Rand(9, 1, 3, 6, 6), irtest.Rand(8, 1, 6)}
	}, map[string]int{ir.OpFusedConv: 1}},
	{"conv_sum_widening", func() (*irtest.Builder, []*ir.Tensor) {
		b := irtest.New("g")
		x := convInput(b)
		r := b.Input("r", ir.Float32, 2, 4, 6, 6) // the Add's output has batch 2, the Conv's batch 1
		c := conv(b, x, true)
		b.Output(b.Op("Sigmoid", []string{b.Op("Add", []string{c, r})}))
		return b, []*ir.Tensor{irtest.Rand(9, 1, 3, 6, 6), irtest.Rand(8, 2, 4, 6, 6)}
	}, map[string]int{ir.OpFusedConv: 1}},
	{"conv_sum_two_readers_stays", func() (*irtest.Builder, []*ir.Tensor) {
		b := irtest.New("g")
		x := convInput(b)
		r := b.Input("r", ir.Float32, 1, 4, 6, 6)
		c := conv(b, x, true)
		b.Output(b.Op("Add", []string{c, r}), c)
		return b, []*ir.Tensor{irtest.Rand(9, 1, 3, 6, 6), irtest.Rand(8, 1, 4, 6, 6)}
	}, map[string]int{"Conv": 1, "Add": 1}},
	{"affine_pointwise_conv", func() (*irtest.Builder, []*ir.Tensor) {
		b := irtest.New("g")
		x := b.Input("x", ir.Float32, 1, 6, 5, 5)
		m := b.Op("Mul", []string{b.Init("a", irtest.F32([]int{1}, 0.6)), x})
		a := b.Op("Add", []string{m, b.Init("k", ir.Scalar(-0.4))})
		w := b.Init("w", irtest.Rand(1, 4, 3, 1, 1))
		b.Output(b.Op("Conv", []string{a, w, b.Init("b", irtest.Rand(2, 4))}, irtest.Int("group", 2)))
		return b, []*ir.Tensor{irtest.Rand(9, 1, 6, 5, 5)}
	}, map[string]int{"Conv": 1}},
	{"affine_padded_conv_shift_stays", func() (*irtest.Builder, []*ir.Tensor) {
		b := irtest.New("g")
		x := b.Input("x", ir.Float32, 1, 3, 6, 6)
		a := b.Op("Add", []string{x, b.Init("k", ir.Scalar(0.5))})
		b.Output(conv(b, a, true)) // 3×3 with padding: the border would see the shift
		return b, []*ir.Tensor{irtest.Rand(9, 1, 3, 6, 6)}
	}, map[string]int{"Conv": 1, "Add": 1}},
	{"residual_scale", func() (*irtest.Builder, []*ir.Tensor) {
		b := irtest.New("g")
		x := b.Input("x", ir.Float32, 1, 4, 5, 5)
		s := b.Op("HardSigmoid", []string{b.Op("GlobalAveragePool", []string{x})})
		b.Output(b.Op("Add", []string{x, b.Op("Mul", []string{s, x})}))
		return b, []*ir.Tensor{irtest.Rand(9, 1, 4, 5, 5)}
	}, map[string]int{"GlobalAveragePool": 1, "HardSigmoid": 1, "Add": 1, "Mul": 1}},
	{"residual_scale_widening_stays", func() (*irtest.Builder, []*ir.Tensor) {
		b := irtest.New("g")
		x := b.Input("x", ir.Float32, 1, 4, 1, 1)
		s := b.Input("s", ir.Float32, 1, 4, 5, 5) // s is the larger operand: +1 on it would save nothing
		b.Output(b.Op("Add", []string{x, b.Op("Mul", []string{x, s})}))
		return b, []*ir.Tensor{irtest.Rand(9, 1, 4, 1, 1), irtest.Rand(8, 1, 4, 5, 5)}
	}, map[string]int{"Add": 1, "Mul": 1}},
	{"scale_shift_padded_conv", func() (*irtest.Builder, []*ir.Tensor) {
		b := irtest.New("g")
		x := b.Input("x", ir.Float32, 1, 3, 6, 6)
		m := b.Op("Mul", []string{x, b.Init("a", irtest.F32([]int{1}, -1.7))})
		a := b.Op("Add", []string{b.Init("k", irtest.F32([]int{1}, 0.3)), m})
		b.Output(conv(b, a, true)) // 3×3, padded: the scale folds into W, the shift stays as one Add
		return b, []*ir.Tensor{irtest.Rand(9, 1, 3, 6, 6)}
	}, map[string]int{"Add": 1, "Conv": 1}},
	{"scale_shift_zero_scale_stays", func() (*irtest.Builder, []*ir.Tensor) {
		b := irtest.New("g")
		x := b.Input("x", ir.Float32, 1, 3, 6, 6)
		m := b.Op("Mul", []string{x, b.Init("a", ir.Scalar(0))})
		a := b.Op("Add", []string{m, b.Init("k", ir.Scalar(0.3))})
		b.Output(conv(b, a, true))
		return b, []*ir.Tensor{irtest.Rand(9, 1, 3, 6, 6)}
	}, map[string]int{"Add": 1, "Conv": 1, "Mul": 1}},
	{"matmul_add_relu", func() (*irtest.Builder, []*ir.Tensor) {
		b := irtest.New("g")
		x := b.Input("x", ir.Float32, 3, 5)
		mm := b.Op("MatMul", []string{x, b.Init("w", irtest.Rand(1, 5, 4))})
		a := b.Op("Add", []string{mm, b.Init("c", irtest.Rand(2, 4))})
		b.Output(b.Op("Relu", []string{a}))
		return b, []*ir.Tensor{irtest.Rand(9, 3, 5)}
	}, map[string]int{ir.OpFusedGemm: 1}},
	{"matmul_3d_add_stays", func() (*irtest.Builder, []*ir.Tensor) {
		b := irtest.New("g")
		x := b.Input("x", ir.Float32, 2, 3, 5)
		mm := b.Op("MatMul", []string{x, b.Init("w", irtest.Rand(1, 5, 4))})
		b.Output(b.Op("Add", []string{mm, b.Init("c", irtest.Rand(2, 4))}))
		return b, []*ir.Tensor{irtest.Rand(9, 2, 3, 5)}
	}, map[string]int{"MatMul": 1, "Add": 1}},
	{"layernorm_affine", func() (*irtest.Builder, []*ir.Tensor) {
		b := irtest.New("g")
		x := b.Input("x", ir.Float32, 2, 3, 8)
		b.Output(layerNorm(b, x, -1, false, true))
		return b, []*ir.Tensor{irtest.RandPos(9, -3, 5, 2, 3, 8)}
	}, map[string]int{"LayerNormalization": 1}},
	{"layernorm_mul_square_no_affine", func() (*irtest.Builder, []*ir.Tensor) {
		b := irtest.New("g")
		x := b.Input("x", ir.Float32, 4, 16)
		b.Output(layerNorm(b, x, 1, true, false))
		return b, []*ir.Tensor{irtest.Rand(9, 4, 16)}
	}, map[string]int{"LayerNormalization": 1}},
	{"layernorm_middle_axis_stays", func() (*irtest.Builder, []*ir.Tensor) {
		b := irtest.New("g")
		x := b.Input("x", ir.Float32, 2, 3, 8)
		b.Output(layerNorm(b, x, 1, false, false))
		return b, []*ir.Tensor{irtest.Rand(9, 2, 3, 8)}
	}, map[string]int{"ReduceMean": 2, "Sub": 1, "Pow": 1, "Add": 1, "Sqrt": 1, "Div": 1}},
	{"layernorm_deviation_read_elsewhere_stays", func() (*irtest.Builder, []*ir.Tensor) {
		b := irtest.New("g")
		x := b.Input("x", ir.Float32, 3, 8)
		mean := b.Op("ReduceMean", []string{x}, irtest.Ints("axes", -1))
		d := b.Op("Sub", []string{x, mean})
		v := b.Op("ReduceMean", []string{b.Op("Pow", []string{d, b.Init("two", ir.Scalar(2))})}, irtest.Ints("axes", -1))
		sd := b.Op("Sqrt", []string{b.Op("Add", []string{v, b.Init("eps", ir.Scalar(1e-5))})})
		b.Output(b.Op("Div", []string{d, sd}), b.Op("Relu", []string{d}))
		return b, []*ir.Tensor{irtest.Rand(9, 3, 8)}
	}, map[string]int{"ReduceMean": 2, "Sub": 1, "Pow": 1, "Add": 1, "Sqrt": 1, "Div": 1, "Relu": 1}},
	{"gemm_tanh", func() (*irtest.Builder, []*ir.Tensor) {
		b := irtest.New("g")
		x := b.Input("x", ir.Float32, 3, 5)
		g := b.Op("Gemm", []string{x, b.Init("w", irtest.Rand(1, 4, 5)), b.Init("c", irtest.Rand(2, 4))}, irtest.Int("transB", 1))
		b.Output(b.Op("Tanh", []string{g}))
		return b, []*ir.Tensor{irtest.Rand(9, 3, 5)}
	}, map[string]int{ir.OpFusedGemm: 1}},
}

// layerNorm spells layer normalization over axis out in elementary ops, as exporters before opset 17 do: the
// square as Pow(d, 2) or Mul(d, d), with or without the affine tail Mul(γ) → Add(β).
func layerNorm(b *irtest.Builder, x string, axis int64, mulSquare, affine bool) string {
	mean := b.Op("ReduceMean", []string{x}, irtest.Ints("axes", axis))
	d := b.Op("Sub", []string{x, mean})
	var sq string
	if mulSquare {
		sq = b.Op("Mul", []string{d, d})
	} else {
		sq = b.Op("Pow", []string{d, b.Init("two", ir.Scalar(2))})
	}
	v := b.Op("ReduceMean", []string{sq}, irtest.Ints("axes", axis))
	y := b.Op("Div", []string{d, b.Op("Sqrt", []string{b.Op("Add", []string{v, b.Init("eps", ir.Scalar(1e-5))})})})
	if affine {
		y = b.Op("Mul", []string{y, b.Init("gamma", irtest.Rand(3, 8))})
		y = b.Op("Add", []string{b.Init("beta", irtest.Rand(4, 8)), y})
	}
	return y
}

// TestPasses checks each case's op counts after optimisation and that the optimised plan computes what the
// unoptimised one does (runtime.Compile with and without NoOptimize).
func TestPasses(t *testing.T) {
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b, in := tc.build()
			m := b.Model(17)
			g := m.Graph.Clone()
			if err := ir.InferGraph(g, map[string]int64{"": 17}); err != nil {
				t.Fatal(err)
			}
			if _, err := opt.Run(g, map[string]int64{"": 17}, opt.Options{Level: opt.LevelAll, Validate: true, Eval: eval}); err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tc.want, irtest.OpCount(g)); d != "" {
				t.Errorf("op counts (-want +got):\n%s", d)
			}
			ref, err := runtime.Compile(m, runtime.Options{NoOptimize: true, Threads: 1})
			if err != nil {
				t.Fatal(err)
			}
			p, err := runtime.Compile(m, runtime.Options{Threads: 1})
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(irtest.OpCount(g), irtest.OpCount(p.Graph)); d != "" {
				t.Errorf("runtime's optimised graph differs from opt.Run's (-opt +runtime):\n%s", d)
			}
			want, err := ref.RunOrdered(in)
			if err != nil {
				t.Fatal(err)
			}
			got, err := p.RunOrdered(in)
			if err != nil {
				t.Fatal(err)
			}
			for i := range want {
				same(t, fmt.Sprintf("output %d", i), got[i], want[i])
			}
		})
	}
}

// eval folds through a throwaway one-node model, the way the runtime's own evaluator builds kernels.
func eval(n *ir.Node, in []*ir.Tensor) ([]*ir.Tensor, error) {
	b := irtest.New("fold")
	var names []string
	for i, t := range in {
		names = append(names, b.Init(fmt.Sprintf("in%d", i), t))
	}
	nn := n.Clone()
	nn.Inputs = names
	b.Node(nn)
	b.Output(nn.Outputs...)
	p, err := runtime.Compile(b.Model(17), runtime.Options{NoOptimize: true, Threads: 1})
	if err != nil {
		return nil, err
	}
	return p.RunOrdered(nil)
}

func same(t *testing.T, what string, got, want *ir.Tensor) {
	t.Helper()
	// Folding BN into weights reassociates float32 arithmetic: a few ulps, not more.
	sameTol(t, what, got, want, 1e-5)
}

func sameTol(t *testing.T, what string, got, want *ir.Tensor, tol float64) {
	t.Helper()
	if got.DType != want.DType || fmt.Sprint(got.Shape) != fmt.Sprint(want.Shape) {
		t.Fatalf("%s: got %s, want %s", what, got, want)
	}
	g, w := got.Float64s(), want.Float64s()
	for i := range w {
		if math.Abs(g[i]-w[i]) > tol*(1+math.Abs(w[i])) {
			t.Fatalf("%s[%d] = %v, want %v", what, i, g[i], w[i])
		}
	}
}

// TestDisable checks that a disabled pass leaves its pattern alone.
func TestDisable(t *testing.T) {
	b := irtest.New("g")
	b.Output(b.Op("Relu", []string{conv(b, convInput(b), true)}))
	g := b.G.Clone()
	if _, err := opt.Run(g, map[string]int64{"": 17}, opt.Options{Level: opt.LevelAll, Disable: []string{"fuse_conv_act"}}); err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(map[string]int{"Conv": 1, "Relu": 1}, irtest.OpCount(g)); d != "" {
		t.Error(d)
	}
}
