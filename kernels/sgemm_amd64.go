//go:build !purego

package kernels

// sgemmKernel12x32AVX512 is the AVX-512 micro-kernel: microGeneric(12, 32, kc, a, b, c, ldc, acc, ep) with
// 24 zmm accumulators, where acc is flags&1 and ep (flags&2: bias, 12 values; flags&4: clamp to [lo, hi]) is fused
// into the stores. It needs kc ≥ 0, 12·kc values at a, 32·kc at b, and 12 rows of 32 at c.
//
//go:noescape
func sgemmKernel12x32AVX512(kc int, a, b, c *float32, ldc int, flags int, bias *float32, lo, hi float32)

// sgemmKernel6x16AVX2 is the AVX2 micro-kernel: microGeneric(6, 16, kc, a, b, c, ldc, acc, ep) with 12 ymm
// accumulators; flags and the epilogue arguments are as for sgemmKernel12x32AVX512.
//
//go:noescape
func sgemmKernel6x16AVX2(kc int, a, b, c *float32, ldc int, flags int, bias *float32, lo, hi float32)

// sgemmKernel8x32AVX512 is sgemmKernel12x32AVX512 for the first 8 rows of 12-row A panels.
//
//go:noescape
func sgemmKernel8x32AVX512(kc int, a, b, c *float32, ldc int, flags int, bias *float32, lo, hi float32)

// sgemmKernel4x32AVX512 is sgemmKernel12x32AVX512 for the first 4 rows of 12-row A panels.
//
//go:noescape
func sgemmKernel4x32AVX512(kc int, a, b, c *float32, ldc int, flags int, bias *float32, lo, hi float32)

// sgemmKernel4x16AVX2 is sgemmKernel6x16AVX2 for the first 4 rows of 6-row A panels.
//
//go:noescape
func sgemmKernel4x16AVX2(kc int, a, b, c *float32, ldc int, flags int, bias *float32, lo, hi float32)

// sgemmKernel2x16AVX2 is sgemmKernel6x16AVX2 for the first 2 rows of 6-row A panels.
//
//go:noescape
func sgemmKernel2x16AVX2(kc int, a, b, c *float32, ldc int, flags int, bias *float32, lo, hi float32)

// sgemmKernel1x32AVX512 is the AVX-512 GEMV kernel: microGeneric(1, 32, kc, a, b, c, ldc, acc, ep), a being one
// row of kc values.
//
//go:noescape
func sgemmKernel1x32AVX512(kc int, a, b, c *float32, ldc int, flags int, bias *float32, lo, hi float32)

// sgemmKernel1x16AVX2 is the AVX2 GEMV kernel: microGeneric(1, 16, kc, a, b, c, ldc, acc, ep).
//
//go:noescape
func sgemmKernel1x16AVX2(kc int, a, b, c *float32, ldc int, flags int, bias *float32, lo, hi float32)

// asmKernel wraps a micro-kernel that writes rows×nr values of C from mr-row A panels. The bounds checks up
// front keep the assembly from reading or writing outside the slices.
func asmKernel(rows, mr, nr int, f func(kc int, a, b, c *float32, ldc int, flags int, bias *float32, lo, hi float32)) kernelFn {
	return func(kc int, a, b, c []float32, ldc int, acc bool, ep *tileEp) {
		_, _, _ = a[kc*mr-1], b[kc*nr-1], c[(rows-1)*ldc+nr-1]
		var flags int
		if acc {
			flags = 1
		}
		var bias *float32
		var lo, hi float32
		if ep != nil {
			if ep.bias != nil {
				_ = ep.bias[rows-1]
				bias, flags = &ep.bias[0], flags|2
			}
			if ep.clamp {
				lo, hi, flags = ep.lo, ep.hi, flags|4
			}
		}
		f(kc, &a[0], &b[0], &c[0], ldc, flags, bias, lo, hi)
	}
}

var (
	avx512Kernel = &ukernel{mr: 12, nr: 32, fn: asmKernel(12, 12, 32, sgemmKernel12x32AVX512), edges: []edgeKernel{
		{4, asmKernel(4, 12, 32, sgemmKernel4x32AVX512)}, {8, asmKernel(8, 12, 32, sgemmKernel8x32AVX512)}},
		row: asmKernel(1, 1, 32, sgemmKernel1x32AVX512)}
	avx2Kernel = &ukernel{mr: 6, nr: 16, fn: asmKernel(6, 6, 16, sgemmKernel6x16AVX2), edges: []edgeKernel{
		{2, asmKernel(2, 6, 16, sgemmKernel2x16AVX2)}, {4, asmKernel(4, 6, 16, sgemmKernel4x16AVX2)}},
		row: asmKernel(1, 1, 16, sgemmKernel1x16AVX2)}
)

// kernelFor returns the micro-kernel for a SIMD level.
func kernelFor(l impl) *ukernel {
	switch l {
	case implAVX512:
		return avx512Kernel
	case implAVX2:
		return avx2Kernel
	}
	return genericKernel
}
