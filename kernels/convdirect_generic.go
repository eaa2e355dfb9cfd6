package kernels

// convRowsGeneric is the direct row kernel's reference: for each of 16 channels m, row r < oh and column j < ow,
// y[m·yStride+r·ow+j] = c(bias[m] + Σ_t w[t·16+m]·src[r·rowStep+offs[t]+j]), where c clamps to [lo, hi] when
// clamp is set.
func convRowsGeneric(y []float32, yStride, ow, oh int, src []float32, rowStep int, offs []int, w, bias []float32, clamp bool, lo, hi float32) {
	for m := 0; m < 16; m++ {
		for r := 0; r < oh; r++ {
			out := y[m*yStride+r*ow : m*yStride+(r+1)*ow]
			for j := range out {
				s := bias[m]
				for t, off := range offs {
					s += w[t*16+m] * src[r*rowStep+off+j]
				}
				if clamp {
					s = min(max(s, lo), hi)
				}
				out[j] = s
			}
		}
	}
}
