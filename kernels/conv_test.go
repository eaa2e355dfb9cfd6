package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// convCase builds ConvParams with ONNX's output-size formula.
func convCase(n, c, h, w, m, kh, kw, sh, sw, dh, dw, pt, pl, pb, pr, g int) ConvParams {
	p := ConvParams{N: n, C: c, H: h, W: w, M: m, KH: kh, KW: kw, StrideH: sh, StrideW: sw, DilH: dh, DilW: dw,
		PadTop: pt, PadLeft: pl, PadBottom: pb, PadRight: pr, Group: g}
	p.OH = (h+pt+pb-dh*(kh-1)-1)/sh + 1
	p.OW = (w+pl+pr-dw*(kw-1)-1)/sw + 1
	return p
}

func TestConv2D(t *testing.T) {
	cases := []ConvParams{
		convCase(1, 3, 7, 9, 5, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1),      // 3×3 same
		convCase(2, 4, 10, 11, 6, 3, 3, 2, 2, 1, 1, 1, 0, 1, 2, 1),    // stride 2, asymmetric pads
		convCase(1, 8, 9, 9, 13, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1),     // pointwise
		convCase(2, 6, 5, 40, 33, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1),    // pointwise, 2 images, wide
		convCase(1, 4, 8, 8, 6, 3, 3, 1, 1, 2, 2, 2, 2, 2, 2, 2),      // groups + dilation
		convCase(1, 16, 12, 12, 16, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 16), // depthwise 3×3 s1
		convCase(2, 8, 13, 15, 8, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 8),    // depthwise 3×3 s2
		convCase(1, 5, 17, 14, 5, 5, 5, 2, 2, 1, 1, 2, 2, 2, 2, 5),    // depthwise 5×5 s2
		convCase(1, 3, 7, 7, 3, 5, 5, 1, 1, 1, 1, 2, 2, 2, 2, 3),      // depthwise 5×5 s1, 7×7 plane
		convCase(1, 4, 9, 6, 4, 3, 3, 1, 2, 2, 1, 0, 3, 1, 0, 4),      // depthwise, mixed stride/dilation/pads
		convCase(1, 4, 6, 6, 8, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 4),      // channel multiplier 2 (not depthwise path)
		convCase(1, 64, 14, 14, 32, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1),  // K = 576 > kcBlock
		convCase(1, 2, 3, 3, 2, 3, 3, 1, 1, 1, 1, 0, 0, 0, 0, 1),      // 1×1 output
		convCase(1, 3, 11, 13, 3, 3, 3, 3, 3, 1, 1, 1, 2, 0, 1, 3),    // depthwise stride 3
		convCase(1, 5, 11, 13, 7, 2, 3, 3, 3, 1, 1, 1, 2, 0, 1, 1),    // stride 3, 2×3 kernel
		convCase(1, 24, 9, 9, 16, 1, 1, 2, 2, 1, 1, 0, 0, 0, 0, 1),    // strided 1×1 (im2col path)
		convCase(1, 3, 30, 29, 8, 7, 7, 2, 2, 1, 1, 3, 3, 3, 3, 1),    // 7×7/2 stem (ResNet): strided im2col gather
		convCase(1, 2, 9, 8, 3, 3, 3, 3, 3, 1, 1, 4, 5, 0, 2, 1),      // stride 3, padding wider than the kernel
		convCase(1, 4, 15, 25, 4, 5, 5, 1, 1, 1, 1, 2, 2, 2, 2, 4),    // depthwise 5×5 s1 where the tap reads overrun the plane (PP-OCR det at 480×800)
		// Small images with many channels: the transposed product (pixels as GEMM rows) where it pays.
		convCase(2, 48, 7, 7, 64, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1),    // ResNet layer4-like 3×3 on 7×7, 2 images
		convCase(1, 40, 7, 7, 96, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1),    // MobileNet-like pointwise on 7×7
		convCase(1, 96, 14, 14, 64, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1),  // pointwise on 14×14 (196 pixels)
		convCase(1, 16, 14, 14, 128, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 1), // 3×3/2 down to 7×7
		convCase(1, 300, 5, 5, 64, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1),   // K = 2700 spans kc blocks; 25 pixels (edge rows)
		// Few taps and whole 16-channel blocks: the direct kernel (convDirect) instead of im2col.
		convCase(1, 3, 30, 34, 32, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 1),   // MobileNet-like stem: 3→32, 3×3/2
		convCase(2, 2, 9, 16, 16, 3, 3, 1, 1, 1, 1, 1, 0, 0, 2, 1),    // stride 1, asymmetric pads, 2 images
		convCase(1, 1, 12, 40, 48, 5, 5, 2, 1, 2, 1, 2, 2, 1, 1, 1),   // 5×5, mixed stride, dilation; 3 blocks
		convCase(1, 3, 5, 5, 16, 3, 3, 2, 2, 1, 1, 0, 1, 1, 0, 1),     // tiny: 3×3 output
		convCase(2, 16, 20, 20, 32, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1),  // pointwise K = 16: in place, 2 column bands
		convCase(1, 24, 4, 8, 48, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1),    // pointwise K = 24, one short band
		convCase(1, 1100, 8, 12, 16, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1), // pointwise K = 1100: 48-column bands
		convCase(2, 20, 5, 7, 32, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1),    // pointwise, 35 pixels: masked last vector
		// Many taps on rows of 14+ outputs: convDirect too (convDirectMinWidth); 128+ channels 3×3/1 go Winograd.
		convCase(1, 3, 40, 38, 64, 7, 7, 2, 2, 1, 1, 3, 3, 3, 3, 1),    // ResNet stem 7×7/2, 147 taps
		convCase(1, 40, 16, 14, 32, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1),   // 360 taps, 14-wide rows
		convCase(2, 64, 30, 29, 48, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 1),   // ResNet-like 3×3/2, 576 taps, 2 images
		convCase(1, 64, 15, 17, 64, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1),   // 576 taps, stride 1, odd sizes
		convCase(1, 128, 15, 17, 128, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1), // Winograd from Conv2D: odd sizes
	}
	acts := []Activation{{}, {Kind: ActRelu}, {Kind: ActHardSwish}, {Kind: ActClip, Alpha: -0.2, Beta: 0.3}, {Kind: ActHardSigmoid, Alpha: 0.2, Beta: 0.5}}
	rng := rand.New(rand.NewPCG(7, 8))
	forImpls(t, func(t *testing.T) {
		for i, p := range cases {
			for _, r := range []Runner{nil, GoRunner(3)} {
				act := acts[i%len(acts)]
				t.Run(fmt.Sprintf("%d/%+v/par=%v", i, p, r != nil), func(t *testing.T) {
					x := randSlice(rng, p.N*p.C*p.H*p.W)
					w := randSlice(rng, p.M*p.C/p.Group*p.KH*p.KW)
					var bias []float32
					if i%2 == 0 {
						bias = randSlice(rng, p.M)
					}
					want := make([]float32, p.N*p.M*p.OH*p.OW)
					conv2DGeneric(p, x, w, bias, act, want)
					got := make([]float32, len(want)+1)
					got[len(want)] = 42 // guard
					Conv2D(r, p, x, PackConvWeights(p, w), bias, act, got[:len(want)])
					checkClose(t, "conv", got[:len(want)], want, 1e-4)
					if got[len(want)] != 42 {
						t.Fatal("wrote past y")
					}
				})
			}
		}
	})
}

