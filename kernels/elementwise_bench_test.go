package kernels

import (
	"math/rand/v2"
	"testing"
)

// BenchmarkUnary sets every SIMD variant of each loop beside its Go twin (the generic level) at 4096 elements.
func BenchmarkUnary(b *testing.B) {
	const n = 4096
	rng := rand.New(rand.NewPCG(1, 2))
	x := randSlice(rng, n)
	dst := make([]float32, n)
	for _, c := range unaryCases {
		for _, l := range impls() {
			b.Run(c.name+"/"+l.String(), func(b *testing.B) {
				defer setImpl(l)()
				b.SetBytes(n * 4)
				for b.Loop() {
					unary(c.op, dst, x, c.alpha, c.beta)
				}
			})
		}
	}
}

func BenchmarkBinary(b *testing.B) {
	const n = 4096
	rng := rand.New(rand.NewPCG(1, 2))
	x, y := randSlice(rng, n), randSlice(rng, n)
	dst := make([]float32, n)
	for _, l := range impls() {
		b.Run("Add/"+l.String(), func(b *testing.B) {
			defer setImpl(l)()
			b.SetBytes(n * 4)
			for b.Loop() {
				Add(dst, x, y)
			}
		})
		b.Run("Mul/"+l.String(), func(b *testing.B) {
			defer setImpl(l)()
			b.SetBytes(n * 4)
			for b.Loop() {
				Mul(dst, x, y)
			}
		})
	}
}

func BenchmarkDwTaps(b *testing.B) {
	const n = 56 * 58
	rng := rand.New(rand.NewPCG(1, 2))
	buf := randSlice(rng, n+200)
	offs := []int{0, 1, 2, 58, 59, 60, 116, 117, 118}
	w := randSlice(rng, 9)
	out := make([]float32, roundUp(n, dwLanes))
	for _, l := range impls() {
		b.Run(l.String(), func(b *testing.B) {
			defer setImpl(l)()
			for b.Loop() {
				dwTaps(out, n, buf, offs, w, 0.1)
			}
			reportGFLOPS(b, 2*9*n)
		})
	}
}
