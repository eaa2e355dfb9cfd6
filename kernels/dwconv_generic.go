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
