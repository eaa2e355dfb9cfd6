package kernels

import "math"

// The scalar forms of the vector math. They follow the assembly step by step (same reduction, polynomials and
// clamps; the assembly fuses multiply-adds), so the two agree to an ulp or two and both are checked against math.*.

const (
	log2e = 1.44269504088896341
	// Cody-Waite split of ln 2 (as in Cephes expf): ln2Hi has few mantissa bits, so n·ln2Hi is exact.
	ln2Hi = 0.693359375
	ln2Lo = -2.12194440e-4
)

// exp32 computes e^x: n = round(x·log2 e), r = x − n·ln 2 with |r| ≤ ln2/2, e^r by its degree-7 Taylor polynomial
// (truncation < 1e-8 relative), scaled by 2^n in two halves so +Inf and subnormal results come out right.
func exp32(x float32) float32 {
	x = max(min(x, 120), -120) // NaN stays NaN
	n := roundEven(x * log2e)
	r := x - n*ln2Hi
	r -= n * ln2Lo
	p := (((((((1.0/5040)*r+1.0/720)*r+1.0/120)*r+1.0/24)*r+1.0/6)*r+0.5)*r+1)*r + 1
	if x != x {
		return x
	}
	ni := int32(n)
	n1 := ni >> 1
	return p * math.Float32frombits(uint32(n1+127)<<23) * math.Float32frombits(uint32(ni-n1+127)<<23)
}

// sigmoid32 computes 1/(1+e^−x) as t = 1/(1+e) with e = e^−|x| (no overflow), returning e·t for negative x so
// tiny results keep their relative accuracy.
func sigmoid32(x float32) float32 {
	e := exp32(-float32(math.Abs(float64(x))))
	t := 1 / (1 + e)
	if math.Signbit(float64(x)) {
		return e * t
	}
	return t
}

// roundEven rounds v (|v| < 2^22) to the nearest integer, ties to even, like VRNDSCALEPS/VROUNDPS: adding and
// removing 1.5·2^23 leaves no fraction bits in float32 arithmetic.
func roundEven(v float32) float32 {
	const magic = 12582912 // 1.5·2^23
	return (v + magic) - magic
}

// tanh32 computes tanh(x) = sign(x)·(−e/(2+e)) with e = expm1(−2|x|): no cancellation near 0.
func tanh32(x float32) float32 {
	if x != x {
		return x
	}
	u := max(-2*float32(math.Abs(float64(x))), -18)
	n := roundEven(u * log2e)
	r := u - n*ln2Hi
	r -= n * ln2Lo
	h := ((((1.0/5040)*r+1.0/720)*r+1.0/120)*r+1.0/24)*r + 1.0/6
	h = h*r + 0.5
	q := h*(r*r) + r
	s := math.Float32frombits(uint32(int32(n)+127) << 23)
	e := s*q + (s - 1)
	t := float32(math.Abs(float64(e / (2 + e))))
	return float32(math.Copysign(float64(t), float64(x)))
}

// erf(x) = x·P(x²)/Q(x²) on [0, erfMax], beyond which float32 erf rounds to 1: the rational fit of
// scripts/fit/erf.py (relative error 5e-8 in float64, 3.9e-7 evaluated in float32). kernels/_asm/gen.go holds the
// same numbers for the assembly.
const erfMax = 3.92

var (
	erfP = [7]float32{1.1283791065216064, 0.19991828501224518, 0.05057249590754509, 0.003701337380334735,
		0.0001418434112565592, -1.9578010324039496e-06, 1.9924277339100627e-08}
	erfQ = [5]float32{1.0, 0.5105046033859253, 0.11499582231044769, 0.014352663420140743, 0.0009559711324982345}
)

// erf32 computes erf(x) = sign(x)·min(1, a·P(a²)/Q(a²)), a = min(|x|, erfMax).
func erf32(x float32) float32 {
	if x != x {
		return x
	}
	a := min(float32(math.Abs(float64(x))), erfMax)
	t := a * a
	// Fused multiply-adds, as the assembly's Horner steps: a product of two float32s is exact in float64, so
	// one rounding to float32 after the add matches VFMADD but for double-rounding ties.
	fma := func(x, y, z float32) float32 { return float32(math.FMA(float64(x), float64(y), float64(z))) }
	p := erfP[len(erfP)-1]
	for i := len(erfP) - 2; i >= 0; i-- {
		p = fma(p, t, erfP[i])
	}
	q := erfQ[len(erfQ)-1]
	for i := len(erfQ) - 2; i >= 0; i-- {
		q = fma(q, t, erfQ[i])
	}
	y := min(a*p/q, 1)
	return float32(math.Copysign(float64(y), float64(x)))
}
