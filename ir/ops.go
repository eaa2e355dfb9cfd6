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
	// OpFusedConvTranspose is ConvTranspose with a fused activation (opt's fuse_convtranspose_act).
	OpFusedConvTranspose = "FusedConvTranspose"
	// OpQLookup maps each byte of an 8-bit tensor (input 0) through a 256-entry table of the same width (input 1,
	// indexed by the raw byte): y[i] = table[byte(x[i])], y of the table's dtype. opt's fuse_qdq_lookup emits it for
	// DQ → elementwise float ops → Q regions of one quantized input. A float32 table of shape [C, 256] holds one
	// table per channel (axis 1 of x): fuse_qdq_lookup_float's DQ → per-channel float ops regions.
	OpQLookup = "QLookup"
	// OpQConvFloat is a convolution of quantized data with a float32 result: inputs x, w, B (int32 or absent),
	// x_scale, x_zero_point, w_scale, w_zero_point (QLinearConv's, reordered so x, w and B sit where Conv has them),
	// and optionally a float32 bias F of one value per output channel; y = float32(Σ (x − zx)(w − zw) + B)·
	// (x_scale·w_scale) + F, each operation rounded to float32 in turn. opt's fuse_qdq_conv_float emits it for DQ →
	// Conv whose output stays float, and fuse_conv_integer_float for ConvInteger → Cast → Mul [→ Add(F)].
	OpQConvFloat = "QConvFloat"
	// OpQConvTranspose is an ungrouped 2-D transposed convolution of quantized data whose kernel patches tile the
	// output (kernel = stride, no padding): inputs x, w, B (int32 or absent), x_scale, x_zero_point, w_scale,
	// w_zero_point (per output channel: axis 1 of w), then y_scale and y_zero_point for an 8-bit output, which
	// without them is float32, float32(Σ (x − zx)(w − zw) + B)·(x_scale·w_scale). opt's fuse_qdq_convtranspose
	// emits it.
	OpQConvTranspose = "QConvTranspose"
	// OpActDynamicQuantize is DynamicQuantizeLinear of an activation of its input (attributes "activation", Relu
	// or Clip, and "activation_params", Clip's min and max): the same three outputs, computed without writing the
	// activation's result. opt's fuse_act_dynamic_quantize emits it for the Relu or Clip between two dynamically
	// quantized convolutions.
	OpActDynamicQuantize = "ActDynamicQuantizeLinear"
	// OpGeluTanh is GELU's tanh approximation as PyTorch's tanh GELU and GPT-2's "new GELU" export it, with their
	// operations in their order: y = (x·(tanh(c2·(x + c1·(x·(x·x)))) + 1))·0.5, attribute "coefficients" [c1, c2]
	// (0.044715 and √(2/π) as the graph holds them). opt's fuse_gelu_tanh emits it.
	OpGeluTanh = "GeluTanh"
	// OpMatMulPerm is MatMul with its operands and result transposed in place of Transpose nodes: attributes
	// perm_a, perm_b and perm_y (ints, identity when absent), y = Transpose(MatMul(Transpose(A, perm_a),
	// Transpose(B, perm_b)), perm_y). A and B have the same rank ≥ 2; their batch dims broadcast as MatMul's.
	// opt's fuse_matmul_transpose emits it for attention's head transposes, which the runtime then reads and
	// writes with strides instead of copying.
	OpMatMulPerm = "MatMulPerm"
)
