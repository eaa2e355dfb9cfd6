package bench

import (
	"github.com/hone-ml/hone/ir"
)

// NodeFLOPs estimates the floating-point operations of one executed node from its actual input and output
// shapes: a multiply-add counts 2, an integer one (QLinearConv, MatMulIntegerToFloat, …) as well. Data movement ops (Reshape, Transpose, Gather, …) count 0; other ops count one
// operation per output element.
func NodeFLOPs(n *ir.Node, in, out []*ir.Tensor) int64 {
	outLen := func(i int) int64 {
		if i < len(out) && out[i] != nil {
			return int64(out[i].Len())
		}
		return 0
	}
	switch n.OpType {
	case "Conv", ir.OpFusedConv, ir.OpQConvFloat, "ConvInteger", "QLinearConv":
		w := 1 // the weights' input (integer multiply-adds count as two operations too)
		if n.OpType == "QLinearConv" {
			w = 3
		}
		if len(in) <= w || in[w] == nil || len(in[w].Shape) < 2 {
			return 0
		}
		// each output element is a dot product over C/group × kernel elements
		per := int64(1)
		for _, d := range in[w].Shape[1:] {
			per *= int64(d)
		}
		return 2 * per * outLen(0)
	case "ConvTranspose", ir.OpFusedConvTranspose, ir.OpQConvTranspose:
		if len(in) < 2 || in[0] == nil || in[1] == nil || len(in[1].Shape) < 2 {
			return 0
		}
		per := int64(1)
		for _, d := range in[1].Shape[1:] {
			per *= int64(d)
		}
		return 2 * per * int64(in[0].Len())
	case "MatMul", "Gemm", ir.OpFusedGemm, "MatMulInteger", "QLinearMatMul", "MatMulIntegerToFloat", "QGemm":
		if len(in) < 2 || in[0] == nil || len(in[0].Shape) == 0 {
			return 0
		}
		k := int64(in[0].Shape[len(in[0].Shape)-1])
		if (n.OpType == "Gemm" || n.OpType == "QGemm") && n.AttrInt("transA", 0) == 1 && len(in[0].Shape) == 2 {
			k = int64(in[0].Shape[0])
		}
		return 2 * k * outLen(0)
	case "Reshape", "Transpose", "Gather", "Shape", "Squeeze", "Unsqueeze", "Flatten", "Concat", "Slice", "Split",
		"Expand", "Identity", "Constant", "ConstantOfShape", "Cast", "Tile", "Pad", "Dropout":
		return 0
	case "MaxPool", "AveragePool":
		k := int64(1)
		for _, d := range n.AttrInts("kernel_shape", nil) {
			k *= d
		}
		return k * outLen(0)
	case "GlobalAveragePool", "GlobalMaxPool", "ReduceMean", "ReduceSum", "ReduceMax", "ReduceMin":
		if len(in) > 0 && in[0] != nil {
			return int64(in[0].Len())
		}
	case "Softmax", "LayerNormalization", "BatchNormalization", "InstanceNormalization":
		return 5 * outLen(0)
	}
	return outLen(0)
}
