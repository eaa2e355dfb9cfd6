package kernels

// ActKind names an activation that can be fused into a GEMM or convolution epilogue.
type ActKind uint8

// Fusable activations, with ONNX semantics.
const (
	ActNone        ActKind = iota
	ActRelu                // max(x, 0)
	ActClip                // min(max(x, Alpha), Beta)
	ActLeakyRelu           // x if x >= 0 else Alpha·x
	ActSigmoid             // 1/(1+e^-x)
	ActTanh                // tanh(x)
	ActHardSigmoid         // max(0, min(1, Alpha·x + Beta))
	ActHardSwish           // x·max(0, min(1, x/6 + 1/2))
)

// Activation is a fusable activation and its parameters.
type Activation struct {
	Kind        ActKind
	Alpha, Beta float32
}

// Apply applies the activation to x in place. NaN inputs stay NaN.
func (a Activation) Apply(x []float32) {
	switch a.Kind {
	case ActRelu:
		unary(opRelu, x, x, 0, 0)
	case ActClip:
		unary(opClip, x, x, a.Alpha, a.Beta)
	case ActLeakyRelu:
		unary(opLeakyRelu, x, x, a.Alpha, 0)
	case ActSigmoid:
		unary(opSigmoid, x, x, 0, 0)
	case ActTanh:
		unary(opTanh, x, x, 0, 0)
	case ActHardSigmoid:
		unary(opHardSigmoid, x, x, a.Alpha, a.Beta)
	case ActHardSwish:
		// x/6 is computed as x·(1/6): within one ulp of the ONNX formula.
		unary(opHardSwish, x, x, 1.0/6, 0.5)
	}
}

// Accuracy of the vector math (every SIMD level and the Go twin), checked by TestMathAccuracy against math.* in
// float64 on every 1009th float32 over the normal range: relative error ≤ 2.4e-7 for Exp (measured 9.7e-8, about
// 1 ulp) and ≤ 4e-7 for Sigmoid, Tanh and Erf (measured 2.0e-7, 1.7e-7, 2.9e-7; Erf's largest, 3.4e-7 on a finer
// grid, lies where erf is within 1e-4 of 1, about 6 ulp); subnormal results are within 2 units of the subnormal
// grid. NaN stays NaN; Exp(+Inf) = +Inf, Exp(-Inf) = 0, Sigmoid(±Inf) = 1 or 0, Tanh(±Inf) = ±1, Erf(±Inf) = ±1.
// Methods: Cody-Waite reduction with Taylor polynomials (Exp, and expm1 inside Tanh so results near 0 do not
// cancel); Erf is one fitted rational x·P(x²)/Q(x²), 12 multiply-adds and a division (see math_generic.go): it
// replaced a Taylor series and an erfc·exp fit that took 2.6× its time (Gelu is most of BERT's non-GEMM time).

// Sigmoid computes dst[i] = 1/(1+exp(-x[i])). dst and x may alias.
func Sigmoid(dst, x []float32) { unary(opSigmoid, dst, x, 0, 0) }

// Tanh computes dst[i] = tanh(x[i]). dst and x may alias.
func Tanh(dst, x []float32) { unary(opTanh, dst, x, 0, 0) }

// Exp computes dst[i] = exp(x[i]). dst and x may alias.
func Exp(dst, x []float32) { unary(opExp, dst, x, 0, 0) }

// Erf computes dst[i] = erf(x[i]). dst and x may alias.
func Erf(dst, x []float32) { unary(opErf, dst, x, 0, 0) }
