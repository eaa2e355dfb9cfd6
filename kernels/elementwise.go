package kernels

// Add computes dst[i] = a[i] + b[i] over len(dst) elements. Slices may alias.
func Add(dst, a, b []float32) {
	for i := range dst {
		dst[i] = a[i] + b[i]
	}
}

// Sub computes dst[i] = a[i] - b[i].
func Sub(dst, a, b []float32) {
	for i := range dst {
		dst[i] = a[i] - b[i]
	}
}

// Mul computes dst[i] = a[i] * b[i].
func Mul(dst, a, b []float32) {
	for i := range dst {
		dst[i] = a[i] * b[i]
	}
}

// Div computes dst[i] = a[i] / b[i].
func Div(dst, a, b []float32) {
	for i := range dst {
		dst[i] = a[i] / b[i]
	}
}

// AddScalar computes dst[i] = a[i] + s.
func AddScalar(dst, a []float32, s float32) {
	for i := range dst {
		dst[i] = a[i] + s
	}
}

// MulScalar computes dst[i] = a[i] * s.
func MulScalar(dst, a []float32, s float32) {
	for i := range dst {
		dst[i] = a[i] * s
	}
}

// MulAddScalar computes dst[i] = a[i]*s + t (BatchNormalization, affine).
func MulAddScalar(dst, a []float32, s, t float32) {
	for i := range dst {
		dst[i] = a[i]*s + t
	}
}
