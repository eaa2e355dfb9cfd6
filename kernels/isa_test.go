package kernels

import "testing"

func TestCapFeatures(t *testing.T) {
	all := Features{true, true, true, true, true, true, true, true, true}
	for _, c := range []struct {
		cap  string
		want Features
		err  bool
	}{
		{"", all, false},
		{"avx512", all, false},
		{" AVX2 ", Features{AVX2: true, FMA: true, BMI2: true}, false},
		{"generic", Features{}, false},
		{"sse4", all, true},
	} {
		got, err := capFeatures(true, true, true, true, true, true, true, true, true, c.cap)
		if got != c.want || (err != nil) != c.err {
			t.Errorf("cap %q: %+v, %v; want %+v, error %v", c.cap, got, err, c.want, c.err)
		}
	}
	// A cap never adds what the CPU lacks.
	if got, _ := capFeatures(true, true, false, false, false, false, false, false, false, "avx512"); got != (Features{AVX2: true, FMA: true}) {
		t.Errorf("avx512 cap on an AVX2 CPU: %+v", got)
	}
}
