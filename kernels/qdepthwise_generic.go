package kernels

// qdwGenericRun is the pure-Go twin of the depthwise kernel: for each output row and pixel, corr plus the 4-tap
// groups' sums of (x ^ flip)·w over the kernel rows, requantized as qrequantRowGeneric does.
func qdwGenericRun(a *qdwArgs, x, d []uint8) {
	w := a.w[:]
	flip := uint8(a.flip)
	sw := a.step / 16
	for oh := range a.rows {
		for ow := range a.n {
			s := a.corr
			for r := range a.kh {
				row := x[oh*a.rowStep+r*a.ldx+ow*sw:]
				for t := range a.gk * 4 {
					s += int32(row[t]^flip) * int32(w[r*a.gk*4+t])
				}
			}
			d[oh*a.ldd+ow] = qrequant1(s, a.scale, a.flo, a.fhi, a.zp)
		}
	}
}
