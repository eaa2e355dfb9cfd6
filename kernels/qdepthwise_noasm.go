//go:build !amd64 || purego

package kernels

const qdwFast = false

// qdwUseAsm is false: this build has no assembly.
var qdwUseAsm = false

func qdwRun(a *qdwArgs, x []uint8, w []int8, d []uint8) { qdwGeneric(a, x, w, d) }
