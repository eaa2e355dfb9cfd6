//go:build !amd64 || purego

package kernels

// kernelFor returns the pure-Go micro-kernel: this build has no assembly.
func kernelFor(impl) *ukernel { return genericKernel }
