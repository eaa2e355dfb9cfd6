package kernels

import (
	"fmt"
	"math"
	"math/big"
	"math/rand/v2"
	"testing"

	"github.com/hone-ml/hone/kernels/kerneltest"
)

// normLengths are 0…70 (every tail of the 4-, 8- and 16-lane loops and their unrolled forms), BERT's and
// BERT-base's rows, and a long row with a tail.
func normLengths() []int {
	var out []int
	for n := 0; n <= 70; n++ {
		out = append(out, n)
	}
	return append(out, 128, 768, 1003)
}

// exactMeanVar is MeanVar in 512-bit arithmetic: every float32 sum is exact there, so it is the reference both
// the twin and the assembly are measured against.
func exactMeanVar(x []float32) (mean, variance float64) {
	const prec = 512
	s := new(big.Float).SetPrec(prec)
	for _, v := range x {
		s.Add(s, new(big.Float).SetPrec(prec).SetFloat64(float64(v)))
	}
	n := new(big.Float).SetPrec(prec).SetInt64(int64(len(x)))
	m := new(big.Float).SetPrec(prec).Quo(s, n)
	s2 := new(big.Float).SetPrec(prec)
	for _, v := range x {
		d := new(big.Float).SetPrec(prec).SetFloat64(float64(v))
		d.Sub(d, m)
		s2.Add(s2, d.Mul(d, d))
	}
	mean, _ = m.Float64()
	variance, _ = s2.Quo(s2, n).Float64()
	return mean, variance
}

// meanVarBounds are the float64 error bounds of a two-pass mean and variance over x, whatever the order of the
// additions: n·ε·mean|x| for the mean and, since a mean off by δ adds δ² to the variance, n·ε·variance + δ² for
// the variance (ε = 2⁻⁵³, doubled for slack).
func meanVarBounds(x []float32, variance float64) (meanTol, varTol float64) {
	const eps = 0x1p-52
	n := float64(len(x))
	var abs float64
	for _, v := range x {
		abs += math.Abs(float64(v))
	}
	meanTol = (n+2)*eps*abs/n + 0x1p-1074
	return meanTol, (n+4)*eps*variance + meanTol*meanTol + 0x1p-1074
}

// normGens are the inputs MeanVar is checked on: centred values, a large offset with a small spread (where a
// one-pass variance cancels), mixed magnitudes over 40 binades, and a constant row.
var normGens = []struct {
	name string
	gen  kerneltest.Gen
}{
	{"centred", kerneltest.Uniform(-3, 3)},
	{"offset", kerneltest.Uniform(1000, 1000.01)},
	{"binades", func(rng *rand.Rand, x []float32) {
		for i := range x {
			x[i] = float32(math.Ldexp(rng.Float64()-0.5, rng.IntN(40)-20))
		}
	}},
	{"constant", func(_ *rand.Rand, x []float32) {
		for i := range x {
			x[i] = -2.75
		}
	}},
}

// TestMeanVar runs MeanVar at every level, at slice offsets 0–3, against 512-bit arithmetic within the float64
// error bound of a two-pass sum, and the assembly against the twin within twice that.
func TestMeanVar(t *testing.T) {
	for _, g := range normGens {
		for _, l := range impls() {
			t.Run(g.name+"/"+l.String(), func(t *testing.T) {
				defer setImpl(l)()
				for _, n := range normLengths() {
					if n == 0 {
						continue // TestMeanVarSpecial
					}
					for off := range 4 {
						rng := rand.New(rand.NewPCG(uint64(n), uint64(off)))
						x := make([]float32, off+n)[off:]
						g.gen(rng, x)
						wantMean, wantVar := exactMeanVar(x)
						meanTol, varTol := meanVarBounds(x, wantVar)
						gotMean, gotVar := MeanVar(x)
						twinMean, twinVar := meanVarGeneric(x)
						name := fmt.Sprintf("n=%d off=%d", n, off)
						if math.Abs(gotMean-wantMean) > meanTol || math.Abs(gotVar-wantVar) > varTol {
							t.Fatalf("%s: MeanVar = %g, %g; want %g, %g (within %g, %g)", name, gotMean, gotVar,
								wantMean, wantVar, meanTol, varTol)
						}
						if math.Abs(gotMean-twinMean) > 2*meanTol || math.Abs(gotVar-twinVar) > 2*varTol {
							t.Fatalf("%s: MeanVar = %g, %g; twin %g, %g", name, gotMean, gotVar, twinMean, twinVar)
						}
						if g.name == "constant" && (gotMean != -2.75 || gotVar != 0) {
							t.Fatalf("%s: constant row gives %g, %g; want −2.75, 0 exactly", name, gotMean, gotVar)
						}
					}
				}
			})
		}
	}
}

