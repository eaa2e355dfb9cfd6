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

// erfSmall holds erf's Taylor coefficients 2/√π·(−1)^n/(n!(2n+1)) in x², used for |x| < 0.875.
var erfSmall = func() [10]float32 {
	var c [10]float32
	fact := 1.0
	for n := range c {
		if n > 0 {
			fact *= float64(n)
		}
		s := 2 / math.Sqrt(math.Pi) / (fact * float64(2*n+1))
		if n%2 == 1 {
			s = -s
		}
		c[n] = float32(s)
	}
	return c
}()

// erfBig approximates erfc(a)·exp(a²) for a in [0.875, 4] as a polynomial in w = 1/a − erfShift: a weighted
// least-squares fit on 2000 Chebyshev nodes against mpmath (max relative error of erf 1.8e-8 in float32 Horner form).
// kernels/_asm/gen.go holds the same numbers for the assembly.
const erfShift = 0.6964286

var erfBig = [10]float32{0.33239588141441345, 0.3583544194698334, -0.16245441138744354, 0.04831216111779213,
	0.009427294135093689, -0.030755899846553802, 0.0328211672604084, -0.024482836946845055,
	0.0014608975034207106, 0.013982873409986496}

// erf32 computes erf(x): the Taylor series below 0.875, 1 − exp(−a²)·G(1/a − c) above (a capped at 4, where erf
// rounds to 1 in float32).
func erf32(x float32) float32 {
	if x != x {
		return x
	}
	a := float32(math.Abs(float64(x)))
	var y float32
	if a < 0.875 {
		a2 := a * a
		p := erfSmall[9]
		for i := 8; i >= 0; i-- {
			p = p*a2 + erfSmall[i]
		}
		y = a * p
	} else {
		a = min(a, 4)
		w := 1/a - erfShift
		g := erfBig[9]
		for i := 8; i >= 0; i-- {
			g = g*w + erfBig[i]
		}
		y = 1 - exp32(-(a*a))*g
	}
	return float32(math.Copysign(float64(y), float64(x)))
}
