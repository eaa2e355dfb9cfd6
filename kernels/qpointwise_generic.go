package kernels

// qpwPackGeneric is the pure-Go twin of the panel packer: it writes blocks 128-byte blocks, block j holding 32
// pixels of 4 channels (planes plane bytes apart) from x[j·step] on: dst[j·128 + p·4 + i] = x[j·step + i·plane
// + p] ^ flip. QPointwise packs a panel's channel groups (step 4·plane), QPackRows a row's 32-pixel runs (step 32).
func qpwPackGeneric(dst, x []uint8, plane, blocks, step int, flip uint8) {
	for j := range blocks {
		for i := range 4 {
			row := x[j*step+i*plane : j*step+i*plane+qpwCols]
			for p, v := range row {
				dst[j*qpwCols*4+p*4+i] = v ^ flip
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

// qpwKernelOffsGeneric is qpwKernelGeneric with group g of the panel at x[offs[g]:] instead of x[g·128:].
func qpwKernelOffsGeneric(kg int, x []uint8, offs []int, w []int8, corr []int32, scale []float32, d []uint8, ldd, rows int, flo, fhi float32, zp int32) {
	for r := range rows {
		out := d[r*ldd : r*ldd+qpwCols]
		for p := range out {
			s := corr[r]
			for g, o := range offs[:kg] {
				xs, ws := x[o+p*4:][:4], w[g*qpwRows*4+r*4:][:4]
				s += int32(xs[0])*int32(ws[0]) + int32(xs[1])*int32(ws[1]) + int32(xs[2])*int32(ws[2]) + int32(xs[3])*int32(ws[3])
			}
			out[p] = qrequant1(s, scale[r], flo, fhi, zp)
		}
	}
}

// qpwKernelF32Generic is qpwKernelGeneric with a float32 output, d[r·ldd + p] = float32(sum + corr[r])·scale[r],
// as qdequantRowGeneric computes it, plus fbias[r] (rounded after the product) when fbias is not nil.
func qpwKernelF32Generic(kg int, x []uint8, w []int8, corr []int32, scale []float32, d []float32, ldd, rows int, fbias []float32) {
	for r := range rows {
		out := d[r*ldd : r*ldd+qpwCols]
		for p := range out {
			v := float32(float32(qpwSum(kg, x, w, r, p)+corr[r]) * scale[r]) // rounded before the bias: no FMA
			if fbias != nil {
				v += fbias[r]
			}
			out[p] = v
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
