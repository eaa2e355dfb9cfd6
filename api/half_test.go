package api

import (
	"math"
	"testing"
)

// FuzzFloat64ToHalf checks the rounding against its definition: the result is finite, no neighbouring
// binary16 value is nearer to f, and on a tie the result has an even significand.
func FuzzFloat64ToHalf(f *testing.F) {
	for _, v := range []float64{0, 1, -1, 0.1, 65504, 65519.99, 1.00048828125, 5.960464477539063e-08, 2.98023223876953125e-08, 6.1e-05} {
		f.Add(v)
	}
	f.Fuzz(func(t *testing.T, v float64) {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return
		}
		h, ok := float64ToHalf(v)
		if !ok {
			if math.Abs(v) < 65520 {
				t.Fatalf("%v refused as out of range", v)
			}
			return
		}
		if math.Abs(v) >= 65520 {
			t.Fatalf("%v accepted as %#04x", v, h)
		}
		got := float64(halfToFloat(h))
		if math.IsInf(got, 0) || math.IsNaN(got) {
			t.Fatalf("%v → %#04x, not finite", v, h)
		}
		d := math.Abs(v - got)
		mag := h & 0x7fff
		for _, nb := range []uint16{mag - 1, mag + 1} {
			if mag == 0 && nb == 0xffff || nb >= 0x7c00 {
				continue
			}
			alt := float64(halfToFloat(h&0x8000 | nb))
			switch da := math.Abs(v - alt); {
			case da < d:
				t.Fatalf("%v → %v (%#04x), but %v is nearer", v, got, h, alt)
			case da == d && mag&1 == 1:
				t.Fatalf("%v is a tie between %v and %v; rounded to the odd one", v, got, alt)
			}
		}
	})
}
