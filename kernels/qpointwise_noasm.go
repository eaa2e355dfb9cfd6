//go:build !amd64 || purego

package kernels

// qpwKernelFor returns the pure-Go pointwise kernel.
func qpwKernelFor(qimpl) func(kg int, x []uint8, w []int8, corr []int32, scale []float32, d []uint8, ldd, rows int, flo, fhi float32, zp int32) {
	return qpwKernelGeneric
}

// qpwKernelOffsFor returns the pure-Go pointwise kernel reading each group at its offset.
func qpwKernelOffsFor(qimpl) func(kg int, x []uint8, offs []int, w []int8, corr []int32, scale []float32, d []uint8, ldd, rows int, flo, fhi float32, zp int32) {
	return qpwKernelOffsGeneric
}

// qpwKernelF32For returns the pure-Go float32-output pointwise kernel.
func qpwKernelF32For(qimpl) func(kg int, x []uint8, w []int8, corr []int32, scale []float32, d []float32, ldd, rows int, fbias []float32) {
	return qpwKernelF32Generic
}

// qpwPackFor returns the pure-Go panel packer.
func qpwPackFor(qimpl) func(dst, x []uint8, plane, blocks, step int, flip uint8) {
	return qpwPackGeneric
}
