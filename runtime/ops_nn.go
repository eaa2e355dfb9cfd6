package runtime

import "github.com/hone-ml/hone/ir"

// nnOps is this file's op table (see registry.go): convolution, pooling, normalisation, softmax, GEMM/MatMul,
// resizing and dropout. The builders live in nn_*.go.
var nnOps = map[string]Builder{
	"Conv":                                nnBuildConv,
	ir.DomainHone + ":" + ir.OpFusedConv:  nnBuildConv,
	"MaxPool":                             nnBuildPool(nnPoolMax),
	"AveragePool":                         nnBuildPool(nnPoolAvg),
	"LpPool":                              nnBuildPool(nnPoolLp),
	"GlobalMaxPool":                       nnBuildGlobalPool(nnPoolMax),
	"GlobalAveragePool":                   nnBuildGlobalPool(nnPoolAvg),
	"GlobalLpPool":                        nnBuildGlobalPool(nnPoolLp),
	"BatchNormalization":                  nnBuildBatchNorm,
	"InstanceNormalization":               nnBuildInstanceNorm,
	"LayerNormalization":                  nnBuildLayerNorm,
	"GroupNormalization":                  nnBuildGroupNorm,
	"LRN":                                 nnBuildLRN,
	"MeanVarianceNormalization":           nnBuildMVN,
	"Softmax":                             nnBuildSoftmax(nnSoftmax),
	"LogSoftmax":                          nnBuildSoftmax(nnLogSoftmax),
	"Hardmax":                             nnBuildSoftmax(nnHardmax),
	"Gemm":                                nnBuildGemm,
	ir.DomainHone + ":" + ir.OpFusedGemm:  nnBuildGemm,
	ir.DomainHone + ":" + ir.OpMatMulPerm: nnBuildMatMulPerm,
	ir.DomainHone + ":" + ir.OpGeluTanh:   tBuildGeluTanh,
	"MatMul":                              nnBuildMatMul,
	"ConvTranspose":                       nnBuildConvTranspose,
	ir.DomainHone + ":" + ir.OpFusedConvTranspose: nnBuildConvTranspose,
	"Resize":   nnBuildResize,
	"Upsample": nnBuildResize,
	"Dropout":  nnBuildDropout,
}
