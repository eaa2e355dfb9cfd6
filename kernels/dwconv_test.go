package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// dwEpis covers every fused activation form; the clamp bounds straddle the random data so both sides clip.
var dwEpis = []dwEpi{
	{},
	{mode: dwClamp, hi: float32(math.Inf(1))},
	{mode: dwClamp, lo: -0.25, hi: 0.5},
	{mode: dwHardSigmoid, a: 0.2, b: 0.5, hi: 1},
	{mode: dwHardSwish, a: 1.0 / 6, b: 0.5, hi: 1},
}

// TestDwRows checks the row kernel at every SIMD level against its Go twin: widths around the 16- and 64-lane
// blocks, the unrolled (9, 25) and looped tap counts, every epilogue, with NaN guards after each output row and
// NaN inputs that must come out as NaN.
func TestDwRows(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 11))
	forImpls(t, func(t *testing.T) {
		for _, ow := range []int{1, 2, 7, 14, 15, 16, 17, 28, 31, 32, 33, 56, 63, 64, 65, 80, 112, 130} {
			for _, taps := range []int{1, 4, 9, 25, 49} {
				for ei, e := range dwEpis {
					oh := 1 + (ow+taps+ei)%4
					rowStep := ow + 3
					src := randSlice(rng, oh*rowStep+40+roundUp(ow, 16))
					src[rng.IntN(len(src))] = float32(math.NaN())
					offs := make([]int, taps)
					for i := range offs {
						offs[i] = rng.IntN(40)
					}
					w := randSlice(rng, taps)
					want := make([]float32, oh*ow)
					dwRowsGeneric(want, ow, oh, src, rowStep, offs, w, 0.25, &e)
					full, got := dwGuarded(oh*ow, 1)
					dwRows(got, ow, oh, src, rowStep, offs, w, 0.25, &e)
					dwCheckGuards(t, "dwRows", full, 1, oh*ow)
					checkClose(t, fmt.Sprintf("ow=%d oh=%d taps=%d epi=%d", ow, oh, taps, ei), got, want, 1e-5)
				}
			}
		}
	})
}

