package quant

import (
	"fmt"
	"math"
)

// Calibrator names a way to choose an activation's range from calibration data.
type Calibrator string

// Calibrators. CalMinMax takes the observed range; the others build a histogram of |x| and clip outliers.
const (
	CalMinMax     Calibrator = "minmax"
	CalPercentile Calibrator = "percentile"
	CalEntropy    Calibrator = "entropy"
	CalMSE        Calibrator = "mse"
)

// ParseCalibrator parses a --calibrator value.
func ParseCalibrator(s string) (Calibrator, error) {
	switch c := Calibrator(s); c {
	case CalMinMax, CalPercentile, CalEntropy, CalMSE:
		return c, nil
	}
	return "", fmt.Errorf("quant: unknown calibrator %q (want minmax, percentile, entropy or mse)", s)
}

// needsHistogram reports whether c needs the second, histogram-filling pass over the data.
func (c Calibrator) needsHistogram() bool { return c != CalMinMax }

// stat accumulates one tensor's statistics over the calibration set: its range in the first pass and, for the
// histogram calibrators, a histogram of |x| over [0, max|x|] in the second. Memory is the histogram alone,
// however many samples stream through.
type stat struct {
	lo, hi float32
	seen   bool
	hist   []float64
	width  float64 // bin width of hist
	count  int     // values in hist
}

func (s *stat) observeRange(x []float32) {
	lo, hi := MinMax(x)
	if len(x) == 0 {
		return
	}
	if !s.seen {
		s.lo, s.hi, s.seen = lo, hi, true
		return
	}
	s.lo, s.hi = min(s.lo, lo), max(s.hi, hi)
}

func (s *stat) observeHist(x []float32, bins int) {
	if s.hist == nil {
		s.hist = make([]float64, bins)
		amax := math.Max(math.Abs(float64(s.lo)), math.Abs(float64(s.hi)))
		s.width = amax / float64(bins)
	}
	if s.width == 0 {
		s.hist[0] += float64(len(x))
		return
	}
	s.count += len(x)
	last := len(s.hist) - 1
	oneSided := s.oneSided()
	for _, v := range x {
		if v != v {
			continue
		}
		a := math.Abs(float64(v))
		if oneSided && v < 0 {
			a = 0
		}
		s.hist[min(int(a/s.width), last)]++
	}
}

// oneSided reports whether the tensor's negative values are a small, bounded part of its range (HardSwish's
// output: −0.375 to 10 or more; Swish's: −0.28 up). No threshold the calibrators choose clips them, so the
// histogram counts them as zeros and the calibrators weigh only the positive side.
func (s *stat) oneSided() bool { return s.lo < 0 && -s.lo*8 < s.hi }

// rangeFor turns the statistics into the range to quantize: the observed one for MinMax, else [lo, hi] clipped
// to ±threshold chosen on the histogram.
func (s *stat) rangeFor(c Calibrator, pct float64) (float32, float32) {
	if c == CalMinMax || s.hist == nil || s.width == 0 || s.count < minHistValues*len(s.hist) {
		return s.lo, s.hi
	}
	// A tensor that is never negative (after Relu, an image in [0,1]) gets all 256 int8 levels over [0, t] from
	// the asymmetric activation scheme; a signed one about 128 on each side, more on the positive side when the
	// negative side is shorter (stepsFor). The search starts at this many bins.
	levels := 128
	if s.lo >= 0 {
		levels = 256
	}
	var bin int
	switch c {
	case CalPercentile:
		bin = percentileBin(s.hist, pct)
	case CalEntropy:
		bin = entropyThreshold(s.hist, levels, s.stepsFor)
	case CalMSE:
		bin = mseThreshold(s.hist, levels, s.stepsFor)
	}
	t := float32(float64(bin) * s.width)
	return max(s.lo, -t), min(s.hi, t)
}

// minHistValues is the fewest values per histogram bin, on average, from which the histogram calibrators choose a
// threshold; a tensor seen less often keeps its observed range. A squeeze-and-excitation branch works on one value
// per channel (PP-OCRv4 rec: 60 to 480 per image), so 16 calibration images give it a few hundred values spread
// over 2048 bins: Entropy's KL search on that sparse histogram clipped a Relu's [0, 15] to [0, 3.8], and rec
// predicted blank at every step (per-step agreement 0.65; 0.82 with this rule).
const minHistValues = 4

// stepsFor is the number of int8 levels the asymmetric scheme gives [0, t] when the range is clipped to
// i bins (t = i bin widths): 256 scaled by t's share of the clipped range [max(lo, −t), min(hi, t)]. The
// histogram folds both signs into |x| as TensorRT's does, but TensorRT quantizes symmetrically, with 128 steps per
// side; here a tensor that is barely negative (HardSwish's output reaches −0.375 and runs to 10 or more) keeps
// almost all 256 levels for its positive side. Measured with 128, Entropy clipped PP-OCRv4 rec's HardSwish
// outputs to an eighth of their range; with this count, to a quarter at most.
func (s *stat) stepsFor(i int) int {
	t := float64(i) * s.width
	neg, pos := min(-float64(s.lo), t), min(float64(s.hi), t)
	if neg <= 0 || pos <= 0 {
		return 256
	}
	return max(1, int(math.Round(256*pos/(pos+neg))))
}

