package runtime

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/hone-ml/hone/ir"
)

// nnMaxPoolRef is 2-D MaxPool over NCHW as the ONNX spec's loop: window taps in row-major order, the first in-range
// tap seeds the maximum and a later one replaces it only when greater (so a NaN seed stays, later NaNs are ignored).
func nnMaxPoolRef(x []float32, N, C, H, W, OH, OW, KH, KW, SH, SW, PH, PW, DH, DW int) []float32 {
	y := make([]float32, N*C*OH*OW)
	for p := 0; p < N*C; p++ {
		for oh := 0; oh < OH; oh++ {
			for ow := 0; ow < OW; ow++ {
				best, seen := float32(math.Inf(-1)), false
				for kh := 0; kh < KH; kh++ {
					for kw := 0; kw < KW; kw++ {
						ih, iw := oh*SH-PH+kh*DH, ow*SW-PW+kw*DW
						if ih < 0 || ih >= H || iw < 0 || iw >= W {
							continue
						}
						if v := x[(p*H+ih)*W+iw]; !seen || v > best {
							best, seen = v, true
						}
					}
				}
				y[(p*OH+oh)*OW+ow] = best
			}
		}
	}
	return y
}

// TestMaxPool2DVsReference checks fp32 MaxPool, both the separable fast path (Y only) and the general loop (with
// Indices), against nnMaxPoolRef bit for bit on random shapes with pads, strides 1–3, ceil_mode, dilation, ties and
// NaNs, and checks that every index points at its output value.
func TestMaxPool2DVsReference(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for i := range 60 {
		N, C := 1+r.IntN(2), 1+r.IntN(3)
		H, W := 1+r.IntN(40), 1+r.IntN(70)
		KH, KW := 1+r.IntN(4), 1+r.IntN(4)
		SH, SW := 1+r.IntN(3), 1+r.IntN(3)
		DH, DW := 1, 1
		if i%5 == 4 {
			DH, DW = 1+r.IntN(2), 1+r.IntN(3)
		}
		pads := []int64{int64(r.IntN(KH)), int64(r.IntN(KW)), int64(r.IntN(KH)), int64(r.IntN(KW))}
		ceil := int64(r.IntN(2))
		if i == 0 { // ResNet-18's stem pool
			N, C, H, W, KH, KW, SH, SW, DH, DW, ceil = 1, 4, 112, 112, 3, 3, 2, 2, 1, 1, 0
			pads = []int64{1, 1, 1, 1}
		}
		if H+int(pads[0]+pads[2]) < (KH-1)*DH+1 || W+int(pads[1]+pads[3]) < (KW-1)*DW+1 {
			continue
		}
		name := fmt.Sprintf("%d/%dx%d/k%dx%d/s%dx%d/d%dx%d/p%v/ceil%d", i, H, W, KH, KW, SH, SW, DH, DW, pads, ceil)
		t.Run(name, func(t *testing.T) {
			x := ir.New(ir.Float32, N, C, H, W)
			xf := x.F32()
			for j := range xf {
				switch v := r.IntN(25); {
				case v == 0:
					xf[j] = float32(math.NaN())
				case v < 4:
					xf[j] = 0.25
				default:
					xf[j] = r.Float32()*4 - 2
				}
			}
			attrs := []*ir.Attr{nnAInts("kernel_shape", int64(KH), int64(KW)), nnAInts("strides", int64(SH), int64(SW)),
				nnAInts("pads", pads...), nnAInt("ceil_mode", ceil), nnAInts("dilations", int64(DH), int64(DW))}
			fast, err := nnRun(12, nnNode("MaxPool", []string{"x"}, []string{"y"}, attrs...), nil, map[string]*ir.Tensor{"x": x})
			if err != nil {
				t.Fatal(err)
			}
			fastY := fast["y"].Clone() // the next run may reuse the first one's buffers
			gen, err := nnRun(12, nnNode("MaxPool", []string{"x"}, []string{"y", "i"}, attrs...), nil, map[string]*ir.Tensor{"x": x})
			if err != nil {
				t.Fatal(err)
			}
			OH, OW := fastY.Shape[2], fastY.Shape[3]
			want := nnMaxPoolRef(xf, N, C, H, W, OH, OW, KH, KW, SH, SW, int(pads[0]), int(pads[1]), DH, DW)
			for path, y := range map[string]*ir.Tensor{"fast": fastY, "general": gen["y"]} {
				for j, v := range y.F32() {
					if math.Float32bits(v) != math.Float32bits(want[j]) {
						t.Fatalf("%s path: y[%d] = %v, want %v", path, j, v, want[j])
					}
				}
			}
			for j, ix := range gen["i"].I64() {
				if v, w := xf[ix], want[j]; math.Float32bits(v) != math.Float32bits(w) {
					t.Fatalf("indices[%d] = %d holds %v, want %v", j, ix, v, w)
				}
			}
		})
	}
}
