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
	last := len(s.hist) - 1
	for _, v := range x {
		if v != v {
			continue
		}
		i := int(math.Abs(float64(v)) / s.width)
		s.hist[min(i, last)]++
	}
}

// rangeFor turns the statistics into the range to quantize: the observed one for MinMax, else [lo, hi] clipped
// to ±threshold chosen on the histogram.
func (s *stat) rangeFor(c Calibrator, pct float64) (float32, float32) {
	if c == CalMinMax || s.hist == nil || s.width == 0 {
		return s.lo, s.hi
	}
	// A tensor that is never negative (after Relu, an image in [0,1]) gets all 256 int8 steps over [0, t] from
	// the asymmetric activation scheme; a signed one gets 128 on each side.
	levels := 128
	if s.lo >= 0 {
		levels = 256
	}
	var bin int
	switch c {
	case CalPercentile:
		bin = percentileBin(s.hist, pct)
	case CalEntropy:
		bin = EntropyThreshold(s.hist, levels)
	case CalMSE:
		bin = mseThreshold(s.hist, levels)
	}
	t := float32(float64(bin) * s.width)
	return max(s.lo, -t), min(s.hi, t)
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
	n := len(hist)
	if n <= levels {
		return n
	}
	hist = append([]float64(nil), hist...)
	hist[0] = hist[1]
	best, bestKL := n, math.Inf(1)
	p := make([]float64, n)
	q := make([]float64, n)
	for i := levels; i <= n; i++ {
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
// values (taken at bin centres) to `levels` steps over [0, t]: rounding error inside, clipping error beyond.
func mseThreshold(hist []float64, levels int) int {
	best, bestErr := len(hist), math.Inf(1)
	for t := levels / 2; t <= len(hist); t++ {
		step := float64(t) / float64(levels-1)
		var e float64
		for i, c := range hist {
			if c == 0 {
				continue
			}
			x := float64(i) + 0.5
			var d float64
			if x > float64(t) {
				d = x - float64(t)
			} else {
				d = x - math.RoundToEven(x/step)*step
			}
			e += c * d * d
		}
		if e < bestErr {
			best, bestErr = t, e
		}
	}
	return best
}
