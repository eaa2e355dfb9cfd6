package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

func randSlice(rng *rand.Rand, n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = rng.Float32()*2 - 1
	}
	return s
}

// closeRel reports the first index where got and want differ by more than tol relative to scale.
func checkClose(t *testing.T, name string, got, want []float32, tol float64) {
	t.Helper()
	for i := range want {
		g, w := float64(got[i]), float64(want[i])
		if math.IsNaN(g) != math.IsNaN(w) || math.Abs(g-w) > tol*max(1, math.Abs(w)) {
			t.Fatalf("%s: [%d] = %v, want %v", name, i, got[i], want[i])
		}
	}
}

// forImpls runs f once per SIMD level this CPU supports.
func forImpls(t *testing.T, f func(t *testing.T)) {
	for _, l := range impls() {
		t.Run(l.String(), func(t *testing.T) {
			defer setImpl(l)()
			f(t)
		})
	}
}

// microEpilogues are the accumulate/epilogue combinations every micro-kernel must get right; the clamp bounds
// straddle the random data (-1, 1) so both sides clip.
var microEpilogues = []struct {
	name string
	acc  bool
	ep   *tileEp
}{
	{"overwrite", false, nil},
	{"acc", true, nil},
	{"bias", false, &tileEp{bias: []float32{}}},
	{"acc+bias+clamp", true, &tileEp{bias: []float32{}, clamp: true, lo: -0.5, hi: 0.75}},
	{"relu", false, &tileEp{clamp: true, lo: 0, hi: float32(math.Inf(1))}},
	{"clamp-inverted", true, &tileEp{clamp: true, lo: 0.5, hi: -0.5}}, // ONNX Clip: min(max(x, lo), hi) = hi
}

func TestMicroKernels(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, l := range impls() {
		kern := kernelFor(l)
		for _, kc := range []int{1, 2, 3, 4, 5, 7, 8, 17, 64} {
			for _, tc := range microEpilogues {
				acc, ep := tc.acc, tc.ep
				t.Run(fmt.Sprintf("%s/kc=%d/%s", l, kc, tc.name), func(t *testing.T) {
					a := randSlice(rng, kc*kern.mr)
					b := randSlice(rng, kc*kern.nr)
					ldc := kern.nr + 3
					c := randSlice(rng, kern.mr*ldc)
					want := append([]float32(nil), c...)
					if ep != nil && ep.bias != nil {
						e := *ep
						e.bias = randSlice(rng, kern.mr)
						ep = &e
					}
					microGeneric(kern.mr, kern.nr, kc, a, b, want, ldc, acc, ep)
					kern.fn(kc, a, b, c, ldc, acc, ep)
					checkClose(t, "tile", c, want, 1e-5)
					for _, e := range kern.edges {
						got := append([]float32(nil), c...)
						want := append([]float32(nil), c...)
						microGenericRows(e.rows, kern.mr, kern.nr, kc, a, b, want, ldc, acc, ep)
						e.fn(kc, a, b, got, ldc, acc, ep)
						checkClose(t, fmt.Sprintf("edge %d rows", e.rows), got, want, 1e-5)
					}
					if kern.row != nil {
						// The GEMV kernel reads a plain row: A value p at a[p].
						got := append([]float32(nil), c...)
						want := append([]float32(nil), c...)
						microGenericRows(1, 1, kern.nr, kc, a, b, want, ldc, acc, ep)
						kern.row(kc, a, b, got, ldc, acc, ep)
						checkClose(t, "row kernel", got, want, 1e-5)
					}
				})
			}
		}
	}
}