// TestDepthwiseDirect runs the direct depthwise path at every SIMD level, sequential and in parallel (which cuts
// row bands when channels are few), against the direct-loop reference conv2DGeneric, with every activation.
func TestDepthwiseDirect(t *testing.T) {
	cases := []ConvParams{
		convCase(1, 16, 12, 12, 16, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 16),   // 3×3 s1
		convCase(2, 8, 13, 15, 8, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 8),      // 3×3 s2, 2 images
		convCase(1, 5, 17, 14, 5, 5, 5, 2, 2, 1, 1, 2, 2, 2, 2, 5),      // 5×5 s2
		convCase(1, 3, 7, 7, 3, 5, 5, 1, 1, 1, 1, 2, 2, 2, 2, 3),        // 5×5 s1 on 7×7
		convCase(1, 4, 9, 6, 4, 3, 3, 1, 2, 2, 1, 0, 3, 1, 0, 4),        // mixed stride, dilation, pads
		convCase(1, 3, 11, 13, 3, 3, 3, 3, 3, 1, 1, 1, 2, 0, 1, 3),      // stride 3
		convCase(1, 4, 15, 25, 4, 5, 5, 1, 1, 1, 1, 2, 2, 2, 2, 4),      // 5×5 s1, reads reach the plane's end
		convCase(1, 2, 40, 70, 2, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 2),      // wide rows: 64-column blocks, few channels
		convCase(1, 3, 33, 67, 3, 3, 3, 2, 2, 1, 1, 0, 1, 1, 0, 3),      // s2, asymmetric pads, odd sizes
		convCase(1, 6, 7, 7, 6, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 6),        // 7×7 stage
		convCase(1, 40, 14, 14, 40, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 40),   // more channels than tasks
		convCase(1, 3, 9, 9, 3, 7, 7, 1, 1, 1, 1, 3, 3, 3, 3, 3),        // 7×7 kernel: looped taps
		convCase(1, 2, 6, 5, 2, 3, 3, 1, 1, 1, 1, 4, 0, 0, 5, 2),        // padding larger than the kernel
		convCase(1, 2, 10, 10, 2, 3, 3, 1, 1, 3, 2, 0, 0, 0, 0, 2),      // dilation 3×2, unpadded
		convCase(1, 4, 12, 12, 4, 2, 2, 2, 2, 1, 1, 0, 0, 0, 0, 4),      // 2×2 s2 (4 taps)
		convCase(1, 2, 5, 37, 2, 1, 5, 1, 4, 1, 1, 0, 2, 0, 2, 2),       // 1×5 kernel, stride 4 columns
		convCase(3, 2, 8, 8, 2, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 2),        // batch 3
		convCase(1, 96, 112, 112, 96, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 96), // MobileNetV2 features.2
		convCase(1, 3, 9, 33, 3, 3, 3, 2, 2, 1, 1, 0, 1, 0, 1, 3),       // 3×3 s2 kernel: 17 outputs, 2 blocks
		convCase(1, 2, 8, 64, 2, 3, 3, 2, 2, 1, 1, 1, 1, 0, 0, 2),       // … 31 outputs, no bottom/right pad
		convCase(1, 2, 7, 65, 2, 3, 3, 2, 2, 1, 1, 2, 1, 2, 3, 2),       // … pads past the kernel's reach
		convCase(2, 5, 3, 2, 5, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 5),        // … tiny: only edge rows
		convCase(1, 4, 12, 64, 4, 3, 3, 2, 2, 1, 1, 0, 0, 1, 1, 4),      // … TensorFlow SAME: no left pad
		convCase(1, 2, 9, 35, 2, 3, 3, 2, 2, 1, 1, 0, 0, 0, 0, 2),       // … unpadded, odd width
	}
	acts := []Activation{{}, {Kind: ActRelu}, {Kind: ActClip, Alpha: -0.3, Beta: 0.4},
		{Kind: ActHardSigmoid, Alpha: 0.2, Beta: 0.5}, {Kind: ActHardSwish}, {Kind: ActSigmoid}}
	rng := rand.New(rand.NewPCG(17, 3))
	forImpls(t, func(t *testing.T) {
		for i, p := range cases {
			for _, r := range []Runner{nil, GoRunner(3)} {
				act := acts[i%len(acts)]
				if r != nil {
					act = acts[(i+1)%len(acts)]
				}
				t.Run(fmt.Sprintf("%d/par=%v", i, r != nil), func(t *testing.T) {
					x := randSlice(rng, p.N*p.C*p.H*p.W)
					w := randSlice(rng, p.M*p.KH*p.KW)
					var bias []float32
					if i%3 != 2 {
						bias = randSlice(rng, p.M)
					}
					want := make([]float32, p.N*p.M*p.OH*p.OW)
					conv2DGeneric(p, x, w, bias, act, want)
					full, got := dwGuarded(len(want), 2)
					depthwiseDirect(r, p, x, w, bias, act, got)
					dwCheckGuards(t, "depthwiseDirect", full, 2, len(want))
					checkClose(t, fmt.Sprintf("%+v act=%v", p, act.Kind), got, want, 1e-4)
					// A second run reuses pooled scratch laid out for this geometry: it must give the same result.
					depthwiseDirect(r, p, x, w, bias, act, got)
					checkClose(t, "rerun", got, want, 1e-4)
				})
			}
		}
	})
}

