package kernels

// maxPoolRowGeneric is the Go twin of MaxPoolRow and the reference for its assembly.
func maxPoolRowGeneric(dst, src []float32, k, stride int) {
	for i := range dst {
		w := src[i*stride : i*stride+k]
		best := w[0]
		for _, v := range w[1:] {
			if v > best {
				best = v
			}
		}
		dst[i] = best
	}
}

// anyNaNGeneric is the Go twin of AnyNaN.
func anyNaNGeneric(x []float32) bool {
	for _, v := range x {
		if v != v {
			return true
		}
	}
	return false
}

// maxBytesGeneric is the Go twin of MaxBytes.
func maxBytesGeneric(dst, src []byte, signed bool) {
	src = src[:len(dst)]
	if signed {
		for i, v := range src {
			dst[i] = byte(max(int8(dst[i]), int8(v)))
		}
		return
	}
	for i, v := range src {
		dst[i] = max(dst[i], v)
	}
}

// evenBytesGeneric is the pure-Go twin of EvenBytes.
func evenBytesGeneric(dst, src []byte) {
	for i := range dst {
		dst[i] = src[2*i]
	}
}

// sumBytesGeneric is the pure-Go twin of SumBytes.
func sumBytesGeneric(b []byte, flip byte) uint64 {
	var s uint64
	for _, v := range b {
		s += uint64(v ^ flip)
	}
	return s
}
