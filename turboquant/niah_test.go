package turboquant

import "testing"

// TestNIAH: at 3.5 bits the needle is retrieved in every one of 1000 trials among 32k keys; 2.5 and 2 bits are
// measured and reported (with fewer trials) and must still retrieve most needles. It uses the paper's dense
// rotation: with the fast Hadamard rotation 3.5 bits misses about 1 needle in 1000 on this data.
func TestNIAH(t *testing.T) {
	trials, n := 1000, 32768
	if testing.Short() {
		trials, n = 200, 8192
	}
	for _, tc := range []struct {
		bits    float64
		trials  int
		minRate float64
	}{{3.5, trials, 1}, {2.5, trials / 4, 0.9}, {2, trials / 4, 0.7}} {
		r, err := NIAH(NIAHConfig{Dim: 128, N: n, Trials: tc.trials, Bits: tc.bits, Margin: 1, Seed: 1, Rotation: Dense})
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("NIAH %.1f bits, N=%d: %d/%d = %.3f (%d key bytes/vector)", tc.bits, n, r.Hits, r.Trials, r.Rate, r.Bytes)
		if r.Rate < tc.minRate {
			t.Errorf("%.1f bits: retrieval %.3f < %.2f", tc.bits, r.Rate, tc.minRate)
		}
	}
}
