package runtime

// extraOps is this file's op table (see registry.go): recurrent nets, losses, detection and signal ops. The
// builders live in extra_*.go.
var extraOps = map[string]Builder{
	"RNN":                               xBuildRNN(xKindRNN),
	"GRU":                               xBuildRNN(xKindGRU),
	"LSTM":                              xBuildRNN(xKindLSTM),
	"NegativeLogLikelihoodLoss":         xBuildLoss(false),
	"SoftmaxCrossEntropyLoss":           xBuildLoss(true),
	"NonMaxSuppression":                 xBuildNMS,
	"RoiAlign":                          xBuildRoiAlign,
	"GridSample":                        xBuildGridSample,
	"MaxUnpool":                         xBuildMaxUnpool,
	"Shrink":                            xBuildShrink,
	"ReverseSequence":                   xBuildReverseSequence,
	"Det":                               xBuildDet,
	"HannWindow":                        xBuildWindow(xHann),
	"HammingWindow":                     xBuildWindow(xHamming),
	"BlackmanWindow":                    xBuildWindow(xBlackman),
	"DFT":                               xBuildDFT,
	"STFT":                              xBuildSTFT,
	"StringNormalizer":                  xBuildStringNormalizer,
	"MelWeightMatrix":                   xBuildMelWeightMatrix,
	"ai.onnx.preview.training:Adagrad":  xBuildOptimizer(xAdagrad),
	"ai.onnx.preview.training:Adam":     xBuildOptimizer(xAdam),
	"ai.onnx.preview.training:Momentum": xBuildOptimizer(xMomentum),
}
