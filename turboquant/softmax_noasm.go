//go:build !amd64 || purego

package turboquant

func maxF32Impl(x []float32) float32 { return maxF32Generic(x) }

func expShiftImpl(x []float32, m, scale float32) float32 { return expShiftGeneric(x, m, scale) }
