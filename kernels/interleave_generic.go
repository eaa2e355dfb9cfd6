package kernels

// interleave2Generic is the Go twin of Interleave2.
func interleave2Generic(dst, a, c []float32, bias float32) {
	c = c[:len(a)]
	for i, v := range a {
		p := dst[2*i : 2*i+2 : 2*i+2]
		p[0], p[1] = v+bias, c[i]+bias
	}
}

// interleaveBytesGeneric is the Go twin of InterleaveBytes.
func interleaveBytesGeneric(dst, a, c []byte) {
	c = c[:len(a)]
	for i, v := range a {
		p := dst[2*i : 2*i+2 : 2*i+2]
		p[0], p[1] = v, c[i]
	}
}
