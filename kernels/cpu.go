package kernels

// impl is a SIMD level. Dispatchers read level; tests switch it (setImpl) to run every variant against the twins,
// like crypto/internal/impl does for the standard library.
type impl uint8

const (
	implGeneric impl = iota // pure-Go twins
	implAVX2                // AVX2 + FMA, 8 lanes
	implAVX512              // AVX-512F, 16 lanes
)

func (l impl) String() string {
	switch l {
	case implAVX2:
		return "avx2"
	case implAVX512:
		return "avx512"
	}
	return "generic"
}

// level is the SIMD level every dispatcher uses; it starts at the best the CPU supports.
var level = maxImpl

// impls lists the levels this build and CPU can run, generic first.
func impls() []impl {
	out := []impl{implGeneric}
	for l := implGeneric + 1; l <= maxImpl; l++ {
		out = append(out, l)
	}
	return out
}

// setImpl switches the SIMD level (tests only) and returns a func that restores the previous one.
func setImpl(l impl) (restore func()) {
	old := level
	level = l
	return func() { level = old }
}

// Impl names the SIMD level in use ("avx512", "avx2" or "generic"), for benchmark reports.
func Impl() string { return level.String() }
