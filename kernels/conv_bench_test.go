package kernels

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

func BenchmarkConv2D(b *testing.B) {
	layers := []struct {
		name string
		p    ConvParams
	}{
		{"stem7x7s2_3to64x224x224", convCase(1, 3, 224, 224, 64, 7, 7, 2, 2, 1, 1, 3, 3, 3, 3, 1)},
		{"resnet3x3_64x56x56", convCase(1, 64, 56, 56, 64, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1)},
		{"pointwise_128x28x28", convCase(1, 128, 28, 28, 128, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1)},
		{"pointwise_16to96x112x112", convCase(1, 16, 112, 112, 96, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1)},
		{"resnet3x3_128x28x28", convCase(1, 128, 28, 28, 128, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1)},
		{"resnet3x3_256x14x14", convCase(1, 256, 14, 14, 256, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1)},
		{"resnet3x3_512x7x7", convCase(1, 512, 7, 7, 512, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1)},
		{"resnet3x3s2_64to128x56x56", convCase(1, 64, 56, 56, 128, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 1)},
		{"resnet3x3s2_128to256x28x28", convCase(1, 128, 28, 28, 256, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 1)},
		{"resnet3x3s2_256to512x14x14", convCase(1, 256, 14, 14, 512, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 1)},
		{"pointwise_960to160x7x7", convCase(1, 960, 7, 7, 160, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1)},
		{"pointwise_96to576x14x14", convCase(1, 96, 14, 14, 576, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1)},
		{"dw3x3_144x56x56_s1", convCase(1, 144, 56, 56, 144, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 144)},
		{"dw3x3_96x112x112_s2", convCase(1, 96, 112, 112, 96, 3, 3, 2, 2, 1, 1, 0, 0, 1, 1, 96)},
		{"dw5x5_240x14x14_s1", convCase(1, 240, 14, 14, 240, 5, 5, 1, 1, 1, 1, 2, 2, 2, 2, 240)},
		{"stem3x3s2_3to32x224x224", convCase(1, 3, 224, 224, 32, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 1)},
		{"pointwise_32to16x112x112", convCase(1, 32, 112, 112, 16, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1)},
		{"pointwise_24to144x56x56", convCase(1, 24, 56, 56, 144, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1)},
		{"pointwise_320to1280x7x7", convCase(1, 320, 7, 7, 1280, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1)},
	}
	for _, l := range layers {
		p := l.p
		rng := rand.New(rand.NewPCG(1, 1))
		x := randSlice(rng, p.N*p.C*p.H*p.W)
		w := randSlice(rng, p.M*p.C/p.Group*p.KH*p.KW)
		bias := randSlice(rng, p.M)
		y := make([]float32, p.N*p.M*p.OH*p.OW)
		flops := 2 * float64(p.N*p.M*p.OH*p.OW) * float64(p.C/p.Group*p.KH*p.KW)
		for _, lv := range impls() {
			for _, threads := range []int{1, 2} {
				b.Run(fmt.Sprintf("%s/%s/threads=%d", l.name, lv, threads), func(b *testing.B) {
					defer setImpl(lv)()
					cw := PackConvWeights(p, w)
					r := GoRunner(threads)
					loopCPU(b, flops, func() { Conv2D(r, p, x, cw, bias, Activation{Kind: ActRelu}, y) })
				})
			}
			if func() bool { defer setImpl(lv)(); return convDirectFits(&p) }() {
				// The same layer through im2col and the GEMM, to show what the direct kernel saves.
				b.Run(fmt.Sprintf("%s/%s/threads=1/im2col", l.name, lv), func(b *testing.B) {
					defer setImpl(lv)()
					convDirectOn = false
					defer func() { convDirectOn = true }()
					cw := PackConvWeights(p, w)
					loopCPU(b, flops, func() { Conv2D(nil, p, x, cw, bias, Activation{Kind: ActRelu}, y) })
				})
			}
			if transposedBetter(&p, kernelFor(lv)) {
				// The same layer as W·col, to show what the transposed form saves.
				b.Run(fmt.Sprintf("%s/%s/threads=1/untransposed", l.name, lv), func(b *testing.B) {
					defer setImpl(lv)()
					convTransposedOn = false
					defer func() { convTransposedOn = true }()
					cw := PackConvWeights(p, w)
					loopCPU(b, flops, func() { Conv2D(nil, p, x, cw, bias, Activation{Kind: ActRelu}, y) })
				})
			}
		}
		b.Run(l.name+"/reference-loop", func(b *testing.B) {
			for b.Loop() {
				conv2DGeneric(p, x, w, bias, Activation{Kind: ActRelu}, y)
			}
			reportGFLOPS(b, flops)
		})
	}
}