func TestSgemm(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	seqRunner := Runner(func(n int, fn func(int)) {
		for i := n - 1; i >= 0; i-- { // reversed order: tasks must be independent
			fn(i)
		}
	})
	sizes := [][3]int{{1, 1, 1}, {2, 16, 3}, {4, 32, 9}, {8, 40, 5}, {16, 33, 20}, {64, 64, 64}, {0, 5, 3}, {5, 0, 3}, {3, 4, 0}, {7, 33, 5}, {13, 31, 17}, {12, 32, 256}, {25, 65, 257},
		{145, 70, 300}, {200, 100, 40}, {64, 3100, 9}}
	forImpls(t, func(t *testing.T) {
		for _, sz := range sizes {
			m, n, k := sz[0], sz[1], sz[2]
			for _, tr := range [][2]bool{{false, false}, {true, false}, {false, true}, {true, true}} {
				for _, ab := range [][2]float32{{1, 0}, {0.5, 1}, {-2, 0.25}} {
					for _, r := range []Runner{nil, seqRunner} {
						lda, ldb, ldc := k+1, n+2, n+3
						if tr[0] {
							lda = m + 1
						}
						if tr[1] {
							ldb = k + 2
						}
						a := randSlice(rng, max(m, k)*lda+1)
						b := randSlice(rng, max(n, k)*ldb+1)
						c := randSlice(rng, m*ldc+1)
						if ab[1] == 0 {
							for i := range c {
								c[i] = float32(math.NaN()) // beta == 0 must ignore old C
							}
						}
						want := append([]float32(nil), c...)
						sgemmGeneric(tr[0], tr[1], m, n, k, ab[0], a, lda, b, ldb, ab[1], want, ldc)
						Sgemm(r, tr[0], tr[1], m, n, k, ab[0], a, lda, b, ldb, ab[1], c, ldc)
						name := fmt.Sprintf("m%d n%d k%d t%v ab%v par%v", m, n, k, tr, ab, r != nil)
						// Padding between rows (and past the end) must keep its old value.
						for i := 0; i < m; i++ {
							checkClose(t, name, c[i*ldc:i*ldc+n], want[i*ldc:i*ldc+n], 1e-4)
						}
						for i := range c {
							if i%ldc >= n || i >= m*ldc {
								if math.Float32bits(c[i]) != math.Float32bits(want[i]) {
									t.Fatalf("%s: wrote padding at %d", name, i)
								}
							}
						}
					}
				}
			}
		}
	})
}

func TestSgemmPacked(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	par := Runner(func(n int, fn func(int)) {
		done := make(chan bool)
		for i := 0; i < n; i++ {
			go func() { fn(i); done <- true }()
		}
		for i := 0; i < n; i++ {
			<-done
		}
	})
	forImpls(t, func(t *testing.T) {
		for _, sz := range [][3]int{{1, 1, 1}, {13, 31, 17}, {70, 90, 300}, {300, 64, 27}, {5, 7, 0}, {1, 70, 300}, {1, 1000, 40}, {1, 64, 1}, {1, 3, 0}} {
			m, n, k := sz[0], sz[1], sz[2]
			for _, ep := range []*Epilogue{nil, {Bias: randSlice(rng, max(m, n)), BiasPerRow: true, Act: Activation{Kind: ActRelu}},
				{Bias: randSlice(rng, n), Act: Activation{Kind: ActClip, Alpha: -0.5, Beta: 0.5}}} {
				for _, r := range []Runner{nil, par} {
					for _, trans := range []bool{false, true} {
						a := randSlice(rng, m*k)
						b := randSlice(rng, k*n)
						lda, ldb := k, n
						if trans {
							lda, ldb = m, k
						}
						want := make([]float32, m*n)
						sgemmGeneric(trans, false, m, n, k, 1, a, lda, b, n, 0, want, n)
						if trans {
							sgemmGeneric(false, true, m, n, k, 1, a, k, b, ldb, 0, want, n)
						}
						applyEpilogueRef(ep, m, n, want)
						got := make([]float32, m*n)
						if trans {
							SgemmPackedB(r, false, m, a, k, PackB(true, k, n, b, ldb), got, n, ep)
						} else {
							SgemmPackedB(r, false, m, a, lda, PackB(false, k, n, b, n), got, n, ep)
						}
						checkClose(t, fmt.Sprintf("packedB %v", sz), got, want, 1e-4)
						want2 := make([]float32, m*n)
						sgemmGeneric(trans, false, m, n, k, 1, a, lda, b, n, 0, want2, n)
						applyEpilogueRef(ep, m, n, want2)
						got2 := make([]float32, m*n)
						SgemmPackedA(r, PackA(trans, m, k, a, lda), n, b, n, got2, n, ep)
						checkClose(t, fmt.Sprintf("packedA %v", sz), got2, want2, 1e-4)
					}
				}
			}
		}
	})
}

// applyEpilogueRef is the epilogue as scalar Go, straight from the Epilogue doc.
func applyEpilogueRef(ep *Epilogue, m, n int, c []float32) {
	if ep == nil {
		return
	}
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			v := c[i*n+j]
			if ep.Bias != nil {
				if ep.BiasPerRow {
					v += ep.Bias[i]
				} else {
					v += ep.Bias[j]
				}
			}
			c[i*n+j] = actRef(ep.Act, v)
		}
	}
}

// actRef is each activation's ONNX formula evaluated in float64.
func actRef(a Activation, v float32) float32 {
	x := float64(v)
	switch a.Kind {
	case ActRelu:
		return float32(max(x, 0))
	case ActClip:
		return float32(min(max(x, float64(a.Alpha)), float64(a.Beta)))
	case ActLeakyRelu:
		if x < 0 {
			return float32(x * float64(a.Alpha))
		}
	case ActSigmoid:
		return float32(1 / (1 + math.Exp(-x)))
	case ActTanh:
		return float32(math.Tanh(x))
	case ActHardSigmoid:
		return float32(max(0, min(1, float64(a.Alpha)*x+float64(a.Beta))))
	case ActHardSwish:
		return float32(x * max(0, min(1, x/6+0.5)))
	}
	return v
}

