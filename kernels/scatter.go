package kernels

// ScatterRows copies rows consecutive runs of width bytes from src (run i at src[i·width:]) to dst, dstStride bytes
// apart (run i at dst[i·dstStride:]). An integer convolution's row window lays each pixel's kh kernel rows of C
// channels side by side this way; one copy call per C-byte run cost det's 96→24 3×3 layers 78 000 calls each.
func ScatterRows(dst []uint8, dstStride int, src []uint8, width, rows int) {
	if rows <= 0 || width <= 0 {
		return
	}
	_, _ = dst[(rows-1)*dstStride+width-1], src[rows*width-1]
	if scatterRowsAsm(dst, dstStride, src, width, rows) {
		return
	}
	scatterRowsGeneric(dst, dstStride, src, width, rows)
}

// scatterRowsGeneric is ScatterRows' pure-Go twin.
func scatterRowsGeneric(dst []uint8, dstStride int, src []uint8, width, rows int) {
	for i := 0; i < rows; i++ {
		copy(dst[i*dstStride:i*dstStride+width], src[i*width:(i+1)*width])
	}
}
