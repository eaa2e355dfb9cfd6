//go:build !amd64 || purego

package kernels

// kernelFor returns the pure-Go micro-kernel: this build has no assembly.
func kernelFor(impl) *ukernel { return genericKernel }

func packAPanelAsm([]float32, []float32, int, int, int, int, float32) bool { return false }
