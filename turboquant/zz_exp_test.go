package turboquant

import "testing"

func TestZZExpNIAH(t *testing.T) {
	for _, kind := range []RotationKind{Hadamard, Dense} {
		for _, bits := range []float64{3.5, 3} {
			tot, hits := 0, 0
			for seed := uint64(1); seed <= 5; seed++ {
				r, err := NIAH(NIAHConfig{Dim: 128, N: 32768, Trials: 1000, Bits: bits, Margin: 1, Seed: seed, Rotation: kind})
				if err != nil {
					t.Fatal(err)
				}
				tot += r.Trials
				hits += r.Hits
				t.Logf("%v %.1f seed %d: %d/%d", kind, bits, seed, r.Hits, r.Trials)
			}
			t.Logf("%v %.1f: %d/%d", kind, bits, hits, tot)
		}
	}
}
