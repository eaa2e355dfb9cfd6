//go:build !amd64 || purego

package kernels

// meanVarAsm does nothing in this build: the Go twin does it all.
func meanVarAsm([]float32) (mean, variance float64, ok bool) { return 0, 0, false }

// normalizeScaleBiasAsm does nothing in this build: the Go twin does it all.
func normalizeScaleBiasAsm(dst, x []float32, inv, shift float32, scale, bias []float32) bool {
	return false
}
