package turboquant

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// TestHadamardMarginal checks that the fast rotation gives a fixed, adversarially spiky unit vector the coordinate law
// of a uniform point on the sphere, over random seeds: E[(√d·y_i)²] = 1 and E[(√d·y_i)⁴] = 3d/(d+2) (the sphere's
// moments; one round of H·D gives 1 for a basis vector). d = 1536 and 96 exercise the block split of non-powers of two.
func TestHadamardMarginal(t *testing.T) {
	seeds := 3000
	if testing.Short() {
		seeds = 600
	}
	for _, d := range []int{64, 96, 128, 1536} {
		spike := make([]float32, d)
		spike[d-1] = 1
		two := make([]float32, d) // energy split unevenly between the two blocks of a non-power of two
		two[0], two[d-1] = 0.8, 0.6
		kv := make([]float32, d)
		kvLike(rand.New(rand.NewPCG(1, uint64(d))), kv)
		normalize(kv)
		for name, x := range map[string][]float32{"basis": spike, "two": two, "kvlike": kv} {
			t.Run(fmt.Sprintf("d=%d/%s", d, name), func(t *testing.T) {
				y := make([]float32, d)
				tmp := make([]float32, d)
				var m2, m4 float64
				per := make([]float64, d) // per-coordinate second moment
				for s := 0; s < seeds; s++ {
					newHadamardRotation(d, uint64(s)).apply(y, x, tmp)
					for i, v := range y {
						z := float64(v) * float64(v) * float64(d)
						m2 += z
						m4 += z * z
						per[i] += z
					}
				}
				cnt := float64(seeds * d)
				m2 /= cnt
				m4 /= cnt
				want4 := 3 * float64(d) / float64(d+2)
				var worst float64
				for _, p := range per {
					worst = math.Max(worst, math.Abs(p/float64(seeds)-1))
				}
				t.Logf("E z² %.4f, E z⁴ %.4f (sphere %.4f), worst per-coordinate E z² off by %.3f", m2, m4, want4, worst)
				if math.Abs(m2-1) > 1e-3 {
					t.Errorf("E z² = %.4f, want 1", m2)
				}
				if math.Abs(m4-want4) > 0.05*want4 {
					t.Errorf("E z⁴ = %.4f, sphere %.4f", m4, want4)
				}
				// Each coordinate's E z² averages `seeds` draws of a variable with variance ≈ 2: allow 6 standard errors.
				if lim := 6 * math.Sqrt(2/float64(seeds)); worst > lim {
					t.Errorf("per-coordinate E z² off by %.3f > %.3f", worst, lim)
				}
			})
		}
	}
}

// TestDMSEKVLike: on outlier-heavy, offset data (normalised) both rotations meet the paper's D_mse bounds and the
// codebook's theory; the fast rotation at d = 1536 used to exceed the 4-bit upper bound (0.0119 > 0.0106).
func TestDMSEKVLike(t *testing.T) {
	n := 4000
	if testing.Short() {
		n = 1000
	}
	for _, tc := range []struct {
		d    int
		kind RotationKind
	}{{128, Hadamard}, {128, Dense}, {1536, Hadamard}} {
		for b := 1; b <= 4; b++ {
			q, err := NewMSE(tc.d, b, tc.kind, uint64(b))
			if err != nil {
				t.Fatal(err)
			}
			rng := rand.New(rand.NewPCG(uint64(b), 5))
			x := make([]float32, tc.d)
			y := make([]float32, tc.d)
			code := make([]uint16, q.CodeWords())
			var sum float64
			for i := 0; i < n; i++ {
				kvLike(rng, x)
				normalize(x)
				nrm, _ := q.Encode(code, x)
				_ = q.Decode(y, code, nrm)
				for j := range x {
					e := float64(x[j] - y[j])
					sum += e * e
				}
			}
			got, th := sum/float64(n), q.cb.DMSE(tc.d)
			lo, hi := math.Pow(4, -float64(b)), math.Sqrt(3)*math.Pi/2*math.Pow(4, -float64(b))
			t.Logf("%v d=%d b=%d: kvlike D_mse %.5f, theory %.5f, bounds [%.4f, %.4f]", tc.kind, tc.d, b, got, th, lo, hi)
			if got < lo || got > hi {
				t.Errorf("%v d=%d b=%d: D_mse %.5f outside [%.4f, %.4f]", tc.kind, tc.d, b, got, lo, hi)
			}
			if math.Abs(got-th)/th > 0.04 {
				t.Errorf("%v d=%d b=%d: D_mse %.5f vs theory %.5f", tc.kind, tc.d, b, got, th)
			}
		}
	}
}
