//go:build !amd64 || purego

package kernels

// qcgPackFor returns the pure-Go gathering packer.
func qcgPackFor(qimpl) func(dst, x []uint8, base int, offs []int, groups, sw int, idx *[64]uint8, flip uint8) {
	return qcgPackGeneric
}
