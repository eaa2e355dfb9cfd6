package kernels

import (
	"math"
	"math/rand"
	"testing"
)

// TestInterleave2 checks Interleave2 at every SIMD level, and its Go twin, bit for bit against the definition
// (dst[2i] = a[i] + bias, dst[2i+1] = c[i] + bias) over lengths around the 16-lane width, and that nothing past
// 2·len(a) is written.
func TestInterleave2(t *testing.T) {
	r := rand.New(rand.NewSource(5))
	for _, l := range impls() {
		restore := setImpl(l)
		for _, n := range []int{0, 1, 15, 16, 17, 40, 160} {
			a, c := make([]float32, n), make([]float32, n+3)
			for i := range a {
				a[i] = float32(r.NormFloat64())
			}
			for i := range c {
				c[i] = float32(r.NormFloat64())
			}
			bias := float32(r.NormFloat64())
			got, twin := make([]float32, 2*n+2), make([]float32, 2*n+2)
			got[2*n], got[2*n+1] = 7, 7
			Interleave2(got, a, c, bias)
			interleave2Generic(twin, a, c, bias)
			for i := range n {
				for k, want := range []float32{a[i] + bias, c[i] + bias} {
					if math.Float32bits(got[2*i+k]) != math.Float32bits(want) || math.Float32bits(twin[2*i+k]) != math.Float32bits(want) {
						t.Fatalf("%s/n%d: output %d = %g (twin %g), want %g", l, n, 2*i+k, got[2*i+k], twin[2*i+k], want)
					}
				}
			}
			if got[2*n] != 7 || got[2*n+1] != 7 {
				t.Fatalf("%s/n%d: wrote past the row", l, n)
			}
		}
		restore()
	}
}

// TestInterleaveBytes checks InterleaveBytes at every SIMD level, and its Go twin, against the definition
// (dst[2i] = a[i], dst[2i+1] = c[i]) over lengths around the 32-byte block (the ragged tail redone as a block
// ending at the last pair), with c = a (2× upsampling) too, and that nothing past 2·len(a) is written.
func TestInterleaveBytes(t *testing.T) {
	r := rand.New(rand.NewSource(7))
	for _, l := range impls() {
		restore := setImpl(l)
		for _, n := range []int{0, 1, 31, 32, 33, 63, 64, 65, 100, 160} {
			a, c := make([]byte, n), make([]byte, n+3)
			r.Read(a)
			r.Read(c)
			for _, same := range []bool{false, true} {
				cc := c
				if same {
					cc = a
				}
				got, twin := make([]byte, 2*n+2), make([]byte, 2*n+2)
				got[2*n], got[2*n+1] = 0xA5, 0xA5
				InterleaveBytes(got, a, cc)
				interleaveBytesGeneric(twin, a, cc)
				for i := range n {
					if got[2*i] != a[i] || got[2*i+1] != cc[i] || twin[2*i] != a[i] || twin[2*i+1] != cc[i] {
						t.Fatalf("%s/n%d same=%v: pair %d = %d,%d (twin %d,%d), want %d,%d", l, n, same, i,
							got[2*i], got[2*i+1], twin[2*i], twin[2*i+1], a[i], cc[i])
					}
				}
				if got[2*n] != 0xA5 || got[2*n+1] != 0xA5 {
					t.Fatalf("%s/n%d: wrote past the row", l, n)
				}
			}
		}
		restore()
	}
}
