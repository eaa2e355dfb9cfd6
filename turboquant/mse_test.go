package turboquant

import (
	"errors"
	"math"
	"math/rand/v2"
	"testing"
)

func randUnit(rng *rand.Rand, x []float32) {
	var s float64
	for i := range x {
		v := rng.NormFloat64()
		x[i] = float32(v)
		s += v * v
	}
	inv := 1 / math.Sqrt(s)
	for i := range x {
		x[i] = float32(float64(x[i]) * inv)
	}
}

// TestDMSEPaper measures D_mse = E‖x − x̃‖² over random unit vectors at d = 128 and compares it with the paper's
// values (Thm. 1 table: 0.36, 0.117, 0.03, 0.009; the exact-density codebook gives 0.3609, 0.1160, 0.0340, 0.0093)
// and bounds 4^−b ≤ D_mse ≤ (√3π/2)·4^−b.
func TestDMSEPaper(t *testing.T) {
	n := 100000
	if testing.Short() {
		n = 20000
	}
	want := []float64{0.3609, 0.1160, 0.0340, 0.0093}
	for b := 1; b <= 4; b++ {
		q, err := NewMSE(128, b, Hadamard, uint64(b))
		if err != nil {
			t.Fatal(err)
		}
		got := measureDMSE(q, n, uint64(100+b))
		lo, hi := math.Pow(4, -float64(b)), math.Sqrt(3)*math.Pi/2*math.Pow(4, -float64(b))
		t.Logf("b=%d D_mse measured %.5f theory %.5f paper %.4f bounds [%.4f, %.4f]", b, got, q.cb.DMSE(128), want[b-1], lo, hi)
		if math.Abs(got-want[b-1])/want[b-1] > 0.02 {
			t.Errorf("b=%d: D_mse %.5f not within 2%% of %.4f", b, got, want[b-1])
		}
		if got < lo || got > hi {
			t.Errorf("b=%d: D_mse %.5f outside [%.4f, %.4f]", b, got, lo, hi)
		}
		if th := q.cb.DMSE(128); math.Abs(got-th)/th > 0.01 {
			t.Errorf("b=%d: measured %.5f vs codebook theory %.5f", b, got, th)
		}
	}
}

func measureDMSE(q *MSE, n int, seed uint64) float64 {
	rng := rand.New(rand.NewPCG(seed, 1))
	d := q.Dim()
	x := make([]float32, d)
	y := make([]float32, d)
	code := make([]uint16, q.CodeWords())
	var sum float64
	for i := 0; i < n; i++ {
		randUnit(rng, x)
		nrm, _ := q.Encode(code, x)
		_ = q.Decode(y, code, nrm)
		for j := range x {
			e := float64(x[j] - y[j])
			sum += e * e
		}
	}
	return sum / float64(n)
}

func TestRotationsOrthogonal(t *testing.T) {
	for _, kind := range []RotationKind{Hadamard, Dense} {
		for _, d := range []int{2, 17, 64, 128, 1536} {
			if kind == Dense && d > 128 {
				continue
			}
			r := newRotation(kind, d, 7)
			rng := rand.New(rand.NewPCG(1, 2))
			x := make([]float32, d)
			y := make([]float32, d)
			z := make([]float32, d)
			tmp := make([]float32, d)
			randUnit(rng, x)
			r.apply(y, x, tmp)
			r.inverse(z, y, tmp)
			var n, e float64
			for i := range x {
				n += float64(y[i]) * float64(y[i])
				e = math.Max(e, math.Abs(float64(z[i]-x[i])))
			}
			if math.Abs(n-1) > 1e-5 || e > 1e-5 {
				t.Errorf("%v d=%d: ‖Πx‖² = %v, max|ΠᵀΠx − x| = %v", kind, d, n, e)
			}
		}
	}
}

func TestMSEBadInput(t *testing.T) {
	q, err := NewMSE(64, 3, Hadamard, 1)
	if err != nil {
		t.Fatal(err)
	}
	code := make([]uint16, q.CodeWords())
	nan := make([]float32, 64)
	nan[5] = float32(math.NaN())
	inf := make([]float32, 64)
	inf[0] = float32(math.Inf(-1))
	big := make([]float32, 64)
	for i := range big {
		big[i] = math.MaxFloat32
	}
	for name, x := range map[string][]float32{"short": make([]float32, 63), "nan": nan, "inf": inf, "overflow": big} {
		if _, err := q.Encode(code, x); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: err = %v, want ErrInvalid", name, err)
		}
	}
	if _, err := q.Encode(code[:1], make([]float32, 64)); !errors.Is(err, ErrInvalid) {
		t.Errorf("short code: err = %v", err)
	}
	// Zero vector: defined behaviour, decodes to exactly zero.
	n, err := q.Encode(code, make([]float32, 64))
	if err != nil || n != 0 {
		t.Fatalf("zero vector: n=%v err=%v", n, err)
	}
	out := make([]float32, 64)
	out[3] = 1
	if err := q.Decode(out, code, n); err != nil {
		t.Fatal(err)
	}
	for i, v := range out {
		if v != 0 {
			t.Fatalf("zero vector decoded to %v at %d", v, i)
		}
	}
	for _, b := range []int{0, 9} {
		if _, err := NewMSE(64, b, Hadamard, 1); err == nil {
			t.Errorf("bits=%d accepted", b)
		}
	}
}