// TestConvRows checks the 16-channel direct row kernel against its Go twin: widths around the 16-column vector,
// 1–27 taps, clamped or not, input that ends at the last value read, guards between channels' outputs and after
// the last, NaN inputs kept.
func TestConvRows(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 14))
	forImpls(t, func(t *testing.T) {
		for _, ow := range []int{1, 7, 15, 16, 17, 31, 33, 56, 112} {
			for _, taps := range []int{1, 9, 27, 147} {
				for _, clamp := range []bool{false, true} {
					oh := 1 + (ow+taps)%3
					rowStep := ow + 5
					yStride := oh*ow + 3
					// The last tap reads exactly to src's end: the masked last vector must not need more.
					src := randSlice(rng, (oh-1)*rowStep+49+ow)
					src[rng.IntN(len(src))] = float32(math.NaN())
					offs := make([]int, taps)
					for i := range offs {
						offs[i] = rng.IntN(50)
					}
					offs[taps-1] = 49
					w, bias := randSlice(rng, 16*taps), randSlice(rng, 16)
					want := make([]float32, 15*yStride+oh*ow)
					convRowsGeneric(want, yStride, ow, oh, src, rowStep, offs, w, bias, clamp, -0.3, 0.4)
					full, got := dwGuarded(len(want), 2)
					for m := 0; m < 15; m++ {
						for j := oh * ow; j < yStride; j++ {
							want[m*yStride+j] = dwGuard // the gap between channels must keep its guard
							got[m*yStride+j] = dwGuard
						}
					}
					convRows(got, yStride, ow, oh, src, rowStep, offs, w, bias, clamp, -0.3, 0.4)
					dwCheckGuards(t, "convRows", full, 2, len(want))
					for i := range want {
						if math.Float32bits(want[i]) == math.Float32bits(dwGuard) && math.Float32bits(got[i]) != math.Float32bits(dwGuard) {
							t.Fatalf("ow=%d: wrote the gap between channels at %d", ow, i)
						}
					}
					checkClose(t, fmt.Sprintf("ow=%d oh=%d taps=%d clamp=%v", ow, oh, taps, clamp), got, want, 1e-5)
				}
			}
		}
	})
}

