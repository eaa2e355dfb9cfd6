package turboquant

import "math"

// halfBits converts f to IEEE 754 binary16, rounding to nearest even; out-of-range values become ±Inf and NaN stays
// NaN. The cache stores radii and values in this form.
func halfBits(f float32) uint16 {
	u := math.Float32bits(f)
	sign := uint16(u>>16) & 0x8000
	a := u & 0x7fffffff // |f|
	switch {
	case a >= 0x7f800000: // Inf or NaN
		if a > 0x7f800000 {
			return sign | 0x7e00
		}
		return sign | 0x7c00
	case a >= 0x477ff000: // rounds to ≥ 65520: overflow
		return sign | 0x7c00
	case a < 0x38800000: // below the smallest normal half 2^−14: a subnormal multiple of 2^−24
		// Adding 0.5 makes the float unit do the rounding: its mantissa's low bits are then |f|/2^−24, rounded
		// to nearest even.
		v := math.Float32frombits(a) + 0.5
		return sign | uint16(math.Float32bits(v)-0x3f000000)
	}
	// Normal: rebias the exponent (127 → 15) and keep 10 mantissa bits, rounding half to even on the 13 dropped.
	odd := (a >> 13) & 1
	a += 0xfff + odd
	return sign | uint16((a-0x38000000)>>13)
}

// halfFloat converts binary16 bits to float32 (exactly).
func halfFloat(h uint16) float32 {
	sign := uint32(h&0x8000) << 16
	e := uint32(h>>10) & 0x1f
	m := uint32(h & 0x3ff)
	switch e {
	case 0: // zero or subnormal: m·2^−24
		f := float32(m) * (1.0 / (1 << 24))
		return math.Float32frombits(math.Float32bits(f) | sign)
	case 0x1f:
		return math.Float32frombits(sign | 0x7f800000 | m<<13)
	}
	return math.Float32frombits(sign | (e+112)<<23 | m<<13)
}
