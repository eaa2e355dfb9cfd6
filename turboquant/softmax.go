package turboquant

// expWeights replaces x by e^(scale·(x_i − max x)) and returns their sum: the numerators of softmax(scale·x). The
// division is left to the caller, because attention can divide its d outputs instead of the n weights. x must hold
// no NaN (scores of validated vectors).
func expWeights(x []float32, scale float32) float32 {
	if len(x) == 0 {
		return 0
	}
	return expShift(x, maxF32(x), scale)
}

// maxF32 returns the largest element of x (−Inf for an empty x). NaN elements give an unspecified result.
func maxF32(x []float32) float32 { return maxF32Impl(x) }

// expShift sets x[i] = e^((x[i] − m)·scale) for arguments ≤ 0 and returns Σ x[i]. The result has the accuracy of
// exp32; the sum is formed in float32 lanes by the vector code and in float64 by the twin.
func expShift(x []float32, m, scale float32) float32 { return expShiftImpl(x, m, scale) }
