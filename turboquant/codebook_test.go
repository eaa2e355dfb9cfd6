package turboquant

import (
	"math"
	"testing"
)

// TestGaussCodebookPaper checks the d→∞ centroids quoted in TurboQuant §3.1: b=1 ±√(2/π), b=2 ±0.453, ±1.510.
func TestGaussCodebookPaper(t *testing.T) {
	for _, tc := range []struct {
		bits int
		want []float64
		tol  float64
	}{
		{1, []float64{-math.Sqrt(2 / math.Pi), math.Sqrt(2 / math.Pi)}, 1e-9},
		{2, []float64{-1.510, -0.4528, 0.4528, 1.510}, 1e-3},
	} {
		cb, err := GaussCodebook(tc.bits)
		if err != nil {
			t.Fatal(err)
		}
		for i, w := range tc.want {
			if math.Abs(cb.Centroids[i]-w) > tc.tol {
				t.Errorf("b=%d centroid %d = %.6f, want %.6f", tc.bits, i, cb.Centroids[i], w)
			}
		}
	}
	// Known Gaussian Lloyd-Max distortions (Max 1960): 0.3634, 0.1175, 0.03454, 0.009497.
	for b, want := range []float64{0, 1 - 2/math.Pi, 0.1175, 0.03454, 0.009497} {
		if b == 0 {
			continue
		}
		cb, _ := GaussCodebook(b)
		if math.Abs(cb.MSE-want)/want > 2e-3 {
			t.Errorf("gauss b=%d MSE %.6f, want %.6f", b, cb.MSE, want)
		}
	}
}

// TestSphereCodebookLimit checks √d·centroids of the exact sphere codebook approach the Gaussian ones as d grows.
func TestSphereCodebookLimit(t *testing.T) {
	for b := 1; b <= 4; b++ {
		g, _ := GaussCodebook(b)
		prev := math.Inf(1)
		for _, d := range []int{16, 128, 1536, 65536} {
			cb, err := SphereCodebook(d, b)
			if err != nil {
				t.Fatal(err)
			}
			var worst float64
			for i, c := range cb.Centroids {
				worst = math.Max(worst, math.Abs(c*math.Sqrt(float64(d))-g.Centroids[i]))
			}
			if worst >= prev {
				t.Errorf("b=%d d=%d: gap to gaussian %.3g did not shrink (was %.3g)", b, d, worst, prev)
			}
			prev = worst
		}
		if prev > 2e-3*float64(b) {
			t.Errorf("b=%d d=65536: gap to gaussian %.3g", b, prev)
		}
	}
}

// TestLloydMaxOptimality checks both Lloyd-Max conditions on the exact density, for every b and a spread of d.
func TestLloydMaxOptimality(t *testing.T) {
	dims := []int{2, 3, 5, 64, 128, 1536}
	bits := []int{1, 2, 3, 4, 5, 6, 7, 8}
	if testing.Short() {
		dims = []int{3, 128}
	}
	for _, d := range dims {
		for _, b := range bits {
			cb, err := SphereCodebook(d, b)
			if err != nil {
				t.Fatal(err)
			}
			dn := sphereDensity(d)
			s := math.Sqrt(float64(d)) // measure errors in units of the coordinate's spread
			for i, c := range cb.Centroids {
				lo, hi := -1.0, 1.0
				if i > 0 {
					lo = cb.Boundaries[i-1]
					if got := (cb.Centroids[i-1] + c) / 2; math.Abs(got-lo) > 1e-15 {
						t.Fatalf("d=%d b=%d boundary %d not a midpoint", d, b, i-1)
					}
				}
				if i < len(cb.Boundaries) {
					hi = cb.Boundaries[i]
				}
				m0, m1, _ := dn.moments(lo, hi)
				if m0 == 0 {
					continue // a cell with no mass (far tail at large d, b): any centroid is optimal
				}
				if e := math.Abs(m1/m0-c) * s; e > 1e-6 {
					t.Errorf("d=%d b=%d centroid %d: |c − E[x|cell]|·√d = %.3g", d, b, i, e)
				}
			}
		}
	}
}

func TestCodebookBadInput(t *testing.T) {
	for _, tc := range []struct{ d, b int }{{1, 2}, {0, 2}, {128, 0}, {128, 9}, {-3, 3}} {
		if _, err := SphereCodebook(tc.d, tc.b); err == nil {
			t.Errorf("SphereCodebook(%d, %d): no error", tc.d, tc.b)
		}
	}
}
