// Package kerneltest is the conformance harness for hone's vector kernels: it runs an implementation and its
// reference over lengths 0, 1, each lane count ±1 and longer tails, at slice offsets 0–3, with guard values
// around the output so a loop that writes one element too far is caught. Like gonum's asm tests and
// blas/testblas, every SIMD variant of a routine goes through the same checks.
package kerneltest

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// Lengths returns 0, 1, lane−1, lane, lane+1 for each lane count, a few multiples plus tails, and one long length.
func Lengths(lanes ...int) []int {
	seen := map[int]bool{}
	var out []int
	add := func(n int) {
		if n >= 0 && !seen[n] {
			seen[n] = true
			out = append(out, n)
		}
	}
	add(0)
	add(1)
	for _, l := range lanes {
		for _, m := range []int{1, 2, 4, 5} {
			add(m*l - 1)
			add(m * l)
			add(m*l + 1)
		}
		add(4*l + l/2)
	}
	add(1000)
	return out
}

// Tolerance bounds |got − want| ≤ Abs + Rel·|want|. NaN must match NaN; infinities must match exactly.
type Tolerance struct{ Abs, Rel float64 }

// Exact demands bit-for-bit equal results (except that any NaN matches any NaN).
var Exact = Tolerance{}

func (tol Tolerance) ok(got, want float32) bool {
	g, w := float64(got), float64(want)
	switch {
	case math.IsNaN(w) || math.IsNaN(g):
		return math.IsNaN(w) && math.IsNaN(g)
	case math.IsInf(w, 0) || math.IsInf(g, 0):
		return g == w
	case tol == Exact:
		return math.Float32bits(got) == math.Float32bits(want)
	}
	return math.Abs(g-w) <= tol.Abs+tol.Rel*math.Abs(w)
}

// guard is a NaN with a payload no arithmetic produces, so an overwritten guard is always detected.
var guard = math.Float32frombits(0x7fc0_dead)

const guardLen = 8

// buffer returns a slice of n values at offset off inside a larger allocation whose other cells hold guard.
func buffer(n, off int) (full, s []float32) {
	full = make([]float32, off+n+guardLen)
	for i := range full {
		full[i] = guard
	}
	return full, full[off : off+n]
}

func checkGuards(t *testing.T, name string, full []float32, off, n int) {
	t.Helper()
	for i, v := range full {
		if (i < off || i >= off+n) && math.Float32bits(v) != math.Float32bits(guard) {
			t.Fatalf("%s: wrote outside its output at %d (offset %d, n %d)", name, i, off, n)
		}
	}
}

// Gen fills an input slice; rng is seeded per case so failures reproduce.
type Gen func(rng *rand.Rand, x []float32)

// Uniform returns a Gen of values uniform in [lo, hi).
func Uniform(lo, hi float32) Gen {
	return func(rng *rand.Rand, x []float32) {
		for i := range x {
			x[i] = lo + (hi-lo)*rng.Float32()
		}
	}
}

// Unary checks got against want (both dst[i] = f(x[i]) over len(x)) for every length and offset, out of place
// and in place (dst aliasing x).
func Unary(t *testing.T, lengths []int, gen Gen, tol Tolerance, got, want func(dst, x []float32)) {
	t.Helper()
	for _, n := range lengths {
		for off := 0; off < 4; off++ {
			rng := rand.New(rand.NewPCG(uint64(n), uint64(off)))
			_, x := buffer(n, off)
			gen(rng, x)
			wantOut := make([]float32, n)
			want(wantOut, x)
			full, dst := buffer(n, 3-off)
			got(dst, x)
			name := fmt.Sprintf("n=%d off=%d", n, off)
			checkGuards(t, name, full, 3-off, n)
			compare(t, name, x, nil, dst, wantOut, tol)
			inPlace := append([]float32(nil), x...)
			got(inPlace, inPlace)
			compare(t, name+" in place", x, nil, inPlace, wantOut, tol)
		}
	}
}

// Binary is Unary for dst[i] = f(a[i], b[i]) over len(dst).
func Binary(t *testing.T, lengths []int, gen Gen, tol Tolerance, got, want func(dst, a, b []float32)) {
	t.Helper()
	for _, n := range lengths {
		for off := 0; off < 4; off++ {
			rng := rand.New(rand.NewPCG(uint64(n), uint64(off)+100))
			_, a := buffer(n, off)
			_, b := buffer(n, (off+1)%4)
			gen(rng, a)
			gen(rng, b)
			wantOut := make([]float32, n)
			want(wantOut, a, b)
			full, dst := buffer(n, 3-off)
			got(dst, a, b)
			name := fmt.Sprintf("n=%d off=%d", n, off)
			checkGuards(t, name, full, 3-off, n)
			compare(t, name, a, b, dst, wantOut, tol)
			inPlace := append([]float32(nil), a...)
			got(inPlace, inPlace, b)
			compare(t, name+" in place", a, b, inPlace, wantOut, tol)
		}
	}
}

func compare(t *testing.T, name string, a, b, got, want []float32, tol Tolerance) {
	t.Helper()
	for i := range want {
		if !tol.ok(got[i], want[i]) {
			if b != nil {
				t.Fatalf("%s: f(%v, %v) = %v, want %v (index %d)", name, a[i], b[i], got[i], want[i], i)
			}
			t.Fatalf("%s: f(%v) = %v, want %v (index %d)", name, a[i], got[i], want[i], i)
		}
	}
}
