package quant

import (
	"encoding/json"
	"math"
	"os"
	"testing"
)

// TestEntropyGolden checks EntropyThreshold against scripts/fixtures/quant_entropy.py, an independent NumPy
// implementation of TensorRT's KL calibration, on 2048-bin histograms.
func TestEntropyGolden(t *testing.T) {
	b, err := os.ReadFile("testdata/entropy_golden.json")
	if err != nil {
		t.Fatal(err)
	}
	var g struct {
		Levels int
		Cases  []struct {
			Name   string
			Levels int
			Hist   []float64
			Bins   int
		}
	}
	if err := json.Unmarshal(b, &g); err != nil {
		t.Fatal(err)
	}
	if len(g.Cases) == 0 {
		t.Fatal("no cases")
	}
	for _, c := range g.Cases {
		t.Run(c.Name, func(t *testing.T) {
			if len(c.Hist) < 2048 {
				t.Fatalf("histogram of %d bins", len(c.Hist))
			}
			levels := c.Levels
			if levels == 0 {
				levels = g.Levels
			}
			if got := EntropyThreshold(c.Hist, levels); got != c.Bins {
				t.Errorf("threshold at %d bins, want %d", got, c.Bins)
			}
		})
	}
}

// TestCalibratorRanges checks each calibrator on a known stream: the 10000 quantiles of the unit exponential
// distribution, −ln(1−u) at u = (i+½)/10000, each also negated (a Laplace sample, so the signed, 128-level
// case applies), whose largest magnitude is ln(20000) ≈ 9.90 and whose 9990th magnitude (99.9 % of the
// mass) is −ln(0.00105) ≈ 6.86. MinMax keeps the whole tail; Percentile clips at the quantile; Entropy and MSE
// clip part of it.
func TestCalibratorRanges(t *testing.T) {
	x := make([]float32, 20000)
	for i := 0; i < 10000; i++ {
		x[2*i] = float32(-math.Log(1 - (float64(i)+0.5)/10000))
		x[2*i+1] = -x[2*i]
	}
	for _, c := range []struct {
		cal    Calibrator
		lo, hi float32 // bounds on the chosen upper limit
	}{{CalMinMax, 9.9, 9.91}, {CalPercentile, 6.85, 6.92}, {CalEntropy, 3, 9.5}, {CalMSE, 3, 9.5}} {
		s := &stat{}
		// Two halves stream through as two samples.
		s.observeRange(x[:10000])
		s.observeRange(x[10000:])
		if c.cal.needsHistogram() {
			s.observeHist(x[:10000], 2048)
			s.observeHist(x[10000:], 2048)
		}
		lo, hi := s.rangeFor(c.cal, 99.9)
		t.Logf("%s: [%g, %g]", c.cal, lo, hi)
		if lo > -c.lo || lo < -c.hi || hi < c.lo || hi > c.hi {
			t.Errorf("%s: range [%g, %g], want [min, %g..%g]", c.cal, lo, hi, c.lo, c.hi)
		}
	}
	if _, err := ParseCalibrator("kl"); err == nil {
		t.Error("unknown calibrator accepted")
	}
}

// TestCalibratorSparseAndOneSided checks the histogram calibrators' two guards: a tensor with fewer than
// minHistValues values per bin keeps its observed range (Entropy on a few hundred squeeze-and-excitation values
// clipped them 4×), and a tensor whose negative side is short (HardSwish's output, here −0.375…0 and an
// exponential tail to 9.9) has its negative values counted as zeros and its positive side measured with nearly
// all 256 levels.
func TestCalibratorSparseAndOneSided(t *testing.T) {
	exp := func(n int) []float32 {
		x := make([]float32, n)
		for i := range x {
			x[i] = float32(-math.Log(1 - (float64(i)+0.5)/float64(n)))
		}
		return x
	}
	sparse := &stat{}
	x := exp(1000)
	sparse.observeRange(x)
	sparse.observeHist(x, 2048)
	for _, cal := range []Calibrator{CalEntropy, CalPercentile, CalMSE} {
		if lo, hi := sparse.rangeFor(cal, 99.9); lo != sparse.lo || hi != sparse.hi {
			t.Errorf("%s on %d values: range [%g, %g], want the observed [%g, %g]", cal, len(x), lo, hi, sparse.lo, sparse.hi)
		}
	}

	hs := &stat{}
	x = exp(10000)
	for i := 0; i < 5000; i++ {
		x = append(x, -0.375*float32(i)/5000)
	}
	hs.observeRange(x)
	hs.observeHist(x, 2048)
	if !hs.oneSided() {
		t.Fatalf("range [%g, %g] not one-sided", hs.lo, hs.hi)
	}
	if hs.hist[0] < 5000 {
		t.Errorf("bin 0 holds %g values, want the 5000 negative ones at least", hs.hist[0])
	}
	if got := hs.stepsFor(1024); got < 230 || got > 256 { // t ≈ 4.95: 256·4.95/(4.95+0.375) ≈ 238
		t.Errorf("levels for [0, %.2f]: %d, want about 238", 1024*hs.width, got)
	}
	sym := &stat{lo: -2, hi: 2, width: 2.0 / 2048}
	if got := sym.stepsFor(2048); got != 128 {
		t.Errorf("levels for a symmetric range: %d, want 128", got)
	}
	lo, hi := hs.rangeFor(CalEntropy, 0)
	if lo != hs.lo || hi <= 0 {
		t.Errorf("entropy range [%g, %g]: want the whole negative side kept", lo, hi)
	}
	t.Logf("one-sided entropy range [%g, %g] of [%g, %g]", lo, hi, hs.lo, hs.hi)
}

// TestMSEThresholdLaplace checks the MSE calibrator's threshold search against Banner et al.'s analysis of
// clipping ("ACIQ: Analytical Clipping for Integer Quantization", 2019): for a Laplace(0, 1) tensor quantized
// uniformly with 2^M levels over [−α, α], the expected squared error 2e^(−α) + (2α/2^M)²/12 is smallest at
// α = 2.83, 3.89, 5.03 for M = 2, 3, 4 (their table). The histogram holds the exact expected counts of |x| (the
// exponential distribution) in 2048 bins over [0, 16]; M bits give 2^(M−1) steps on each side. Rounding each
// bin's centre instead of charging Δ²/12 (the search before) chose 2.90 and 3.94 at 2 and 3 bits.
func TestMSEThresholdLaplace(t *testing.T) {
	const bins, top = 2048, 16.0
	width := top / bins
	hist := make([]float64, bins)
	for i := range hist {
		hist[i] = 1e6 * (math.Exp(-float64(i)*width) - math.Exp(-float64(i+1)*width))
	}
	for m, want := range map[int]float64{2: 2.83, 3: 3.89, 4: 5.03} {
		got := float64(mseThreshold(hist, 2, func(int) int { return 1<<(m-1) + 1 })) * width
		t.Logf("%d bits: α = %.3f (ACIQ %.2f)", m, got, want)
		if math.Abs(got-want) > 0.03 {
			t.Errorf("%d bits: α = %.3f, want %.2f", m, got, want)
		}
	}
}
