package ir

// Domains hone knows. Fused nodes created by hone's own passes live in DomainHone.
const (
	DomainONNX      = ""
	DomainMicrosoft = "com.microsoft"
	DomainHone      = "hone"
)

// Ops that hone's passes create (domain DomainHone). They carry the attributes of their base op plus
// "activation" (string: Relu, Clip, LeakyRelu, Sigmoid, Tanh, HardSigmoid, HardSwish) and
// "activation_params" (floats: Clip min,max; LeakyRelu alpha; HardSigmoid alpha,beta).
const (
	OpFusedConv = "FusedConv"
	OpFusedGemm = "FusedGemm"
	// OpQLookup maps each byte of an 8-bit tensor (input 0) through a 256-entry table of the same width (input 1,
	// indexed by the raw byte): y[i] = table[byte(x[i])], y of the table's dtype. opt's fuse_qdq_lookup emits it for
	// DQ → elementwise float ops → Q regions of one quantized input.
	OpQLookup = "QLookup"
)