func TestDwTaps(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 9))
	forImpls(t, func(t *testing.T) {
		for _, n := range []int{1, 7, 8, 9, 15, 16, 17, 63, 64, 127, 128, 129, 300} {
			for _, taps := range []int{1, 9, 25} {
				buf := randSlice(rng, 3*n+2*dwLanes+40)
				offs := make([]int, taps)
				for i := range offs {
					offs[i] = rng.IntN(40)
				}
				w := randSlice(rng, taps)
				want := make([]float32, n)
				dwTapsGeneric(want, n, buf, offs, w, 0.5)
				got := make([]float32, roundUp(n, dwLanes))
				dwTaps(got, n, buf, offs, w, 0.5)
				checkClose(t, fmt.Sprintf("n=%d taps=%d", n, taps), got[:n], want, 1e-5)
			}
		}
	})
}

func TestDeinterleave2(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 3))
	forImpls(t, func(t *testing.T) {
		for _, n := range []int{0, 1, 7, 8, 9, 15, 16, 17, 24, 31, 33, 56, 100} {
			src := randSlice(rng, 2*n+3)
			even, odd := make([]float32, n+1), make([]float32, n+1)
			even[n], odd[n] = 42, 43 // guards
			deinterleave2(even, odd, src, n)
			for i := 0; i < n; i++ {
				if even[i] != src[2*i] || odd[i] != src[2*i+1] {
					t.Fatalf("n=%d i=%d: got %v,%v want %v,%v", n, i, even[i], odd[i], src[2*i], src[2*i+1])
				}
			}
			if even[n] != 42 || odd[n] != 43 {
				t.Fatalf("n=%d: wrote past the outputs", n)
			}
		}
	})
}

// TestConvTransposedChoice pins which convolutions run as Yᵀ = colᵀ·Wᵀ: the cost model counts the rows and
// columns the micro-kernels actually compute (mr-row panels with edge kernels, whole nr-wide tiles).
func TestConvTransposedChoice(t *testing.T) {
	avx512Shape := &ukernel{mr: 12, nr: 32, edges: []edgeKernel{{rows: 4}, {rows: 8}}}
	cases := []struct {
		name string
		kern *ukernel
		p    ConvParams
		want bool
	}{
		{"resnet 512x7x7", avx512Shape, convCase(1, 512, 7, 7, 512, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1), true},      // 52·512 vs 512·64
		{"resnet 256x14x14", avx512Shape, convCase(1, 256, 14, 14, 256, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1), true},  // 196·256 vs 256·224
		{"resnet 64x56x56", avx512Shape, convCase(1, 64, 56, 56, 64, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1), false},    // 3136 = 98·32
		{"resnet 128x28x28", avx512Shape, convCase(1, 128, 28, 28, 128, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1), false}, // 800/784: under 5 %
		{"mobilenet 960to160 7x7", avx512Shape, convCase(1, 960, 7, 7, 160, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1), true},
		{"mobilenet 96to576 14x14", avx512Shape, convCase(1, 96, 14, 14, 576, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1), false}, // K = 96: write-back dominates
		{"mobilenet 144to24 56x56", avx512Shape, convCase(1, 144, 56, 56, 24, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1), false},
		{"few channels 7x7", avx512Shape, convCase(1, 8, 7, 7, 8, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1), false}, // 52·32 vs 8·64
		{"grouped", avx512Shape, convCase(1, 512, 7, 7, 512, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 2), false},
		{"generic 4x8 on 7x7", genericKernel, convCase(1, 64, 7, 7, 64, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1), false}, // 52·64 vs 64·56
		{"generic 4x8 on 5x5", genericKernel, convCase(1, 128, 5, 5, 64, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1), true}, // 28·64 vs 64·32
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := transposedBetter(&c.p, c.kern); got != c.want {
				t.Errorf("transposedBetter = %v, want %v", got, c.want)
			}
		})
	}
}

