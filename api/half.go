package api

import "math"

// float64ToHalf rounds f to the nearest IEEE 754 binary16 value, ties to even, directly from float64 (as
// NumPy's astype(float16) does, so no double rounding through float32). ok is false when f is finite but
// beyond the binary16 range (it would round to infinity).
func float64ToHalf(f float64) (h uint16, ok bool) {
	u := math.Float64bits(f)
	sign := uint16(u>>48) & 0x8000
	exp := int(u>>52) & 0x7ff
	frac := u & (1<<52 - 1)
	switch {
	case exp == 0x7ff: // infinity or NaN: JSON cannot spell them, so only Go callers reach this
		if frac != 0 {
			return sign | 0x7e00, true
		}
		return sign | 0x7c00, true
	case exp == 0: // zero or a float64 subnormal, far below binary16's smallest subnormal (2^-24)
		return sign, true
	}
	e := exp - 1023
	m := frac | 1<<52 // 53-bit significand with its implicit leading 1
	if e < -14 {
		// Subnormal result: the value is q·2^-24 with q < 1024; q = 1024 carries into the smallest normal,
		// whose bit pattern 0x0400 is exactly q.
		return sign | uint16(roundShift(m, uint(42+(-14-e)))), true
	}
	q := roundShift(m, 42) // 11 significant bits, in [1024, 2048]
	if q == 2048 {
		q, e = 1024, e+1
	}
	if e > 15 {
		return 0, false
	}
	return sign | uint16(e+15)<<10 | uint16(q&0x3ff), true
}

// roundShift is m / 2^shift rounded to nearest, ties to even.
func roundShift(m uint64, shift uint) uint64 {
	if shift >= 64 {
		return 0 // m < 2^53 is below half of 2^shift
	}
	q := m >> shift
	rem := m & (1<<shift - 1)
	half := uint64(1) << (shift - 1)
	if rem > half || (rem == half && q&1 == 1) {
		q++
	}
	return q
}

// float32ToBFloat16 rounds f to bfloat16 (the top 16 bits of a float32), ties to even, as PyTorch's
// .to(torch.bfloat16) does; ok is false when a finite f rounds to infinity.
func float32ToBFloat16(f float32) (b uint16, ok bool) {
	u := math.Float32bits(f)
	if u&0x7f800000 == 0x7f800000 { // infinity or NaN pass through (NaN kept quiet)
		if u&0x7fffff != 0 {
			return uint16(u>>16) | 0x40, true
		}
		return uint16(u >> 16), true
	}
	r := (u + 0x7fff + (u>>16)&1) >> 16
	if r&0x7f80 == 0x7f80 {
		return 0, false
	}
	return uint16(r), true
}
