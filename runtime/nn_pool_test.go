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

// TestAvgPool2DVsReference checks fp32 AveragePool's row-summing fast path against the ONNX spec's loop (the
// window's in-range taps summed in float64, divided by their count, or by the count of taps inside the padded
// input with count_include_pad) on random shapes with pads, strides 1–3 and ceil_mode, including PP-OCRv4 rec's
// 3×2 pool; results agree within float32 summation error.
func TestAvgPool2DVsReference(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for i := range 60 {
		N, C := 1+r.IntN(2), 1+r.IntN(3)
		H, W := 1+r.IntN(30), 1+r.IntN(70)
		KH, KW := 1+r.IntN(4), 1+r.IntN(4)
		SH, SW := 1+r.IntN(3), 1+r.IntN(3)
		pads := []int64{int64(r.IntN(KH)), int64(r.IntN(KW)), int64(r.IntN(KH)), int64(r.IntN(KW))}
		ceil, incl := int64(r.IntN(2)), int64(i%2)
		if i == 0 { // PP-OCRv4 rec's pool
			N, C, H, W, KH, KW, SH, SW, ceil = 1, 4, 3, 80, 3, 2, 3, 2, 0
			pads = []int64{0, 0, 0, 0}
		}
		if H+int(pads[0]+pads[2]) < KH || W+int(pads[1]+pads[3]) < KW {
			continue
		}
		name := fmt.Sprintf("%d/%dx%d/k%dx%d/s%dx%d/p%v/ceil%d/incl%d", i, H, W, KH, KW, SH, SW, pads, ceil, incl)
		t.Run(name, func(t *testing.T) {
			x := ir.New(ir.Float32, N, C, H, W)
			xf := x.F32()
			for j := range xf {
				xf[j] = r.Float32()*4 - 2
			}
			attrs := []*ir.Attr{nnAInts("kernel_shape", int64(KH), int64(KW)), nnAInts("strides", int64(SH), int64(SW)),
				nnAInts("pads", pads...), nnAInt("ceil_mode", ceil), nnAInt("count_include_pad", incl)}
			out, err := nnRun(12, nnNode("AveragePool", []string{"x"}, []string{"y"}, attrs...), nil, map[string]*ir.Tensor{"x": x})
			if err != nil {
				t.Fatal(err)
			}
			y := out["y"]
			OH, OW := y.Shape[2], y.Shape[3]
			PH, PW, PHE, PWE := int(pads[0]), int(pads[1]), int(pads[2]), int(pads[3])
			for p := range N * C {
				for oh := range OH {
					for ow := range OW {
						var sum float64
						taps, padded := 0, 0
						for kh := range KH {
							for kw := range KW {
								ih, iw := oh*SH-PH+kh, ow*SW-PW+kw
								if ih >= -PH && ih < H+PHE && iw >= -PW && iw < W+PWE {
									padded++
								}
								if ih < 0 || ih >= H || iw < 0 || iw >= W {
									continue
								}
								sum += float64(xf[(p*H+ih)*W+iw])
								taps++
							}
						}
						count := taps
						if incl == 1 {
							count = padded
						}
						want := sum / float64(max(count, 1))
						got := float64(y.F32()[(p*OH+oh)*OW+ow])
						if math.Abs(got-want) > 1e-5*(1+math.Abs(want)) {
							t.Fatalf("y[%d][%d][%d] = %g, want %g", p, oh, ow, got, want)
						}
					}
				}
			}
		})
	}
}