// TestConvWeightsLazyForms packs weights for one output size and runs another that needs the other GEMM form
// (and packs with no size at all): the missing form must be packed on demand, not fall back or go wrong.
func TestConvWeightsLazyForms(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 9))
	small := convCase(1, 128, 5, 5, 64, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1)
	large := convCase(1, 128, 32, 32, 64, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1)
	noSize := small
	noSize.H, noSize.W, noSize.OH, noSize.OW = 0, 0, 0, 0
	w := randSlice(rng, 64*128*9)
	forImpls(t, func(t *testing.T) {
		kern := kernelFor(level)
		if !transposedBetter(&small, kern) || transposedBetter(&large, kern) {
			t.Fatalf("%s: cases no longer pick different forms", level)
		}
		for _, packFor := range []ConvParams{small, large, noSize} {
			cw := PackConvWeights(packFor, w)
			for _, p := range []ConvParams{small, large, small} {
				x := randSlice(rng, p.C*p.H*p.W)
				want := make([]float32, p.M*p.OH*p.OW)
				conv2DGeneric(p, x, w, nil, Activation{Kind: ActRelu}, want)
				got := make([]float32, len(want))
				Conv2D(GoRunner(2), p, x, cw, nil, Activation{Kind: ActRelu}, got)
				checkClose(t, fmt.Sprintf("packed for %dx%d, run %dx%d", packFor.OH, packFor.OW, p.OH, p.OW), got, want, 1e-4)
			}
		}
	})
}

// FuzzConvRows compares the 16-channel direct row kernel with its Go twin on fuzzed widths, rows, taps and clamps.
func FuzzConvRows(f *testing.F) {
	f.Add(uint8(56), uint8(2), uint8(27), true, uint64(1))
	f.Add(uint8(17), uint8(1), uint8(16), false, uint64(2))
	f.Fuzz(func(t *testing.T, ow8, oh8, taps8 uint8, clamp bool, seed uint64) {
		ow, oh, taps := 1+int(ow8)%130, 1+int(oh8)%4, 1+int(taps8)%40
		rng := rand.New(rand.NewPCG(seed, 3))
		rowStep, yStride := ow+int(seed%9), oh*ow+int(seed%5)
		src := randSlice(rng, (oh-1)*rowStep+40+ow)
		offs := make([]int, taps)
		for i := range offs {
			offs[i] = rng.IntN(41)
		}
		w, bias := randSlice(rng, 16*taps), randSlice(rng, 16)
		want := make([]float32, 15*yStride+oh*ow)
		convRowsGeneric(want, yStride, ow, oh, src, rowStep, offs, w, bias, clamp, -0.2, 0.3)
		full, got := dwGuarded(len(want), 1)
		copy(got, want) // the gaps between channels are not written: give both the same contents there
		for m := 0; m < 16; m++ {
			clear(got[m*yStride : m*yStride+oh*ow])
		}
		convRows(got, yStride, ow, oh, src, rowStep, offs, w, bias, clamp, -0.2, 0.3)
		dwCheckGuards(t, "convRows", full, 1, len(want))
		checkClose(t, "convRows", got, want, 1e-5)
	})
}
