package opt

// Level selects how far Run goes, as onnxruntime's TransformerLevel does.
type Level int

// Levels. Each includes the ones before it.
const (
	// LevelBasic: eliminations and constant folding; the graph keeps only ONNX ops.
	LevelBasic Level = 1
	// LevelExtended adds fusions into hone-domain ops (FusedConv, FusedGemm) and ONNX-level fusions.
	LevelExtended Level = 2
	// LevelAll is everything hone has.
	LevelAll = LevelExtended
)

// Passes is the one ordered list of passes per level. Order matters: folding first so shapes and constants are
// known, BatchNormalization, scale and bias folds before activation fusion (FusedConv must be the last op of its
// chain; scale before bias so Conv → Mul → Add folds completely), hard-swish recognition before the Conv fusions
// that absorb it, the residual-sum fusion before plain activation fusion (it takes the activation after the Add),
// and dead-node elimination last to sweep up what the fusions orphaned.
func Passes(level Level) []Pass {
	ps := []Pass{
		explicitBroadcast,
		foldConstantNode,
		eliminateIdentity,
		foldQDQCast, // before fold_qdq_scale, whose Mul may read a Cast's result
		foldQDQScale,
	}
	if level >= LevelExtended { // QDQ fusions see the DequantizeLinear nodes before fold_shape folds small ones
		ps = append(ps, fuseQDQConv, fuseQDQGemm, fuseQDQMatMul, fuseQDQMaxPool, fuseQDQLookup, fuseQDQBinary, fuseQDQGAP,
			fuseQDQConcat, fuseQDQResize, fuseQDQConvFloat, fuseQDQGemmFloat, fuseQDQMatMulFloat, fuseQDQConvTranspose,
			fuseQDQLookupFloat, fuseMatMulIntegerFloat, fuseConvIntegerFloat, fuseActDynamicQuantize)
	}
	ps = append(ps, foldShape)
	if level >= LevelExtended {
		ps = append(ps,
			fuseMatMulAdd,
			fuseMatMulTranspose,
			fuseLayerNorm,
			fuseGelu,
			fuseGeluTanh,
			fuseConvBN,
			fuseConvMul,
			swapScaleShift,
			fuseAffineConv,
			fuseConvAdd,
			fuseHardSwish,
			fuseHardSwishClip,
			fuseResidualScale,
			fuseConvSum,
			fuseConvAct,
			fuseConvTransposeAct,
			fuseGemmAct,
		)
	}
	return append(ps, eliminateDead)
}

// Names lists every pass name known at a level, in order (for --disable flags and their help text).
func Names(level Level) []string {
	var out []string
	for _, p := range Passes(level) {
		out = append(out, p.Name)
	}
	return out
}
