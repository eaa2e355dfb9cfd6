package kernels

// MaxPoolRow computes dst[i] as the maximum of the k taps src[i*stride+t], t = 0…k-1, folded in order with Max's
// rule: tap 0 seeds the maximum and a later tap replaces it only when greater, so a NaN seed stays and later NaNs
// are ignored (the same answer as the runtime's general pooling loop). src must hold (len(dst)-1)*stride+k values
// and k must be at least 1. Strides 1 and 2 run vectorised; others use the Go loop.
func MaxPoolRow(dst, src []float32, k, stride int) {
	if len(dst) == 0 {
		return
	}
	_ = src[(len(dst)-1)*stride+k-1] // bounds check up front, so the assembly never reads past src
	i := maxPoolRowAsm(dst, src, k, stride)
	maxPoolRowGeneric(dst[i:], src[i*stride:], k, stride)
}

// AnyNaN reports whether x holds a NaN. Pooling fast paths use it to fall back to an exact loop on the rare rows
// where NaN order rules differ from theirs.
func AnyNaN(x []float32) bool {
	i := anyNaNAsm(x)
	return i < 0 || anyNaNGeneric(x[i:])
}

// MaxBytes sets dst[i] to the larger of dst[i] and src[i] for every i < len(dst), comparing bytes as uint8, or
// as int8 when signed: the row maximum of 8-bit quantized pooling. src must be at least as long as dst, and the
// two must not overlap.
func MaxBytes(dst, src []byte, signed bool) {
	src = src[:len(dst)]
	i := maxBytesAsm(dst, src, signed)
	maxBytesGeneric(dst[i:], src[i:], signed)
}

// EvenBytes sets dst[i] = src[2i] for every i < len(dst): the stride-2 outputs of 8-bit pooling. src must hold at
// least 2·len(dst) − 1 bytes.
func EvenBytes(dst, src []byte) {
	if len(dst) == 0 {
		return
	}
	_ = src[2*len(dst)-2]
	i := evenBytesAsm(dst, src)
	evenBytesGeneric(dst[i:], src[2*i:])
}

// SumBytes returns Σ (b[i] ^ flip): the sum of 8-bit values as uint8, or of int8 ones moved to uint8 (v + 128)
// with flip 0x80 — the plane sums of 8-bit global average pooling.
func SumBytes(b []byte, flip byte) uint64 {
	i, s := sumBytesAsm(b, flip)
	return s + sumBytesGeneric(b[i:], flip)
}
