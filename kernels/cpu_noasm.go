//go:build !amd64 || purego

package kernels

// maxImpl is generic: this build has no assembly.
var maxImpl = implGeneric
