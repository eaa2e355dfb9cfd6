package kernels

// qpwPackGeneric is the pure-Go twin of the panel packer: for groups groups of 4 channels (planes plane bytes
// apart in x) it lays the panel's qpwCols pixels out as dst[g·128 + p·4 + i] = x[(4g+i)·plane + p] ^ flip.
func qpwPackGeneric(dst, x []uint8, plane, groups int, flip uint8) {
	for g := range groups {
		for i := range 4 {
			row := x[(4*g+i)*plane : (4*g+i)*plane+qpwCols]
			for p, v := range row {
				dst[g*qpwCols*4+p*4+i] = v ^ flip
			}
		}
	}
}

// qpwKernelGeneric is the pure-Go twin of the pointwise kernels: for the first rows of a block of qpwRows
// output channels (w: kg groups of qpwRows rows of 4 weights) and one packed panel x (kg groups of qpwCols
// pixels of 4 bytes) it stores
//
//	d[r·ldd + p] = requant(corr[r] + Σ_{g,i} x[g·128 + p·4 + i]·w[g·32 + r·4 + i], scale[r])
//
// with requant as qrequantRowGeneric's. Rows rows and up are not written.
func qpwKernelGeneric(kg int, x []uint8, w []int8, corr []int32, scale []float32, d []uint8, ldd, rows int, flo, fhi float32, zp int32) {
	for r := range rows {
		out := d[r*ldd : r*ldd+qpwCols]
		for p := range out {
			out[p] = qrequant1(qpwSum(kg, x, w, r, p)+corr[r], scale[r], flo, fhi, zp)
		}
	}
}

// qpwKernelF32Generic is qpwKernelGeneric with a float32 output, d[r·ldd + p] = float32(sum + corr[r])·scale[r],
// as qdequantRowGeneric computes it.
func qpwKernelF32Generic(kg int, x []uint8, w []int8, corr []int32, scale []float32, d []float32, ldd, rows int) {
	for r := range rows {
		out := d[r*ldd : r*ldd+qpwCols]
		for p := range out {
			out[p] = float32(qpwSum(kg, x, w, r, p)+corr[r]) * scale[r]
		}
	}
}

// qpwSum is output channel r's raw sum at pixel p of a packed panel.
func qpwSum(kg int, x []uint8, w []int8, r, p int) int32 {
	var s int32
	for g := range kg {
		xs, ws := x[g*qpwCols*4+p*4:][:4], w[g*qpwRows*4+r*4:][:4]
		s += int32(xs[0])*int32(ws[0]) + int32(xs[1])*int32(ws[1]) + int32(xs[2])*int32(ws[2]) + int32(xs[3])*int32(ws[3])
	}
	return s
}
