package kernels

// The Go twins: each is the definition its assembly loop is tested against. They also finish the tail the
// vector loops leave (fewer elements than one vector).

func addGeneric(dst, a, b []float32) {
	for i := range dst {
		dst[i] = a[i] + b[i]
	}
}

// axpyGeneric is Axpy's pure-Go twin.
func axpyGeneric(dst, a []float32, s float32) {
	a = a[:len(dst)]
	for i := range dst {
		dst[i] += a[i] * s
	}
}

func subGeneric(dst, a, b []float32) {
	for i := range dst {
		dst[i] = a[i] - b[i]
	}
}

func mulGeneric(dst, a, b []float32) {
	for i := range dst {
		dst[i] = a[i] * b[i]
	}
}

func divGeneric(dst, a, b []float32) {
	for i := range dst {
		dst[i] = a[i] / b[i]
	}
}

func maxGeneric(dst, a, b []float32) {
	for i := range dst {
		if a[i] > b[i] {
			dst[i] = a[i]
		} else {
			dst[i] = b[i]
		}
	}
}

func binaryGeneric(op binOp, dst, a, b []float32) {
	switch op {
	case opAdd:
		addGeneric(dst, a, b)
	case opSub:
		subGeneric(dst, a, b)
	case opMul:
		mulGeneric(dst, a, b)
	case opDiv:
		divGeneric(dst, a, b)
	case opMax:
		maxGeneric(dst, a, b)
	}
}

// unaryGeneric is the Go twin of every unary loop (scalar arithmetic, activations, vector math).
func unaryGeneric(op unOp, dst, x []float32, alpha, beta float32) {
	dst = dst[:len(x)]
	switch op {
	case opAddScalar:
		for i, v := range x {
			dst[i] = v + alpha
		}
	case opMulScalar:
		for i, v := range x {
			dst[i] = v * alpha
		}
	case opMulAddScalar:
		for i, v := range x {
			dst[i] = v*alpha + beta
		}
	case opRelu:
		for i, v := range x {
			if v < 0 {
				v = 0
			}
			dst[i] = v
		}
	case opClip:
		for i, v := range x {
			dst[i] = min(max(v, alpha), beta)
		}
	case opLeakyRelu:
		for i, v := range x {
			if v < 0 {
				v *= alpha
			}
			dst[i] = v
		}
	case opHardSigmoid:
		for i, v := range x {
			dst[i] = max(0, min(1, alpha*v+beta))
		}
	case opHardSwish:
		for i, v := range x {
			dst[i] = v * max(0, min(1, v*alpha+beta))
		}
	case opExp:
		for i, v := range x {
			dst[i] = exp32(v)
		}
	case opSigmoid:
		for i, v := range x {
			dst[i] = sigmoid32(v)
		}
	case opTanh:
		for i, v := range x {
			dst[i] = tanh32(v)
		}
	case opErf:
		for i, v := range x {
			dst[i] = erf32(v)
		}
	}
}