// TestMeanVarSpecial checks the documented NaN and infinity results at every level, with the special value in
// the vector part and in the tail: they must not depend on the order of the additions.
func TestMeanVarSpecial(t *testing.T) {
	inf, nan := float32(math.Inf(1)), float32(math.NaN())
	isNaN := math.IsNaN
	cases := []struct {
		name     string
		vals     map[int]float32 // index → value, the rest 1.5
		wantMean func(float64) bool
	}{
		{"NaN", map[int]float32{0: nan}, isNaN},
		{"+Inf", map[int]float32{0: inf}, func(m float64) bool { return math.IsInf(m, 1) }},
		{"−Inf", map[int]float32{0: -inf}, func(m float64) bool { return math.IsInf(m, -1) }},
		{"both Inf", map[int]float32{0: inf, 1: -inf}, isNaN},
		{"NaN and Inf", map[int]float32{0: inf, 1: nan}, isNaN},
	}
	for _, l := range impls() {
		restore := setImpl(l)
		if m, v := MeanVar(nil); !isNaN(m) || !isNaN(v) {
			t.Errorf("%s: MeanVar(empty) = %g, %g; want NaN, NaN", l, m, v)
		}
		if m, v := MeanVar([]float32{-0.5}); m != -0.5 || v != 0 {
			t.Errorf("%s: MeanVar({−0.5}) = %g, %g; want −0.5, 0", l, m, v)
		}
		for _, c := range cases {
			for _, n := range []int{2, 7, 16, 37, 128, 1003} {
				for _, at := range []int{0, n / 2, n - 2} { // start, middle, tail
					x := make([]float32, n)
					for i := range x {
						x[i] = 1.5
					}
					for i, v := range c.vals {
						x[(at+i)%n] = v
					}
					if m, v := MeanVar(x); !c.wantMean(m) || !isNaN(v) {
						t.Errorf("%s %s n=%d at %d: MeanVar = %g, %g; want variance NaN", l, c.name, n, at, m, v)
					}
				}
			}
		}
		restore()
	}
}

// TestNormalizeScaleBias checks at every level, through the kerneltest harness (offsets, guards, in place), that
// the fused row is bit-identical to MulAddScalar, Mul, Add at that level, with and without a bias; and that the
// assembly stays within MulAddScalar's twin tolerance of the Go twin.
func TestNormalizeScaleBias(t *testing.T) {
	const inv, shift = 1.7318, -0.4123
	lengths := normLengths()
	for _, withBias := range []bool{true, false} {
		for _, l := range impls() {
			name := l.String() + "/bias"
			if !withBias {
				name = l.String() + "/nobias"
			}
			// biasFor gives each length its own bias vector, the same for got and want.
			biasFor := func(n int) []float32 {
				if !withBias {
					return nil
				}
				b := make([]float32, n)
				kerneltest.Uniform(-2, 2)(rand.New(rand.NewPCG(uint64(n), 7)), b)
				return b
			}
			t.Run(name, func(t *testing.T) {
				defer setImpl(l)()
				sequence := func(dst, x, scale []float32) {
					MulAddScalar(dst, x, inv, shift)
					Mul(dst, dst, scale)
					if b := biasFor(len(dst)); b != nil {
						Add(dst, dst, b)
					}
				}
				fused := func(dst, x, scale []float32) {
					NormalizeScaleBias(dst, x, inv, shift, scale, biasFor(len(dst)))
				}
				kerneltest.Binary(t, lengths, kerneltest.Uniform(-10, 10), kerneltest.Exact, fused, sequence)
				kerneltest.Binary(t, lengths, kerneltest.Uniform(-10, 10), kerneltest.Tolerance{Rel: 1e-6, Abs: 1e-5},
					fused, func(dst, x, scale []float32) {
						normalizeScaleBiasGeneric(dst, x, inv, shift, scale, biasFor(len(dst)))
					})
			})
		}
	}
}

