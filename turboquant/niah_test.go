package turboquant

import "testing"

// TestNIAH: at 3.5 bits the needle is retrieved in every one of 1000 trials among 32k keys, with the fast and the
// dense rotation; prod keys (unbiased, but the QJL bit has more variance than an mse bit: 938/1000 at 3.5 bits),
// 2.5 and 2 bits are measured and reported (with fewer trials) and must still retrieve most needles. (Over 5 seeds × 1000 trials both rotations miss 1 needle in 5000 at 3.5 bits with a
// 1σ margin: a tail of the quantization noise, not of the rotation.)
func TestNIAH(t *testing.T) {
	trials, n := 1000, 32768
	if testing.Short() {
		trials, n = 200, 8192
	}
	for _, tc := range []struct {
		bits    float64
		kind    RotationKind
		prod    bool
		trials  int
		minRate float64
	}{{3.5, Hadamard, false, trials, 1}, {3.5, Dense, false, trials, 1}, {3.5, Hadamard, true, trials / 4, 0.9},
		{2.5, Hadamard, false, trials / 4, 0.9}, {2, Hadamard, false, trials / 4, 0.7}} {
		r, err := NIAH(NIAHConfig{Dim: 128, N: n, Trials: tc.trials, Bits: tc.bits, Margin: 1, Seed: 1, Rotation: tc.kind,
			KeyProd: tc.prod})
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("NIAH %.1f bits %v %s keys, N=%d: %d/%d = %.3f (%d key bytes/vector)", tc.bits, tc.kind, r.Keys, n, r.Hits,
			r.Trials, r.Rate, r.Bytes)
		if r.Rate < tc.minRate {
			t.Errorf("%.1f bits: retrieval %.3f < %.2f", tc.bits, r.Rate, tc.minRate)
		}
	}
}