// FuzzSgemm compares every SIMD level's Sgemm with the reference loop on fuzzed shapes, strides and scalars.
func FuzzSgemm(f *testing.F) {
	f.Add(uint8(13), uint8(33), uint8(7), uint8(1), uint8(2), uint8(3), false, true, float32(1), float32(0), uint64(1))
	f.Add(uint8(1), uint8(1), uint8(0), uint8(0), uint8(0), uint8(0), true, false, float32(2), float32(0.5), uint64(2))
	f.Fuzz(func(t *testing.T, m8, n8, k8, pa, pb, pc uint8, transA, transB bool, alpha, beta float32, seed uint64) {
		m, n, k := int(m8%80), int(n8%80), int(k8)
		// Non-finite or huge scalars make any tolerance meaningless; fold them into a sane range.
		if !(math.Abs(float64(alpha)) <= 1e3) {
			alpha = 1.5
		}
		if !(math.Abs(float64(beta)) <= 1e3) {
			beta = 0.5
		}
		rng := rand.New(rand.NewPCG(seed, 7))
		lda, ldb, ldc := k+int(pa%4), n+int(pb%4), n+int(pc%4)
		if transA {
			lda = m + int(pa%4)
		}
		if transB {
			ldb = k + int(pb%4)
		}
		a := randSlice(rng, max(m, k)*lda+1)
		b := randSlice(rng, max(n, k)*ldb+1)
		c0 := randSlice(rng, m*ldc+1)
		want := append([]float32(nil), c0...)
		sgemmGeneric(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, want, ldc)
		for _, l := range impls() {
			c := append([]float32(nil), c0...)
			restore := setImpl(l)
			Sgemm(GoRunner(2), transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
			restore()
			tol := 1e-5 * float64(k+1) * max(1, math.Abs(float64(alpha))) * max(1, math.Abs(float64(beta)))
			for i := range c {
				if math.Abs(float64(c[i]-want[i])) > tol {
					t.Fatalf("%s m%d n%d k%d: c[%d] = %v, want %v", l, m, n, k, i, c[i], want[i])
				}
			}
		}
	})
}

// TestPackA checks the A panel packing at every level (the gather kernels where they apply) against its
// definition: panel ip holds alpha·op(A)[i][p] at [p·mr + i − ip·mr], and zero for rows past mc, and nothing
// past the panels is written. Every level must give the same bits (one multiply per value).
func TestPackA(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	for _, l := range impls() {
		restore := setImpl(l)
		for _, mr := range []int{1, 2, 4, 6, 8, 12, 16} {
			for _, mc := range []int{1, mr - 1, mr, mr + 1, 3*mr + 2} {
				for _, kc := range []int{1, 2, 7, 33} {
					for _, trans := range []bool{false, true} {
						if mc <= 0 {
							continue
						}
						ic, pc := 1, 3
						rowsA, colsA := ic+mc, pc+kc // op(A) is rowsA × colsA
						lda := colsA + 5
						if trans {
							lda = rowsA + 5
						}
						a := randSlice(rng, max(rowsA, colsA)*lda)
						alpha := float32(0.7)
						n := kc * roundUp(mc, mr)
						buf := make([]float32, n+16) // 16 canaries past the panels
						for i := range buf {
							buf[i] = float32(math.NaN())
						}
						dst := buf[:n:n]
						packA(a, lda, trans, alpha, ic, mc, pc, kc, mr, dst)
						for i, v := range buf[n:] {
							if !math.IsNaN(float64(v)) {
								t.Fatalf("%v mr=%d mc=%d kc=%d trans=%v: value %d past the panels written", l, mr, mc, kc, trans, i)
							}
						}
						for ip := 0; ip*mr < mc; ip++ {
							for p := 0; p < kc; p++ {
								for r := 0; r < mr; r++ {
									i := ip*mr + r
									var want float32
									if i < mc {
										v := a[(ic+i)*lda+pc+p]
										if trans {
											v = a[(pc+p)*lda+ic+i]
										}
										want = alpha * v
									}
									if got := dst[ip*kc*mr+p*mr+r]; math.Float32bits(got) != math.Float32bits(want) {
										t.Fatalf("%v mr=%d mc=%d kc=%d trans=%v: panel %d [%d][%d] = %v, want %v", l, mr, mc, kc, trans, ip, p, r, got, want)
									}
								}
							}
						}
					}
				}
			}
		}
		restore()
	}
}
