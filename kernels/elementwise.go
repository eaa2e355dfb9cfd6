package kernels

// Add computes dst[i] = a[i] + b[i] over len(dst) elements. Slices may alias.
func Add(dst, a, b []float32) {
	i := binaryAsm(opAdd, dst, a, b)
	addGeneric(dst[i:], a[i:len(dst)], b[i:len(dst)])
}

// Sub computes dst[i] = a[i] - b[i].
func Sub(dst, a, b []float32) {
	i := binaryAsm(opSub, dst, a, b)
	subGeneric(dst[i:], a[i:len(dst)], b[i:len(dst)])
}

// Mul computes dst[i] = a[i] * b[i].
func Mul(dst, a, b []float32) {
	i := binaryAsm(opMul, dst, a, b)
	mulGeneric(dst[i:], a[i:len(dst)], b[i:len(dst)])
}

// Div computes dst[i] = a[i] / b[i].
func Div(dst, a, b []float32) {
	i := binaryAsm(opDiv, dst, a, b)
	divGeneric(dst[i:], a[i:len(dst)], b[i:len(dst)])
}

// Max computes dst[i] = a[i] if a[i] > b[i], else b[i] — the x86 MAXPS rule, so a NaN in either operand yields
// b[i]. Pooling folds new taps in as Max(best, tap, best): a tap replaces the running maximum only when greater.
func Max(dst, a, b []float32) {
	i := binaryAsm(opMax, dst, a, b)
	maxGeneric(dst[i:], a[i:len(dst)], b[i:len(dst)])
}

// AddScalar computes dst[i] = a[i] + s.
func AddScalar(dst, a []float32, s float32) {
	unary(opAddScalar, dst, a[:len(dst)], s, 0)
}

// MulScalar computes dst[i] = a[i] * s.
func MulScalar(dst, a []float32, s float32) {
	unary(opMulScalar, dst, a[:len(dst)], s, 0)
}

// MulAddScalar computes dst[i] = a[i]*s + t (BatchNormalization, affine). The assembly fuses the multiply-add
// (one rounding instead of two), so results may differ from the Go twin in the last bit.
func MulAddScalar(dst, a []float32, s, t float32) {
	unary(opMulAddScalar, dst, a[:len(dst)], s, t)
}

// Axpy computes dst[i] += a[i]*s over len(dst) elements (a weighted sum of planes in one pass). Like
// MulAddScalar, the assembly fuses the multiply-add, so results may differ from the Go twin in the last bit.
func Axpy(dst, a []float32, s float32) {
	a = a[:len(dst)]
	i := axpyAsm(dst, a, s)
	axpyGeneric(dst[i:], a[i:], s)
}

// binOp names an elementwise binary loop.
type binOp uint8

const (
	opAdd binOp = iota
	opSub
	opMul
	opDiv
	opMax
)

// unOp names an elementwise unary loop with up to two scalar parameters.
type unOp uint8

const (
	opAddScalar unOp = iota
	opMulScalar
	opMulAddScalar
	opRelu
	opClip
	opLeakyRelu
	opHardSigmoid
	opHardSwish
	opExp
	opSigmoid
	opTanh
	opErf
	numUnOps
)

// unary computes dst[i] = f(x[i]) for i < len(x): the assembly takes the whole vectors, and the tail too, through
// a zero-padded vector of its own. The twin computes the same values only to within an ulp or two (fused
// multiply-adds, polynomial orders), so a twin tail would make an element's value depend on where the slice ends,
// that is on how the runtime splits a tensor between threads: PP-OCRv4 rec's HardSwish gave 4 of 245 760 values
// one ulp apart between 1 and 2 threads, enough to move a near-tied argmax. Without assembly the twin does it all.
func unary(op unOp, dst, x []float32, alpha, beta float32) {
	dst = dst[:len(x)]
	i := unaryAsm(op, dst, x, alpha, beta)
	rest := x[i:]
	if len(rest) == 0 {
		return
	}
	var in, out [16]float32 // a whole vector at every level (AVX-512: 16 floats, AVX2: 8)
	copy(in[:], rest)
	if unaryAsm(op, out[:], in[:], alpha, beta) == len(in) {
		copy(dst[i:], out[:len(rest)])
		return
	}
	unaryGeneric(op, dst[i:], rest, alpha, beta)
}