// TestNormalizeScaleBiasSpecial feeds NaN, ±Inf, ±0, subnormals and overflowing products through the fused row
// and the sequence at every level: IEEE arithmetic makes them agree bit for bit (any NaN matching any NaN).
func TestNormalizeScaleBiasSpecial(t *testing.T) {
	specials := []float32{float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1)), 0,
		float32(math.Copysign(0, -1)), 1e-45, -3e-39, math.MaxFloat32, -math.MaxFloat32, 1}
	rng := rand.New(rand.NewPCG(5, 6))
	for _, l := range impls() {
		restore := setImpl(l)
		for _, n := range []int{1, 7, 9, 17, 40, 128} {
			for range 20 {
				x, scale, bias := make([]float32, n), make([]float32, n), make([]float32, n)
				for _, s := range [][]float32{x, scale, bias} {
					for i := range s {
						s[i] = specials[rng.IntN(len(specials))]
					}
				}
				inv, shift := specials[rng.IntN(len(specials))], specials[rng.IntN(len(specials))]
				want := make([]float32, n)
				MulAddScalar(want, x, inv, shift)
				Mul(want, want, scale)
				Add(want, want, bias)
				got := make([]float32, n)
				NormalizeScaleBias(got, x, inv, shift, scale, bias)
				for i := range got {
					if got[i] != want[i] && !(got[i] != got[i] && want[i] != want[i]) ||
						got[i] == 0 && math.Signbit(float64(got[i])) != math.Signbit(float64(want[i])) {
						t.Fatalf("%s n=%d: (%g·%g + %g)·%g + %g = %g, want %g", l, n, x[i], inv, shift, scale[i],
							bias[i], got[i], want[i])
					}
				}
			}
		}
		restore()
	}
}

// FuzzMeanVarAsmVsTwin checks the assembly against the twin on arbitrary rows (float64 error bounds as in
// TestMeanVar; NaN where the twin has NaN).
func FuzzMeanVarAsmVsTwin(f *testing.F) {
	f.Add([]byte{0, 0, 128, 63, 0, 0, 0, 64, 0, 0, 64, 64})
	f.Fuzz(func(t *testing.T, raw []byte) {
		x := make([]float32, len(raw)/4)
		for i := range x {
			x[i] = math.Float32frombits(uint32(raw[4*i]) | uint32(raw[4*i+1])<<8 | uint32(raw[4*i+2])<<16 |
				uint32(raw[4*i+3])<<24)
		}
		twinMean, twinVar := meanVarGeneric(x)
		meanTol, varTol := meanVarBounds(x, math.Abs(twinVar))
		for _, l := range impls()[1:] {
			restore := setImpl(l)
			m, v := MeanVar(x)
			restore()
			if !close64(m, twinMean, 2*meanTol) || !close64(v, twinVar, 2*varTol) {
				t.Fatalf("%s n=%d: MeanVar = %g, %g; twin %g, %g", l, len(x), m, v, twinMean, twinVar)
			}
		}
	})
}

// close64 reports whether got is within tol of want, NaN matching NaN and infinities matching exactly.
func close64(got, want, tol float64) bool {
	switch {
	case math.IsNaN(got) || math.IsNaN(want):
		return math.IsNaN(got) && math.IsNaN(want)
	case math.IsInf(got, 0) || math.IsInf(want, 0):
		return got == want
	}
	return math.Abs(got-want) <= tol
}

// BenchmarkLayerNormRow times one row's statistics and affine part: MeanVar + NormalizeScaleBias against the
// sequential statistics + MulAddScalar, Mul, Add they replace, per level and row length.
func BenchmarkLayerNormRow(b *testing.B) {
	for _, n := range []int{128, 768} {
		x, scale, bias, dst := make([]float32, n), make([]float32, n), make([]float32, n), make([]float32, n)
		rng := rand.New(rand.NewPCG(1, 2))
		for _, s := range [][]float32{x, scale, bias} {
			kerneltest.Uniform(-1, 1)(rng, s)
		}
		for _, l := range impls() {
			b.Run(fmt.Sprintf("n=%d/%s/fused", n, l), func(b *testing.B) {
				defer setImpl(l)()
				b.SetBytes(int64(4 * n))
				for b.Loop() {
					mean, v := MeanVar(x)
					inv := 1 / math.Sqrt(v+1e-12)
					NormalizeScaleBias(dst, x, float32(inv), float32(-mean*inv), scale, bias)
				}
			})
			b.Run(fmt.Sprintf("n=%d/%s/sequence", n, l), func(b *testing.B) {
				defer setImpl(l)()
				b.SetBytes(int64(4 * n))
				for b.Loop() {
					mean, v := meanVarGeneric(x)
					inv := 1 / math.Sqrt(v+1e-12)
					MulAddScalar(dst, x, float32(inv), float32(-mean*inv))
					Mul(dst, dst, scale)
					Add(dst, dst, bias)
				}
			})
		}
	}
}
