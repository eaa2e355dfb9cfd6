//go:build !amd64 || purego

package kernels

const qdwFast = false

// qdwMax and qdwLevel: this build has no assembly.
const qdwMax = qdwGeneric

var qdwLevel = qdwGeneric

func qdwSIMD(int) bool { return false }

func qdwRun(a *qdwArgs, x, d []uint8) { qdwGenericRun(a, x, d) }
