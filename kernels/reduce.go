package kernels

// Sum returns Σ x. The lanes accumulate in float64, so a long row of float32 values (a softmax over a 6625-class
// head) loses nothing to a float32 running sum; the order of the additions differs from a sequential loop only
// within float64 rounding. The AVX2 and AVX-512 loops add in the same order, so they return the same bits.
func Sum(x []float32) float64 {
	i, s := sumAsm(x)
	return s + sumGeneric(x[i:])
}

// MaxValue returns the largest element of x: NaN if any element is NaN, −Inf if x is empty. It orders −0 below
// +0, as Go's max does, so every SIMD level returns the same bits as maxValueGeneric.
func MaxValue(x []float32) float32 {
	i, _, hi, nan := minMaxAsm(x)
	if nan {
		return nanF32
	}
	r := maxValueGeneric(x[i:])
	if r != r {
		return r
	}
	return max(hi, r)
}

// MinMax returns the smallest and largest element of x in one pass: both NaN if any element is NaN, (+Inf, −Inf)
// if x is empty. It orders −0 below +0, as Go's min and max do (MinMax([−0, +0]) is (−0, +0)), so every SIMD
// level returns the same bits as minMaxGeneric; a range widened to include zero, min(0, lo) and max(0, hi), is
// the same whichever zero an input holds.
func MinMax(x []float32) (lo, hi float32) {
	i, lo, hi, nan := minMaxAsm(x)
	if nan {
		return nanF32, nanF32
	}
	tailLo, tailHi := minMaxGeneric(x[i:])
	if tailLo != tailLo {
		return tailLo, tailHi
	}
	return min(lo, tailLo), max(hi, tailHi)
}

// ExpSum computes dst[i] = exp(x[i] + shift) and returns Σ dst[i]: Softmax's exponentials and their sum in one
// pass. It gives the bits AddScalar, Exp and Sum give one after another, at every SIMD level.
func ExpSum(dst, x []float32, shift float32) float64 {
	dst = dst[:len(x)]
	i, s := expSumAsm(dst, x, shift)
	if i == len(x) {
		return s
	}
	AddScalar(dst[i:], x[i:], shift)
	Exp(dst[i:], dst[i:])
	return s + sumGeneric(dst[i:])
}
