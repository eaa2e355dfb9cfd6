package kernels

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// TestWinograd checks the Winograd path against the direct-loop reference conv2DGeneric (ONNX Conv semantics)
// over odd and even sizes, padding 0/1 and asymmetric pads, batch 2, channel counts off the SIMD widths, fused
// activations, bias nil and non-nil, serial and parallel, at every SIMD level (and the Go twins under purego).
func TestWinograd(t *testing.T) {
	cases := []ConvParams{
		convCase(1, 1, 4, 4, 1, 3, 3, 1, 1, 1, 1, 0, 0, 0, 0, 1),     // one tile, no padding
		convCase(1, 3, 7, 9, 5, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1),     // odd H and W, same padding
		convCase(2, 17, 11, 6, 19, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1),  // batch 2, C and M off 16
		convCase(1, 20, 9, 13, 33, 3, 3, 1, 1, 1, 1, 0, 0, 0, 0, 1),  // valid padding, odd output
		convCase(1, 16, 10, 12, 16, 3, 3, 1, 1, 1, 1, 0, 2, 1, 0, 1), // asymmetric pads
		convCase(1, 40, 3, 3, 24, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1),   // 3×3 image, one tile row
		convCase(1, 64, 14, 14, 32, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1), // ResNet-like
		convCase(2, 300, 5, 5, 64, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1),  // K = 300 spans kc blocks
		convCase(1, 24, 70, 67, 40, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1), // wide rows: tile rows span panels
		convCase(1, 8, 2, 2, 8, 3, 3, 1, 1, 1, 1, 2, 2, 2, 2, 1),     // padding wider than the image
		convCase(1, 64, 40, 40, 24, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1), // several tile-row blocks (winoChunkBytes)
	}
	acts := []Activation{{}, {Kind: ActRelu}, {Kind: ActHardSwish}, {Kind: ActClip, Alpha: -0.2, Beta: 0.3}, {Kind: ActSigmoid}}
	rng := rand.New(rand.NewPCG(3, 4))
	defer setWinograd(true)()
	forImpls(t, func(t *testing.T) {
		for i, p := range cases {
			for _, r := range []Runner{nil, GoRunner(3)} {
				act := acts[i%len(acts)]
				t.Run(fmt.Sprintf("%d/%+v/par=%v", i, p, r != nil), func(t *testing.T) {
					x := randSlice(rng, p.N*p.C*p.H*p.W)
					w := randSlice(rng, p.M*p.C*9)
					var bias []float32
					if i%2 == 0 {
						bias = randSlice(rng, p.M)
					}
					want := make([]float32, p.N*p.M*p.OH*p.OW)
					conv2DGeneric(p, x, w, bias, act, want)
					got := make([]float32, len(want)+1)
					for j := range got {
						got[j] = 42 // guard, and catches outputs never written
					}
					cw := PackConvWeights(p, w)
					winogradConv(r, p, x, cw.winograd(), bias, act, got[:len(want)])
					checkClose(t, "winograd", got[:len(want)], want, 1e-4)
					if got[len(want)] != 42 {
						t.Fatal("wrote past y")
					}
				})
			}
		}
	})
}

// TestWinogradFits pins the dispatch rule: only 3×3 stride-1 layers of 128+ channels on images of 14×14 or more.
func TestWinogradFits(t *testing.T) {
	cases := []struct {
		p    ConvParams
		want bool
	}{
		{convCase(1, 256, 14, 14, 256, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1), true},
		{convCase(1, 512, 7, 7, 512, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1), false}, // too few pixels
		{convCase(1, 64, 56, 56, 64, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1), false}, // too few channels
		{convCase(1, 128, 28, 28, 128, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1), true},
		{convCase(1, 256, 28, 28, 256, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 1), false}, // stride 2
		{convCase(1, 256, 14, 14, 256, 3, 3, 1, 1, 2, 2, 2, 2, 2, 2, 1), false}, // dilated
		{convCase(1, 256, 14, 14, 256, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 2), false}, // grouped
		{convCase(1, 256, 14, 14, 256, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1), false}, // 1×1
	}
	for _, c := range cases {
		if got := winogradFits(&c.p); got != c.want {
			t.Errorf("winogradFits(%+v) = %v, want %v", c.p, got, c.want)
		}
	}
}
