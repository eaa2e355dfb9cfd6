//go:build !amd64 || purego

package kernels

const qdwFast = false

// qdwUseAsm is false: this build has no assembly.
var qdwUseAsm = false

func qdwRun(a *qdwArgs, x, d []uint8) { qdwGeneric(a, x, d) }
