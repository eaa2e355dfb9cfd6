package kernels

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// TestScatterRows checks ScatterRows at every level against the definition over run widths around the 64-byte
// block (under, at and over one and two blocks), strides from the run width up, and guard bytes: nothing between
// or after the runs may change.
func TestScatterRows(t *testing.T) {
	r := rand.New(rand.NewPCG(51, 52))
	for _, lv := range []impl{implGeneric, maxImpl} {
		restore := level
		level = lv
		for _, width := range []int{1, 3, 21, 63, 64, 65, 96, 127, 128, 129, 200} {
			for _, extra := range []int{0, 1, 64, 130} {
				for _, rows := range []int{1, 2, 7} {
					t.Run(fmt.Sprintf("%d/w%d/s+%d/r%d", lv, width, extra, rows), func(t *testing.T) {
						stride := width + extra
						src := make([]uint8, rows*width)
						for i := range src {
							src[i] = uint8(r.IntN(256))
						}
						dst := make([]uint8, (rows-1)*stride+width+70)
						for i := range dst {
							dst[i] = 0xA5
						}
						ScatterRows(dst, stride, src, width, rows)
						for i := range dst {
							want := uint8(0xA5)
							if row, col := i/stride, i%stride; row < rows && col < width {
								want = src[row*width+col]
							}
							if dst[i] != want {
								t.Fatalf("dst[%d] = %#x, want %#x", i, dst[i], want)
							}
						}
					})
				}
			}
		}
		level = restore
	}
}
