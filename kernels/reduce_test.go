package kernels

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestReduce runs Sum and MaxValue at every level against sequential loops: lengths around the 16-lane vectors,
// mixed signs and magnitudes, NaNs in the vector part and in the tail, and an empty slice. Sum agrees within
// float64 rounding (1e-12 of Σ|x|); MaxValue exactly.
func TestReduce(t *testing.T) {
	r := rand.New(rand.NewPCG(61, 62))
	for _, l := range impls() {
		restore := setImpl(l)
		for _, n := range []int{0, 1, 15, 16, 17, 63, 64, 65, 6625} {
			for trial := range 4 {
				x := make([]float32, n)
				var want, abs float64
				wantMax := float32(math.Inf(-1))
				for i := range x {
					x[i] = float32(math.Ldexp(r.Float64()-0.5, r.IntN(40)-20))
					want += float64(x[i])
					abs += math.Abs(float64(x[i]))
					wantMax = max(wantMax, x[i])
				}
				if got := Sum(x); math.Abs(got-want) > 1e-12*abs {
					t.Fatalf("%s n=%d: Sum = %g, want %g", l, n, got, want)
				}
				if trial == 3 && n > 0 { // a NaN somewhere
					x[r.IntN(n)] = float32(math.NaN())
					if got := MaxValue(x); got == got {
						t.Fatalf("%s n=%d: MaxValue = %g with a NaN present", l, n, got)
					}
					continue
				}
				if got := MaxValue(x); got != wantMax {
					t.Fatalf("%s n=%d: MaxValue = %g, want %g", l, n, got, wantMax)
				}
			}
		}
		restore()
	}
}
