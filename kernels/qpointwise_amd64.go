//go:build !purego

package kernels

import "unsafe"

// qpwKernelVNNI is the AVX-512 VNNI pointwise kernel: qpwKernelGeneric with 16 zmm accumulators (two per output
// channel) fed by VPDPBUSD with the weights broadcast from memory, and the requantization of qrequantRowAVX512.
//
//go:noescape
func qpwKernelVNNI(kg int, x *uint8, w *int8, corr *int32, scale *float32, d *uint8, ldd, rows int, flo, fhi float32, zp int32)

// qpwKernelOffsVNNI is qpwKernelVNNI with group g of the panel at x + offs[g] (QConvRows).
//
//go:noescape
func qpwKernelOffsVNNI(kg int, x *uint8, w *int8, corr *int32, scale *float32, d *uint8, ldd, rows int, flo, fhi float32, zp int32, offs *int)

// qpwKernelF32VNNI is qpwKernelVNNI with qpwKernelF32Generic's float32 epilogue.
//
//go:noescape
func qpwKernelF32VNNI(kg int, x *uint8, w *int8, corr *int32, scale *float32, d *float32, ldd, rows int)

// qpwKernelF32BiasVNNI is qpwKernelF32VNNI with qpwKernelF32Generic's float bias.
//
//go:noescape
func qpwKernelF32BiasVNNI(kg int, x *uint8, w *int8, corr *int32, scale *float32, d *float32, ldd, rows int, fbias *float32)

// qpwPackAVX2 is qpwPackGeneric with AVX2 byte and word unpacks.
//
//go:noescape
func qpwPackAVX2(dst, x *uint8, plane, blocks, step int, flip uint8)

// qpwKernelFor returns the pointwise kernel for an integer SIMD level.
func qpwKernelFor(l qimpl) func(kg int, x []uint8, w []int8, corr []int32, scale []float32, d []uint8, ldd, rows int, flo, fhi float32, zp int32) {
	if l != qimplVNNI {
		return qpwKernelGeneric
	}
	return func(kg int, x []uint8, w []int8, corr []int32, scale []float32, d []uint8, ldd, rows int, flo, fhi float32, zp int32) {
		// The bounds the assembly relies on, checked here where a mistake panics instead of corrupting memory.
		if kg > 0 {
			_, _ = x[kg*qpwCols*4-1], w[kg*qpwRows*4-1]
		}
		_, _, _ = corr[qpwRows-1], scale[qpwRows-1], d[(rows-1)*ldd+qpwCols-1]
		qpwKernelVNNI(kg, unsafe.SliceData(x), unsafe.SliceData(w), &corr[0], &scale[0], &d[0], ldd, rows, flo, fhi, zp)
	}
}

// qpwKernelOffsFor returns the pointwise kernel reading each group at its offset, for an integer SIMD level.
func qpwKernelOffsFor(l qimpl) func(kg int, x []uint8, offs []int, w []int8, corr []int32, scale []float32, d []uint8, ldd, rows int, flo, fhi float32, zp int32) {
	if l != qimplVNNI {
		return qpwKernelOffsGeneric
	}
	return func(kg int, x []uint8, offs []int, w []int8, corr []int32, scale []float32, d []uint8, ldd, rows int, flo, fhi float32, zp int32) {
		if kg > 0 {
			// The last group's offset is the largest (QConvRows orders them by kernel row, column, group); its
			// bound is the one the assembly relies on.
			_, _, _ = offs[kg-1], w[kg*qpwRows*4-1], x[offs[kg-1]+qpwCols*4-1]
		}
		_, _, _ = corr[qpwRows-1], scale[qpwRows-1], d[(rows-1)*ldd+qpwCols-1]
		qpwKernelOffsVNNI(kg, unsafe.SliceData(x), unsafe.SliceData(w), &corr[0], &scale[0], &d[0], ldd, rows, flo, fhi, zp, unsafe.SliceData(offs))
	}
}

// qpwKernelF32For returns the float32-output pointwise kernel for an integer SIMD level.
func qpwKernelF32For(l qimpl) func(kg int, x []uint8, w []int8, corr []int32, scale []float32, d []float32, ldd, rows int, fbias []float32) {
	if l != qimplVNNI {
		return qpwKernelF32Generic
	}
	return func(kg int, x []uint8, w []int8, corr []int32, scale []float32, d []float32, ldd, rows int, fbias []float32) {
		if kg > 0 {
			_, _ = x[kg*qpwCols*4-1], w[kg*qpwRows*4-1]
		}
		_, _, _ = corr[qpwRows-1], scale[qpwRows-1], d[(rows-1)*ldd+qpwCols-1]
		if fbias == nil {
			qpwKernelF32VNNI(kg, unsafe.SliceData(x), unsafe.SliceData(w), &corr[0], &scale[0], &d[0], ldd, rows)
			return
		}
		_ = fbias[rows-1]
		qpwKernelF32BiasVNNI(kg, unsafe.SliceData(x), unsafe.SliceData(w), &corr[0], &scale[0], &d[0], ldd, rows, &fbias[0])
	}
}

// qpwPackFor returns the panel packer for an integer SIMD level.
func qpwPackFor(l qimpl) func(dst, x []uint8, plane, blocks, step int, flip uint8) {
	if l != qimplVNNI {
		return qpwPackGeneric
	}
	return func(dst, x []uint8, plane, blocks, step int, flip uint8) {
		if blocks == 0 {
			return
		}
		_, _ = dst[blocks*qpwCols*4-1], x[(blocks-1)*step+3*plane+qpwCols-1]
		qpwPackAVX2(&dst[0], &x[0], plane, blocks, step, flip)
	}
}
