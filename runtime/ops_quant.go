package runtime

import "github.com/hone-ml/hone/ir"

// quantOps is this file's op table (see registry.go): ONNX's integer and quantization ops. QuantizeLinear and
// DequantizeLinear follow opsets 10–21 (per-tensor, per-axis and blocked scales; int8, uint8, int16, uint16,
// int4, uint4 and int32 where the op allows it); the integer GEMM/convolution ops run on kernels.QGemm. QGemm,
// QLinearAdd, QLinearMul, QLinearGlobalAveragePool and QLinearConcat are ONNX Runtime's contrib ops, which
// hone's QDQ fusions emit.
var quantOps = map[string]Builder{
	"QuantizeLinear":                              qBuildQuantize,
	"DequantizeLinear":                            qBuildDequantize,
	"DynamicQuantizeLinear":                       qBuildDynamicQuantize,
	"MatMulInteger":                               qBuildMatMulInteger,
	"QLinearMatMul":                               qBuildQLinearMatMul,
	"ConvInteger":                                 qBuildConvInteger,
	"QLinearConv":                                 qBuildQLinearConv,
	"com.microsoft:QGemm":                         qBuildQGemm,
	"com.microsoft:QLinearAdd":                    qBuildQLinearAdd,
	"com.microsoft:QLinearMul":                    qBuildQLinearMul,
	"com.microsoft:QLinearGlobalAveragePool":      qBuildGlobalAvgPool,
	"com.microsoft:QLinearConcat":                 qBuildConcat,
	"com.microsoft:MatMulIntegerToFloat":          qBuildMatMulToFloat,
	ir.DomainHone + ":" + ir.OpQLookup:            qBuildLookup,
	ir.DomainHone + ":" + ir.OpQConvFloat:         qBuildConvFloat,
	ir.DomainHone + ":" + ir.OpActDynamicQuantize: qBuildActDynamicQuantize,
	ir.DomainHone + ":" + ir.OpQConvTranspose:     qBuildConvTranspose,
}