func BenchmarkDepthwise(b *testing.B) {
	for _, p := range []ConvParams{
		convCase(1, 32, 112, 112, 32, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 32),
		convCase(1, 96, 112, 112, 96, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 96),
		convCase(1, 144, 56, 56, 144, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 144),
		convCase(1, 384, 14, 14, 384, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 384),
		convCase(1, 960, 7, 7, 960, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 960),
		convCase(1, 128, 40, 40, 128, 5, 5, 1, 1, 1, 1, 2, 2, 2, 2, 128),
	} {
		rng := rand.New(rand.NewPCG(1, 1))
		x := randSlice(rng, p.N*p.C*p.H*p.W)
		w := randSlice(rng, p.M*p.KH*p.KW)
		bias := randSlice(rng, p.M)
		y := make([]float32, p.N*p.M*p.OH*p.OW)
		act := Activation{Kind: ActClip, Alpha: 0, Beta: 6}
		flops := 2 * float64(p.N*p.M*p.OH*p.OW*p.KH*p.KW)
		for _, impl := range []struct {
			name string
			fn   func(Runner, ConvParams, []float32, []float32, []float32, Activation, []float32)
		}{{"direct", depthwiseDirect}, {"planes", depthwisePlanes}} {
			b.Run(fmt.Sprintf("%dx%dx%d_k%d_s%d/%s", p.C, p.H, p.W, p.KH, p.StrideH, impl.name), func(b *testing.B) {
				for b.Loop() {
					impl.fn(nil, p, x, w, bias, act, y)
				}
				b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
			})
		}
	}
}

// dwGuard is a NaN with a payload no arithmetic produces, so an overwritten guard is always detected.
var dwGuard = math.Float32frombits(0x7fc0_dead)

// dwGuarded returns n values at offset off inside an allocation whose other cells (off before, 8 after) hold dwGuard.
func dwGuarded(n, off int) (full, s []float32) {
	full = make([]float32, off+n+8)
	for i := range full {
		full[i] = dwGuard
	}
	return full, full[off : off+n]
}

func dwCheckGuards(t *testing.T, name string, full []float32, off, n int) {
	t.Helper()
	for i, v := range full {
		if (i < off || i >= off+n) && math.Float32bits(v) != math.Float32bits(dwGuard) {
			t.Fatalf("%s: wrote outside its output at %d (offset %d, n %d)", name, i, off, n)
		}
	}
}

// TestCopyRows checks the strided row copy at every SIMD level: widths around the 16-lane vector, with guards
// in the destination's gaps and after its end, and a source that ends exactly at the last row's last float.
func TestCopyRows(t *testing.T) {
	rng := rand.New(rand.NewPCG(2, 8))
	forImpls(t, func(t *testing.T) {
		for _, n := range []int{1, 7, 15, 16, 17, 31, 32, 33, 56, 112} {
			for _, rows := range []int{1, 3} {
				src := randSlice(rng, (rows-1)*(2*n+1)+n)
				full, dst := dwGuarded((rows-1)*(n+3)+n, 1)
				copyRows(dst, n+3, src, 2*n+1, n, rows)
				for r := 0; r < rows; r++ {
					for j := 0; j < n+3; j++ {
						i := r*(n+3) + j
						if i >= len(dst) {
							break
						}
						got := dst[i]
						if j < n && got != src[r*(2*n+1)+j] {
							t.Fatalf("n=%d rows=%d: dst[%d] = %v, want %v", n, rows, i, got, src[r*(2*n+1)+j])
						}
						if j >= n && math.Float32bits(got) != math.Float32bits(dwGuard) {
							t.Fatalf("n=%d rows=%d: wrote the gap at %d", n, rows, i)
						}
					}
				}
				dwCheckGuards(t, "copyRows", full, 1, len(dst))
			}
		}
	})
}

