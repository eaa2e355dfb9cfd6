package kernels

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// reduceLengths are 0…100 (every tail of the 8- and 16-lane loops several times over) plus two long rows.
func reduceLengths() []int {
	var out []int
	for n := range 101 {
		out = append(out, n)
	}
	return append(out, 1000, 65536+3)
}

var (
	inf32       = float32(math.Inf(1))
	minDenormal = math.Float32frombits(1)           // the smallest positive float32
	maxDenormal = math.Float32frombits(0x007f_ffff) // the largest subnormal
	negZero     = math.Float32frombits(0x8000_0000)
)

// reduceGens fill the reductions' inputs: ordinary values, values drawn from the edge cases (±0, ±Inf, subnormals,
// ±MaxFloat32), zeros beside only negatives or only positives (so an extreme is a zero and its sign decides the
// bits), and runs of one value.
var reduceGens = []struct {
	name string
	gen  func(r *rand.Rand, x []float32)
}{
	{"mixed", func(r *rand.Rand, x []float32) {
		for i := range x {
			x[i] = float32(math.Ldexp(r.Float64()-0.5, r.IntN(40)-20))
		}
	}},
	{"specials", func(r *rand.Rand, x []float32) {
		specials := []float32{0, negZero, inf32, -inf32, minDenormal, -minDenormal, maxDenormal, -maxDenormal,
			math.MaxFloat32, -math.MaxFloat32, 1, -1, math.SmallestNonzeroFloat32 * 3}
		for i := range x {
			x[i] = specials[r.IntN(len(specials))]
		}
	}},
	{"signed-zeros", func(r *rand.Rand, x []float32) {
		for i := range x {
			x[i] = []float32{0, negZero}[r.IntN(2)]
		}
	}},
	{"zeros-and-negatives", func(r *rand.Rand, x []float32) {
		for i := range x {
			x[i] = []float32{0, negZero, -minDenormal, -2.5, -inf32}[r.IntN(5)]
		}
	}},
	{"zeros-and-positives", func(r *rand.Rand, x []float32) {
		for i := range x {
			x[i] = []float32{0, negZero, minDenormal, 2.5, inf32}[r.IntN(5)]
		}
	}},
	{"denormals", func(r *rand.Rand, x []float32) {
		for i := range x {
			x[i] = math.Float32frombits(r.Uint32N(0x0080_0000) | r.Uint32N(2)<<31)
		}
	}},
	{"all-equal", func(r *rand.Rand, x []float32) {
		v := []float32{1.5, -3, 0, negZero, inf32, -inf32, -maxDenormal}[r.IntN(7)]
		for i := range x {
			x[i] = v
		}
	}},
}

// reduceNaNs are NaNs of both signs, quiet and signalling; the assembly finds a NaN with the sign bit set by a
// different test than one without.
var reduceNaNs = []float32{
	math.Float32frombits(0x7fc0_0000), math.Float32frombits(0xffc0_0000), math.Float32frombits(0x7f80_0001),
	math.Float32frombits(0xffff_ffff),
}

// nanPositions are where a NaN goes in a row of n: first, last, inside the 16- and 8-lane vector prefixes and
// inside their tails (the part the Go twin scans).
func nanPositions(r *rand.Rand, n int) []int {
	if n == 0 {
		return nil
	}
	pos := []int{0, n - 1, r.IntN(n)}
	for _, lanes := range []int{16, 8} {
		if v := n &^ (lanes - 1); v > 0 {
			pos = append(pos, r.IntN(v))
			if v < n {
				pos = append(pos, v+r.IntN(n-v))
			}
		}
	}
	return pos
}

// sameBits compares floats bit for bit, NaNs included: every reduction returns nanF32 for a NaN.
func sameBits(a, b float32) bool { return math.Float32bits(a) == math.Float32bits(b) }

// checkMinMaxContract checks the twin against MinMax's documented meaning: lo and hi are elements of x, none lies
// below lo or above hi, and a zero extreme is −0 for lo (+0 for hi) whenever x holds one.
func checkMinMaxContract(t *testing.T, name string, x []float32, lo, hi float32) {
	t.Helper()
	var nan, loFound, hiFound, negZeroSeen, posZeroSeen bool
	for _, v := range x {
		nan = nan || v != v
		loFound = loFound || sameBits(v, lo)
		hiFound = hiFound || sameBits(v, hi)
		negZeroSeen = negZeroSeen || sameBits(v, negZero)
		posZeroSeen = posZeroSeen || sameBits(v, 0)
		if v < lo || v > hi {
			t.Fatalf("%s: minMaxGeneric = (%g, %g) but x holds %g", name, lo, hi, v)
		}
	}
	switch {
	case nan:
		if !sameBits(lo, nanF32) || !sameBits(hi, nanF32) {
			t.Fatalf("%s: minMaxGeneric = (%g, %g) with a NaN present", name, lo, hi)
		}
	case len(x) == 0:
		if lo != inf32 || hi != -inf32 {
			t.Fatalf("%s: minMaxGeneric of nothing = (%g, %g), want (+Inf, −Inf)", name, lo, hi)
		}
	case !loFound || !hiFound:
		t.Fatalf("%s: minMaxGeneric = (%g, %g), not both elements of x", name, lo, hi)
	case lo == 0 && negZeroSeen && !sameBits(lo, negZero), hi == 0 && posZeroSeen && !sameBits(hi, 0):
		t.Fatalf("%s: minMaxGeneric = (%g, %g): −0 must order below +0", name, lo, hi)
	}
}

