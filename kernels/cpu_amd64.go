//go:build !purego

package kernels

// maxImpl is the best SIMD level this CPU supports. AVX-512 needs only the F subset (plus the OS saving ZMM state,
// which x/sys/cpu already checks); AVX2 kernels also use FMA.
var maxImpl = func() impl {
	switch {
	case X86.AVX512F:
		return implAVX512
	case X86.AVX2 && X86.FMA:
		return implAVX2
	}
	return implGeneric
}()
