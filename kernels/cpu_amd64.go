//go:build !purego

package kernels

import "golang.org/x/sys/cpu"

// maxImpl is the best SIMD level this CPU supports. AVX-512 needs only the F subset (plus the OS saving ZMM state,
// which x/sys/cpu already checks); AVX2 kernels also use FMA.
var maxImpl = func() impl {
	switch {
	case cpu.X86.HasAVX512F:
		return implAVX512
	case cpu.X86.HasAVX2 && cpu.X86.HasFMA:
		return implAVX2
	}
	return implGeneric
}()
