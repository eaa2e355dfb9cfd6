//go:build !amd64 || purego

package kernels

// qquantizeVec converts nothing: this build has no assembly (QQuantize's twin does all of it).
func qquantizeVec([]uint8, []float32, qconvMode, int32, float32, int32, int32, int32) int { return 0 }

// qdequantizeVec converts nothing: this build has no assembly.
func qdequantizeVec([]float32, []uint8, bool, float32, float32) int { return 0 }

// qtoNHWCVec transposes nothing: this build has no assembly.
func qtoNHWCVec([]uint8, []uint8, int, int, int, uint8) (int, int) { return 0, 0 }

// qbinaryVec computes nothing: this build has no assembly.
func qbinaryVec([]uint8, []uint8, []uint8, Q8, Q8, Q8, bool) int { return 0 }