// TestMinMax runs MinMax and MaxValue at every level against their Go twins, bit for bit, over every length to
// 100 and two long ones, at offsets 0–3, for each input family and with each NaN at each position class.
func TestMinMax(t *testing.T) {
	r := rand.New(rand.NewPCG(63, 64))
	check := func(name string, x []float32) {
		t.Helper()
		wantLo, wantHi := minMaxGeneric(x)
		wantMax := maxValueGeneric(x)
		checkMinMaxContract(t, name, x, wantLo, wantHi)
		if !sameBits(wantMax, wantHi) {
			t.Fatalf("%s: maxValueGeneric = %g, minMaxGeneric's hi = %g", name, wantMax, wantHi)
		}
		for _, l := range impls() {
			restore := setImpl(l)
			lo, hi := MinMax(x)
			m := MaxValue(x)
			restore()
			if !sameBits(lo, wantLo) || !sameBits(hi, wantHi) {
				t.Fatalf("%s %s: MinMax = (%g %#x, %g %#x), want (%g %#x, %g %#x)", l, name,
					lo, math.Float32bits(lo), hi, math.Float32bits(hi),
					wantLo, math.Float32bits(wantLo), wantHi, math.Float32bits(wantHi))
			}
			if !sameBits(m, wantMax) {
				t.Fatalf("%s %s: MaxValue = %g (%#x), want %g (%#x)", l, name, m, math.Float32bits(m), wantMax,
					math.Float32bits(wantMax))
			}
		}
	}
	for _, g := range reduceGens {
		for _, n := range reduceLengths() {
			for off := range 4 {
				buf := make([]float32, off+n)
				x := buf[off:]
				g.gen(r, x)
				name := fmt.Sprintf("%s n=%d off=%d", g.name, n, off)
				check(name, x)
				if off > 0 {
					continue
				}
				for _, p := range nanPositions(r, n) {
					for _, nan := range reduceNaNs {
						saved := x[p]
						x[p] = nan
						check(fmt.Sprintf("%s NaN %#x at %d", name, math.Float32bits(nan), p), x)
						x[p] = saved
					}
				}
			}
		}
	}
}

// sumLanes is the order both assembly sums add in: 16 float64 lanes, lane j taking x[16i+j], folded j+8 into j,
// then j+4, j+2 and j+1; the tail is added sequentially after.
func sumLanes(x []float32) float64 {
	var lanes [16]float64
	n := len(x) &^ 15
	for i, v := range x[:n] {
		lanes[i%16] += float64(v)
	}
	for w := 8; w >= 1; w /= 2 {
		for j := range w {
			lanes[j] += lanes[j+w]
		}
	}
	return lanes[0] + sumGeneric(x[n:])
}

// TestSum runs Sum at every level against a sequential float64 loop (within float64 rounding: 1e-12 of Σ|x|;
// infinities and NaNs exactly) and, at the assembly levels, against sumLanes bit for bit, so the AVX2 and AVX-512
// loops must add in the same order and return the same bits.
func TestSum(t *testing.T) {
	r := rand.New(rand.NewPCG(61, 62))
	for _, g := range reduceGens {
		for _, n := range reduceLengths() {
			for off := range 4 {
				buf := make([]float32, off+n)
				x := buf[off:]
				g.gen(r, x)
				checkSum(t, fmt.Sprintf("%s n=%d off=%d", g.name, n, off), x)
				if n > 0 && off == 0 {
					x[r.IntN(n)] = reduceNaNs[r.IntN(len(reduceNaNs))]
					checkSum(t, fmt.Sprintf("%s n=%d with a NaN", g.name, n), x)
				}
			}
		}
	}
}

