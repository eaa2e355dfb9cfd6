package kernels

import "math"

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

// Apply applies the activation to x in place.
func (a Activation) Apply(x []float32) {
	switch a.Kind {
	case ActNone:
	case ActRelu:
		for i, v := range x {
			if v < 0 {
				x[i] = 0
			}
		}
	case ActClip:
		for i, v := range x {
			x[i] = min(max(v, a.Alpha), a.Beta)
		}
	case ActLeakyRelu:
		for i, v := range x {
			if v < 0 {
				x[i] = v * a.Alpha
			}
		}
	case ActSigmoid:
		Sigmoid(x, x)
	case ActTanh:
		Tanh(x, x)
	case ActHardSigmoid:
		for i, v := range x {
			x[i] = max(0, min(1, a.Alpha*v+a.Beta))
		}
	case ActHardSwish:
		for i, v := range x {
			x[i] = v * max(0, min(1, v/6+0.5))
		}
	}
}

// Sigmoid computes dst[i] = 1/(1+exp(-x[i])). dst and x may alias.
func Sigmoid(dst, x []float32) {
	for i, v := range x {
		dst[i] = float32(1 / (1 + math.Exp(-float64(v))))
	}
}

// Tanh computes dst[i] = tanh(x[i]). dst and x may alias.
func Tanh(dst, x []float32) {
	for i, v := range x {
		dst[i] = float32(math.Tanh(float64(v)))
	}
}

// Exp computes dst[i] = exp(x[i]). dst and x may alias.
func Exp(dst, x []float32) {
	for i, v := range x {
		dst[i] = float32(math.Exp(float64(v)))
	}
}

// Erf computes dst[i] = erf(x[i]). dst and x may alias.
func Erf(dst, x []float32) {
	for i, v := range x {
		dst[i] = float32(math.Erf(float64(v)))
	}
}
