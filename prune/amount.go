package prune

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Amount is how much to prune, with PyTorch's convention (torch.nn.utils.prune): a fraction in [0, 1] prunes
// round(fraction·n) of n candidates, rounding half to even as Python's round does; a whole count prunes exactly
// that many. "1" is a count of one and "1.0" is everything, as PyTorch tells an int from a float.
type Amount struct {
	Frac    float64
	Count   int
	IsCount bool
}

// Fraction returns an Amount that prunes a fraction of the candidates.
func Fraction(f float64) Amount { return Amount{Frac: f} }

// Count returns an Amount that prunes exactly n candidates.
func Count(n int) Amount { return Amount{Count: n, IsCount: true} }

// ParseAmount reads "0.3" (a fraction) or "12" (a count).
func ParseAmount(s string) (Amount, error) {
	s = strings.TrimSpace(s)
	if !strings.ContainsAny(s, ".eE") {
		n, err := strconv.Atoi(s)
		if err != nil {
			return Amount{}, fmt.Errorf("prune: amount %q is neither a fraction nor a count", s)
		}
		if n < 0 {
			return Amount{}, fmt.Errorf("prune: amount %d is negative", n)
		}
		return Count(n), nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return Amount{}, fmt.Errorf("prune: amount %q is neither a fraction nor a count", s)
	}
	a := Fraction(f)
	return a, a.Validate()
}

// Validate checks the amount on its own: a fraction must lie in [0, 1] and a count must not be negative.
func (a Amount) Validate() error {
	if a.IsCount {
		if a.Count < 0 {
			return fmt.Errorf("prune: %w: amount %d is negative", ErrInvalid, a.Count)
		}
		return nil
	}
	if math.IsNaN(a.Frac) || a.Frac < 0 || a.Frac > 1 {
		return fmt.Errorf("prune: %w: amount %v is outside [0, 1]", ErrInvalid, a.Frac)
	}
	return nil
}

// Of returns how many of n candidates the amount prunes, failing when a count exceeds n (PyTorch's
// _validate_pruning_amount) or the fraction is out of range.
func (a Amount) Of(n int) (int, error) {
	if err := a.Validate(); err != nil {
		return 0, err
	}
	if a.IsCount {
		if a.Count > n {
			return 0, fmt.Errorf("prune: %w: amount %d is larger than the %d candidates", ErrInvalid, a.Count, n)
		}
		return a.Count, nil
	}
	return int(math.RoundToEven(a.Frac * float64(n))), nil
}

func (a Amount) String() string {
	if a.IsCount {
		return strconv.Itoa(a.Count)
	}
	return strconv.FormatFloat(a.Frac, 'g', -1, 64)
}
