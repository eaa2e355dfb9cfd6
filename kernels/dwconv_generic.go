package kernels

// dwTapsGeneric is the tap loop's reference: out[i] = bias + Σ_t w[t]·buf[offs[t]+i] for i < n.
func dwTapsGeneric(out []float32, n int, buf []float32, offs []int, w []float32, bias float32) {
	o := out[:n]
	for i := range o {
		o[i] = bias
	}
	for t, off := range offs {
		wt := w[t]
		src := buf[off : off+n]
		for i, v := range src {
			o[i] += wt * v
		}
	}
}

// deinterleave2Generic splits n pairs: even[i] = src[2i], odd[i] = src[2i+1].
func deinterleave2Generic(even, odd, src []float32, n int) {
	even, odd, src = even[:n], odd[:n], src[:2*n]
	for i := range even {
		even[i] = src[2*i]
		odd[i] = src[2*i+1]
	}
}

// dwRowsGeneric is the direct row kernel's reference: for each row r < oh and column j < ow,
// y[r·ow+j] = e(bias + Σ_t w[t]·src[r·rowStep+offs[t]+j]).
func dwRowsGeneric(y []float32, ow, oh int, src []float32, rowStep int, offs []int, w []float32, bias float32, e *dwEpi) {
	for r := 0; r < oh; r++ {
		out := y[r*ow : (r+1)*ow]
		for j := range out {
			s := bias
			for t, off := range offs {
				s += w[t] * src[r*rowStep+off+j]
			}
			out[j] = e.apply(s)
		}
	}
}

// apply is one element of the fused activation, in the order the assembly computes it.
func (e *dwEpi) apply(v float32) float32 {
	switch e.mode {
	case dwClamp:
		return min(max(v, e.lo), e.hi)
	case dwHardSigmoid:
		return min(max(e.a*v+e.b, e.lo), e.hi)
	case dwHardSwish:
		return v * min(max(e.a*v+e.b, e.lo), e.hi)
	}
	return v
}

// copyRowsGeneric copies rows runs of n floats: dst[r·dstStride+j] = src[r·srcStride+j] for r < rows, j < n.
func copyRowsGeneric(dst []float32, dstStride int, src []float32, srcStride int, n, rows int) {
	for r := 0; r < rows; r++ {
		copy(dst[r*dstStride:r*dstStride+n], src[r*srcStride:r*srcStride+n])
	}
}

// dwS2K3Generic is the 3×3 stride-2 row kernel's reference: for each row r < oh and column j < ow,
// y[r·ow+j] = e(bias + Σ_{kh,kw<3} w[kh·3+kw]·in(kh, r, 2j+kw-padLeft)), where in(kh, r, c) is
// rows[kh][r·inStep+c] for 0 ≤ c < iw and zero outside (the padding).
func dwS2K3Generic(y []float32, ow, oh int, rows *[3][]float32, inStep, iw, padLeft int, w []float32, bias float32, e *dwEpi) {
	for r := 0; r < oh; r++ {
		out := y[r*ow : (r+1)*ow]
		for j := range out {
			s := bias
			for kh, row := range rows {
				for kw := 0; kw < 3; kw++ {
					if c := 2*j + kw - padLeft; c >= 0 && c < iw {
						s += w[kh*3+kw] * row[r*inStep+c]
					}
				}
			}
			out[j] = e.apply(s)
		}
	}
}
