package kernels

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// BenchmarkWinograd sets the Winograd path beside im2col on ResNet-18's 3×3 stride-1 layer
// shapes and a few narrow ones that decide winoMinC/winoMinM. GFLOP/s counts the direct convolution's flops, so
// the numbers compare as speed.
func BenchmarkWinograd(b *testing.B) {
	layers := []struct {
		name string
		p    ConvParams
	}{
		{"64x56x56", convCase(1, 64, 56, 56, 64, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1)},
		{"128x28x28", convCase(1, 128, 28, 28, 128, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1)},
		{"256x14x14", convCase(1, 256, 14, 14, 256, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1)},
		{"512x7x7", convCase(1, 512, 7, 7, 512, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1)},
		{"16x80x80", convCase(1, 16, 80, 80, 16, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1)},
		{"32x40x40", convCase(1, 32, 40, 40, 32, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1)},
		{"24to96x40x40", convCase(1, 24, 40, 40, 96, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1)},
	}
	variants := []struct {
		name string
		on   bool
	}{{"im2col", false}, {"winograd", true}}
	for _, l := range layers {
		p := l.p
		rng := rand.New(rand.NewPCG(1, 1))
		x := randSlice(rng, p.N*p.C*p.H*p.W)
		w := randSlice(rng, p.M*p.C*9)
		bias := randSlice(rng, p.M)
		y := make([]float32, p.N*p.M*p.OH*p.OW)
		flops := 2 * float64(p.N*p.M*p.OH*p.OW) * float64(p.C*9)
		for _, v := range variants {
			for _, threads := range []int{1, 2} {
				b.Run(fmt.Sprintf("%s/%s/threads=%d", l.name, v.name, threads), func(b *testing.B) {
					defer setWinograd(v.on)()
					cw := PackConvWeights(p, w)
					r := GoRunner(threads)
					loopCPU(b, flops, func() { Conv2D(r, p, x, cw, bias, Activation{Kind: ActRelu}, y) })
				})
			}
		}
	}
}

// setWinograd turns the Winograd path on or off and returns a func that restores the old setting.
func setWinograd(on bool) (restore func()) {
	old := winogradOn
	winogradOn = on
	return func() { winogradOn = old }
}