// TestDwS2K3 checks the 3×3 stride-2 row kernel against its Go twin: widths around the 16-output blocks, input
// rows exactly as long as the kernel may read (so an unmasked overread would leave the slice), left padding of 0
// and 1 and right padding of 0–3 columns, every epilogue, NaN guards after the output and NaN inputs.
func TestDwS2K3(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 4))
	forImpls(t, func(t *testing.T) {
		for _, ow := range []int{1, 2, 7, 8, 15, 16, 17, 28, 31, 32, 33, 56, 57, 112} {
			for pads := 0; pads < 8; pads++ {
				pl, pr := pads/4, pads%4
				iw := 2*(ow-1) + 3 - pl - pr // input width that gives ow outputs with pads (pl, pr)
				if iw < 1 {
					continue
				}
				for ei, e := range dwEpis {
					oh := 1 + (ow+pr+ei)%3
					inStep := 2*iw + ei%2
					var rows [3][]float32
					for k := range rows {
						rows[k] = randSlice(rng, (oh-1)*inStep+iw)
					}
					rows[ei%3][rng.IntN(iw)] = float32(math.NaN())
					w := randSlice(rng, 9)
					want := make([]float32, oh*ow)
					dwS2K3Generic(want, ow, oh, &rows, inStep, iw, pl, w, 0.25, &e)
					full, got := dwGuarded(oh*ow, 1)
					dwS2K3(got, ow, oh, &rows, inStep, iw, pl, w, 0.25, &e)
					dwCheckGuards(t, "dwS2K3", full, 1, oh*ow)
					checkClose(t, fmt.Sprintf("ow=%d iw=%d pl=%d oh=%d epi=%d", ow, iw, pl, oh, ei), got, want, 1e-5)
				}
			}
		}
	})
}

// FuzzDwS2K3 compares the 3×3 stride-2 row kernel with its Go twin on fuzzed widths, row counts and epilogues.
func FuzzDwS2K3(f *testing.F) {
	f.Add(uint8(56), uint8(112), uint8(2), uint8(1), uint64(1))
	f.Add(uint8(17), uint8(33), uint8(1), uint8(3), uint64(2))
	f.Add(uint8(32), uint8(64), uint8(2), uint8(2), uint64(0x100))
	f.Fuzz(func(t *testing.T, ow8, iw8, oh8, mode8 uint8, seed uint64) {
		ow, iw, oh, pl := 1+int(ow8)%150, 1+int(iw8), 1+int(oh8)%4, int(seed>>8)%2
		e := dwEpis[int(mode8)%len(dwEpis)]
		rng := rand.New(rand.NewPCG(seed, 2))
		inStep := iw + int(seed%5)
		var rows [3][]float32
		for k := range rows {
			rows[k] = randSlice(rng, (oh-1)*inStep+iw)
		}
		w := randSlice(rng, 9)
		want := make([]float32, oh*ow)
		dwS2K3Generic(want, ow, oh, &rows, inStep, iw, pl, w, -0.5, &e)
		full, got := dwGuarded(oh*ow, 3)
		dwS2K3(got, ow, oh, &rows, inStep, iw, pl, w, -0.5, &e)
		dwCheckGuards(t, "dwS2K3", full, 3, oh*ow)
		checkClose(t, "dwS2K3", got, want, 1e-5)
	})
}

// FuzzDwRows compares the row kernel with its Go twin on fuzzed widths, row counts, tap counts and epilogues.
func FuzzDwRows(f *testing.F) {
	f.Add(uint8(7), uint8(3), uint8(9), uint8(4), uint64(1))
	f.Add(uint8(65), uint8(2), uint8(25), uint8(1), uint64(2))
	f.Add(uint8(16), uint8(1), uint8(3), uint8(3), uint64(3))
	f.Fuzz(func(t *testing.T, ow8, oh8, taps8, mode8 uint8, seed uint64) {
		ow, oh, taps := 1+int(ow8)%150, 1+int(oh8)%5, 1+int(taps8)%50
		e := dwEpis[int(mode8)%len(dwEpis)]
		rng := rand.New(rand.NewPCG(seed, 1))
		rowStep := ow + int(seed%7)
		src := randSlice(rng, (oh-1)*rowStep+32+roundUp(ow, 16))
		offs := make([]int, taps)
		for i := range offs {
			offs[i] = rng.IntN(33)
		}
		w := randSlice(rng, taps)
		want := make([]float32, oh*ow)
		dwRowsGeneric(want, ow, oh, src, rowStep, offs, w, -0.5, &e)
		full, got := dwGuarded(oh*ow, 3)
		dwRows(got, ow, oh, src, rowStep, offs, w, -0.5, &e)
		dwCheckGuards(t, "dwRows", full, 3, oh*ow)
		checkClose(t, "dwRows", got, want, 1e-5)
	})
}
