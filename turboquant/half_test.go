package turboquant

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/hone-ml/hone/ir"
)

// TestHalf checks the cache's binary16 conversion against ir's (which follows NumPy) on every half value, on the
// midpoints between neighbours (ties to even) and on random float32 bit patterns.
func TestHalf(t *testing.T) {
	for h := 0; h < 1<<16; h++ {
		want := ir.HalfToFloat(uint16(h))
		got := halfFloat(uint16(h))
		if math.Float32bits(got) != math.Float32bits(want) && !(got != got && want != want) {
			t.Fatalf("halfFloat(%#04x) = %v, want %v", h, got, want)
		}
		if got == got && halfBits(got) != uint16(h) {
			t.Fatalf("halfBits(halfFloat(%#04x)) = %#04x", h, halfBits(got))
		}
		if h&0x7c00 != 0x7c00 && h&0x7fff != 0x7bff { // midpoint to the next half up (same sign)
			hi := float64(ir.HalfToFloat(uint16(h + 1)))
			mid := float32((float64(want) + hi) / 2)
			if g, w := halfBits(mid), ir.FloatToHalf(mid); g != w {
				t.Fatalf("halfBits(%v) midpoint = %#04x, want %#04x", mid, g, w)
			}
		}
	}
	rng := rand.New(rand.NewPCG(1, 1))
	for i := 0; i < 1_000_000; i++ {
		f := math.Float32frombits(rng.Uint32())
		g, w := halfBits(f), ir.FloatToHalf(f)
		if g != w && !(f != f && g&0x7c00 == 0x7c00 && g&0x3ff != 0) {
			t.Fatalf("halfBits(%v [%#08x]) = %#04x, want %#04x", f, math.Float32bits(f), g, w)
		}
	}
}
