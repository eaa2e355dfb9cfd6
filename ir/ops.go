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
)