// percentileBin returns the number of leading bins holding pct percent of the mass.
func percentileBin(hist []float64, pct float64) int {
	var total float64
	for _, v := range hist {
		total += v
	}
	target, acc := total*pct/100, 0.0
	for i, v := range hist {
		acc += v
		if acc >= target {
			return i + 1
		}
	}
	return len(hist)
}

// EntropyThreshold picks the clipping threshold of a histogram of |x| as TensorRT's entropy calibrator does (Szymon
// Migacz, "8-bit Inference with TensorRT", GTC 2017): for every candidate i from levels to len(hist) bins, the
// reference distribution P is hist[:i] with the outliers beyond added to its last bin; Q is hist[:i] merged into
// `levels` groups of i/levels bins (the last group takes the remainder) and spread back evenly over the bins
// where P is nonzero; the i with the smallest KL(P‖Q) wins (the largest such i on a tie). It returns that i: the
// threshold is i bin widths.
//
// Like NVIDIA's pytorch-quantization, it first replaces the count of bin 0 by that of bin 1. Bin 0 holds the exact
// zeros (Relu's output, an image's background: 57–80 % of the values in the MNIST CNN), which every candidate range
// represents exactly; left in, that spike dominates KL(P‖Q) as soon as Q merges bin 0 with its neighbours, so the
// minimum lands on the candidates with one bin per level (i ≈ levels) and the range is clipped to a small fraction
// of the data (0.5 of MNIST's [0,1] input, 0.5 of a Relu whose values reach 5.5) — top-1 fell from 98 % to 21 %.
func EntropyThreshold(hist []float64, levels int) int {
	return entropyThreshold(hist, levels, func(int) int { return levels })
}

// entropyThreshold is EntropyThreshold with the number of quantization levels a function of the candidate i
// (from first to len(hist) bins).
func entropyThreshold(hist []float64, first int, levelsAt func(i int) int) int {
	n := len(hist)
	if n <= first {
		return n
	}
	hist = append([]float64(nil), hist...)
	hist[0] = hist[1]
	best, bestKL := n, math.Inf(1)
	p := make([]float64, n)
	q := make([]float64, n)
	for i := first; i <= n; i++ {
		levels := min(levelsAt(i), i)
		copy(p, hist[:i])
		for _, v := range hist[i:] {
			p[i-1] += v
		}
		merged := i / levels
		for j := 0; j < levels; j++ {
			start, end := j*merged, (j+1)*merged
			if j == levels-1 {
				end = i
			}
			var sum float64
			nonzero := 0
			for k := start; k < end; k++ {
				sum += hist[k]
				if p[k] != 0 {
					nonzero++
				}
			}
			for k := start; k < end; k++ {
				q[k] = 0
				if p[k] != 0 {
					q[k] = sum / float64(nonzero)
				}
			}
		}
		if kl := klDivergence(p[:i], q[:i]); kl <= bestKL {
			best, bestKL = i, kl
		}
	}
	return best
}

// klDivergence is KL(P‖Q) of two unnormalised histograms, skipping bins where P is 0; a bin where P has mass and
// Q has none makes it infinite (a candidate that cannot be chosen).
func klDivergence(p, q []float64) float64 {
	var sp, sq float64
	for i := range p {
		sp += p[i]
		sq += q[i]
	}
	if sp == 0 || sq == 0 {
		return math.Inf(1)
	}
	var kl float64
	for i := range p {
		if p[i] == 0 {
			continue
		}
		if q[i] == 0 {
			return math.Inf(1)
		}
		pi, qi := p[i]/sp, q[i]/sq
		kl += pi * math.Log(pi/qi)
	}
	return kl
}

// mseThreshold picks the number of bins t minimising the expected squared error of quantizing the histogram's
// values to levelsAt(t) levels over [0, t] (see stepsFor): Δ²/12 for each value inside (Δ = t/(levels−1), the
// error of a value spread evenly between two levels) and the squared distance to t for each beyond, as Banner et
// al. model it ("ACIQ", 2019). Rounding each bin's centre instead aliases where Δ is a few bins or less: centres
// that fall on the grid count as exact, and the search favoured those thresholds (PP-OCRv4 rec read 116 of 128
// lines as fp32 did with it, 125 with Δ²/12). Candidates start at first/2 bins.
func mseThreshold(hist []float64, first int, levelsAt func(t int) int) int {
	// Suffix sums of the counts c, c·x and c·x² (x a bin's centre) give each candidate's clipping error,
	// Σ_{i ≥ t} c·((x − t)² + 1/12), in constant time; the 1/12 is the spread within a bin.
	n := len(hist)
	s0, s1, s2 := make([]float64, n+1), make([]float64, n+1), make([]float64, n+1)
	for i := n - 1; i >= 0; i-- {
		x := float64(i) + 0.5
		s0[i], s1[i], s2[i] = s0[i+1]+hist[i], s1[i+1]+hist[i]*x, s2[i+1]+hist[i]*(x*x+1.0/12)
	}
	best, bestErr := n, math.Inf(1)
	for t := max(first/2, 1); t <= n; t++ {
		step := float64(t) / float64(max(2, levelsAt(t))-1)
		ft := float64(t)
		clip := s2[t] - 2*ft*s1[t] + ft*ft*s0[t]
		if e := (s0[0]-s0[t])*step*step/12 + clip; e < bestErr {
			best, bestErr = t, e
		}
	}
	return best
}
