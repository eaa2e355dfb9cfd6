package quant

import (
	"fmt"

	"github.com/hone-ml/hone/ir"
)

// weightsOnly stores the constant weight of n, a layer the accuracy guard keeps float, as int8 behind a
// DequantizeLinear (per-channel symmetric and rounded as quantize rounds it) and leaves its activations and bias
// float. The guard's sensitive layers lose their accuracy to activation quantization far more than to weight
// rounding (PP-OCRv4 rec: int8 activations alone change 4.2 % of its steps, int8 weights alone 2.0 %), so keeping
// their weights int8 holds the file near the fully quantized size where keeping them wholly float would not
// (rec: 0.86× the float file with 28 layers float). The layer runs in float: hone folds the DequantizeLinear into
// a float weight when it compiles the plan; ONNX Runtime dequantizes it each run.
func (e *qdqEmitter) weightsOnly(n *ir.Node) error {
	switch n.OpType {
	case "MatMul":
		return e.quantizeMatMulWeight(n)
	case "Conv", "Gemm":
		w := constTensor(e.g, e.prod, n.Input(1))
		if w == nil || w.DType != ir.Float32 || w.Rank() < 2 {
			return nil
		}
		axis := 0
		if n.OpType == "Gemm" && n.AttrInt("transB", 0) == 0 {
			axis = 1
		}
		wq, ws, err := e.quantizeWeight(n, w, axis, nil)
		if err != nil {
			return fmt.Errorf("quant: %s: %w", n, err)
		}
		n.Inputs[1], _ = e.dequant("w", wq, ws, axis)
	}
	return nil
}
