package quant

import (
	"fmt"
	"io"
	"math"
	"strings"
)

// Explanation is a worked example of quantizing a handful of values, step by step.
type Explanation struct {
	Values     []float32
	Bits       int
	Scheme     Scheme
	Qmin, Qmax int32
	Rmin, Rmax float32 // the data's range, before widening to include 0
	Params
	Rows []ExplainRow
}

// ExplainRow is one value's round trip.
type ExplainRow struct {
	X          float32 // the real value
	Scaled     float64 // x/scale + zero point, before rounding
	Q          int32   // the stored integer
	Clamped    bool    // Q was clamped to [Qmin, Qmax]
	Dequant    float32 // (Q − zp)·scale
	AbsError   float32 // |x − Dequant|
	WithinHalf bool    // AbsError ≤ scale/2 (always true for values inside the range)
}

// Explain quantizes values with a bits-wide integer: asymmetric uses [0, 2^bits−1] (uint8 at 8 bits),
// symmetric [−(2^(bits−1)−1), 2^(bits−1)−1] (int8's [−127, 127]), with ComputeParams' formulas.
func Explain(values []float32, bits int, s Scheme) (*Explanation, error) {
	if len(values) == 0 {
		return nil, fmt.Errorf("quant: explain needs at least one value")
	}
	if bits < 2 || bits > 16 {
		return nil, fmt.Errorf("quant: bits %d out of range 2–16", bits)
	}
	for _, v := range values {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return nil, fmt.Errorf("quant: explain needs finite values, got %g", v)
		}
	}
	e := &Explanation{Values: values, Bits: bits, Scheme: s}
	if s == Symmetric {
		e.Qmax = int32(1)<<(bits-1) - 1
		e.Qmin = -e.Qmax
	} else {
		e.Qmin, e.Qmax = 0, int32(1)<<bits-1
	}
	e.Rmin, e.Rmax = MinMax(values)
	e.Params = ComputeParams(e.Rmin, e.Rmax, e.Qmin, e.Qmax, s)
	for _, x := range values {
		r := ExplainRow{X: x, Scaled: float64(x/e.Scale) + float64(e.ZeroPoint)}
		r.Q = Quantize(x, e.Params, e.Qmin, e.Qmax)
		r.Clamped = math.RoundToEven(r.Scaled) != float64(r.Q)
		r.Dequant = Dequantize(r.Q, e.Params)
		r.AbsError = float32(math.Abs(float64(x - r.Dequant)))
		// A float32 round trip can exceed scale/2 by an ulp; allow that much.
		r.WithinHalf = float64(r.AbsError) <= float64(e.Scale)/2*(1+1e-6)
		e.Rows = append(e.Rows, r)
	}
	return e, nil
}

// MaxError is the largest absolute round-trip error.
func (e *Explanation) MaxError() float32 {
	var m float32
	for _, r := range e.Rows {
		m = max(m, r.AbsError)
	}
	return m
}

// Write prints the explanation as numbered steps and a table.
func (e *Explanation) Write(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "Quantizing %d values to %d bits, %s\n\n", len(e.Values), e.Bits, e.Scheme)
	fmt.Fprintf(&b, "1. Integer range: [%d, %d]\n", e.Qmin, e.Qmax)
	fmt.Fprintf(&b, "2. Data range: min %g, max %g", e.Rmin, e.Rmax)
	lo, hi := min(e.Rmin, 0), max(e.Rmax, 0)
	if lo != e.Rmin || hi != e.Rmax {
		fmt.Fprintf(&b, "; widened to include 0: [%g, %g]", lo, hi)
	}
	b.WriteString("\n")
	if e.Scheme == Symmetric {
		m := max(-lo, hi)
		fmt.Fprintf(&b, "   symmetric: use [-%g, %g]\n", m, m)
		lo, hi = -m, m
	}
	fmt.Fprintf(&b, "3. scale = (%g - (%g)) / (%d - (%d)) = %.9g\n", hi, lo, e.Qmax, e.Qmin, e.Scale)
	if e.Scheme == Symmetric {
		fmt.Fprintf(&b, "4. zero point = round((%d + %d) / 2) = %d\n", e.Qmin, e.Qmax, e.ZeroPoint)
	} else {
		fmt.Fprintf(&b, "4. zero point = round(%d - (%g) / scale) = %d   (round half to even)\n", e.Qmin, lo, e.ZeroPoint)
	}
	fmt.Fprintf(&b, "5. q = clamp(round(x / scale) + zero point, %d, %d);  x' = (q - zero point) * scale\n\n", e.Qmin, e.Qmax)
	fmt.Fprintf(&b, "%12s %14s %8s %14s %12s\n", "x", "x/scale+zp", "q", "x'", "|x - x'|")
	for _, r := range e.Rows {
		note := ""
		if r.Clamped {
			note = "  (clamped)"
		}
		fmt.Fprintf(&b, "%12.6g %14.4f %8d %14.8g %12.3g%s\n", r.X, r.Scaled, r.Q, r.Dequant, r.AbsError, note)
	}
	fmt.Fprintf(&b, "\nmax error %.3g <= scale/2 = %.3g: %v\n", e.MaxError(), e.Scale/2, e.allWithin())
	_, err := io.WriteString(w, b.String())
	return err
}

func (e *Explanation) allWithin() bool {
	for _, r := range e.Rows {
		if !r.WithinHalf {
			return false
		}
	}
	return true
}