func checkSum(t *testing.T, name string, x []float32) {
	t.Helper()
	want := sumGeneric(x)
	var abs float64
	for _, v := range x {
		abs += math.Abs(float64(v))
	}
	lanes := sumLanes(x)
	for _, l := range impls() {
		restore := setImpl(l)
		got := Sum(x)
		restore()
		switch {
		case math.IsNaN(want) || math.IsInf(want, 0):
			if math.Float64bits(got) != math.Float64bits(want) && !(math.IsNaN(got) && math.IsNaN(want)) {
				t.Fatalf("%s %s: Sum = %g, want %g", l, name, got, want)
			}
		case math.Abs(got-want) > 1e-12*abs:
			t.Fatalf("%s %s: Sum = %g, want %g within 1e-12·%g", l, name, got, want, abs)
		case l != implGeneric && math.Float64bits(got) != math.Float64bits(lanes):
			t.Fatalf("%s %s: Sum = %g (%#x), want the 16-lane order's %g (%#x)", l, name, got,
				math.Float64bits(got), lanes, math.Float64bits(lanes))
		}
	}
}

// FuzzReduce reads the input as little-endian float32 bit patterns, so every NaN, zero and subnormal is reachable,
// and compares every level with the twins as TestMinMax and TestSum do.
func FuzzReduce(f *testing.F) {
	f.Add([]byte{})
	f.Add(make([]byte, 4*17))
	seed := make([]byte, 4*40)
	for i := range 40 {
		binary.LittleEndian.PutUint32(seed[4*i:], []uint32{0x8000_0000, 0, 0xff80_0000, 0x7fc0_0001}[i%4])
	}
	f.Add(seed)
	f.Fuzz(func(t *testing.T, data []byte) {
		x := make([]float32, len(data)/4)
		for i := range x {
			x[i] = math.Float32frombits(binary.LittleEndian.Uint32(data[4*i:]))
		}
		wantLo, wantHi := minMaxGeneric(x)
		checkMinMaxContract(t, "fuzz", x, wantLo, wantHi)
		for _, l := range impls() {
			restore := setImpl(l)
			lo, hi := MinMax(x)
			m := MaxValue(x)
			restore()
			if !sameBits(lo, wantLo) || !sameBits(hi, wantHi) || !sameBits(m, wantHi) {
				t.Fatalf("%s n=%d: MinMax = (%g, %g), MaxValue = %g, want (%g, %g)", l, len(x), lo, hi, m, wantLo,
					wantHi)
			}
		}
		checkSum(t, "fuzz", x)
	})
}

var reduceSink float64

// BenchmarkReduce sets each reduction's SIMD variants beside its Go twin (the generic level) on 65536 floats.
func BenchmarkReduce(b *testing.B) {
	const n = 65536
	x := randSlice(rand.New(rand.NewPCG(1, 2)), n)
	ops := []struct {
		name string
		run  func()
	}{
		{"MinMax", func() { lo, hi := MinMax(x); reduceSink += float64(hi - lo) }},
		{"Sum", func() { reduceSink += Sum(x) }},
		{"MaxValue", func() { reduceSink += float64(MaxValue(x)) }},
	}
	for _, op := range ops {
		for _, l := range impls() {
			b.Run(op.name+"/"+l.String(), func(b *testing.B) {
				defer setImpl(l)()
				b.SetBytes(n * 4)
				for b.Loop() {
					op.run()
				}
			})
		}
	}
}

// TestExpSum checks ExpSum at every level against AddScalar, Exp and Sum run one after another: the same values
// and the same sum, bit for bit, for lengths around the 16-value groups and with NaN, ±Inf, huge and tiny inputs,
// and exponentials spread so widely that the float64 sum rounds (only then does its order change its bits).
func TestExpSum(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for _, l := range impls() {
		restore := setImpl(l)
		for _, n := range []int{0, 1, 7, 15, 16, 17, 31, 32, 40, 63, 128, 6625} {
			for trial := range 4 {
				x := make([]float32, n)
				for i := range x {
					x[i] = float32(r.NormFloat64() * 4)
					if trial == 3 { // exponentials from 1e-35 to 1e35: float64 sums that round, so order shows
						x[i] = float32(r.Float64()*160 - 80)
					}
				}
				if trial == 1 && n > 3 {
					x[0], x[n/2], x[n-1] = -1e4, 90, float32(math.Inf(-1))
				}
				if trial == 2 && n > 2 {
					x[n/3], x[n-1] = float32(math.NaN()), float32(math.Inf(1))
				}
				shift := float32(-r.Float64() * 3)
				want := make([]float32, n)
				AddScalar(want, x, shift)
				Exp(want, want)
				wantSum := Sum(want)
				got := make([]float32, n)
				sum := ExpSum(got, x, shift)
				if math.Float64bits(sum) != math.Float64bits(wantSum) && !(math.IsNaN(sum) && math.IsNaN(wantSum)) {
					t.Fatalf("%v n=%d trial %d: sum %v, want %v", l, n, trial, sum, wantSum)
				}
				for i := range want {
					if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
						t.Fatalf("%v n=%d trial %d: dst[%d] = %v, want %v", l, n, trial, i, got[i], want[i])
					}
				}
			}
		}
		restore()
	}
}
