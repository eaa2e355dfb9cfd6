package turboquant

import "math"

func maxF32Generic(x []float32) float32 {
	m := float32(math.Inf(-1))
	for _, v := range x {
		m = max(m, v)
	}
	return m
}

func expShiftGeneric(x []float32, m, scale float32) float32 {
	var sum float64
	for i, v := range x {
		e := exp32((v - m) * scale)
		x[i] = e
		sum += float64(e)
	}
	return float32(sum)
}

// exp32 is e^x for x ≤ 0 (softmax arguments) with relative error below 5e-7 (a few float32 ulp): x·log2(e) = n + f with n an integer
// and |f| ≤ 1/2, 2^f from its Taylor series in y = f·ln 2 to degree 6 (remainder |y|⁷/7! < 1.3e-7), and 2^n set
// in the exponent field. Results below the normal range flush to zero, which a softmax weight of < 1e-38 is.
func exp32(x float32) float32 {
	// The reduction runs in float64: rounding x·log2(e) to float32 would cost up to ulp(126)·ln 2 ≈ 5e-6.
	t := float64(x) * math.Log2E
	if !(t >= -126) { // also catches NaN
		if t != t {
			return x
		}
		return 0
	}
	n := math.Floor(t + 0.5)
	y := float32((t - n) * math.Ln2)
	p := 1 + y*(1+y*(1.0/2+y*(1.0/6+y*(1.0/24+y*(1.0/120+y*(1.0/720))))))
	return p * math.Float32frombits(uint32(int32(n)+127)<<23)
}
