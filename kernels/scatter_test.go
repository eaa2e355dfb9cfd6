package kernels

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// TestScatterRows checks ScatterRows at every level against the definition and the twin over run widths around
// the AVX2 routine's 2-, 4-, 8-, 16- and 32-byte moves and the 64-byte block (under, at and over one and two
// blocks), strides from the run width up, and guard bytes: nothing between or after the runs may change.
func TestScatterRows(t *testing.T) {
	r := rand.New(rand.NewPCG(51, 52))
	for _, lv := range impls() {
		restore := setImpl(lv)
		scatterCheck(t, r, lv.String())
		restore()
	}
}

func scatterCheck(t *testing.T, r *rand.Rand, name string) {
	t.Helper()
	widths := []int{1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 21, 24, 31, 32, 33, 63, 64, 65, 96, 127, 128, 129, 200}
	for _, width := range widths {
		for _, extra := range []int{0, 1, 64, 130} {
			for _, rows := range []int{1, 2, 7} {
				t.Run(fmt.Sprintf("%s/w%d/s+%d/r%d", name, width, extra, rows), func(t *testing.T) {
					stride := width + extra
					src := make([]uint8, rows*width)
					for i := range src {
						src[i] = uint8(r.IntN(256))
					}
					dst := make([]uint8, (rows-1)*stride+width+70)
					for i := range dst {
						dst[i] = 0xA5
					}
					twin := append([]uint8(nil), dst...)
					ScatterRows(dst, stride, src, width, rows)
					scatterRowsGeneric(twin, stride, src, width, rows)
					for i := range dst {
						want := uint8(0xA5)
						if row, col := i/stride, i%stride; row < rows && col < width {
							want = src[row*width+col]
						}
						if dst[i] != want || twin[i] != want {
							t.Fatalf("dst[%d] = %#x, want %#x (twin %#x)", i, dst[i], want, twin[i])
						}
					}
				})
			}
		}
	}
}

// BenchmarkScatterRows sets the levels side by side on the integer convolution's row windows: 160 pixels of
// det's 96- and 24-channel 3×3 layers and of a 3-channel stem (runs of C bytes, 3·C apart).
func BenchmarkScatterRows(b *testing.B) {
	const rows = 160
	for _, width := range []int{96, 24, 3} {
		src, dst := make([]uint8, rows*width), make([]uint8, rows*3*width)
		for _, l := range impls() {
			b.Run(fmt.Sprintf("w%d/%s", width, l), func(b *testing.B) {
				defer setImpl(l)()
				b.SetBytes(int64(rows * width))
				for b.Loop() {
					ScatterRows(dst, 3*width, src, width, rows)
				}
			})
		}
	}
}
