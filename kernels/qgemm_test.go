package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// qgemmRef is the definition: S_ij = Σ_k (a_ik − za_i)(b_kj − zb_j), computed directly.
func qgemmRef(m, n, k int, a []uint8, lda int, za []int32, b []int8, ldb int, zb []int32) []int32 {
	out := make([]int32, m*n)
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			var s int32
			for p := 0; p < k; p++ {
				s += (int32(a[i*lda+p]) - za[min(i, len(za)-1)]) * (int32(b[p*ldb+j]) - zb[min(j, len(zb)-1)])
			}
			out[i*n+j] = s
		}
	}
	return out
}

func qrand(r *rand.Rand, n int) ([]uint8, []int8) {
	u, s := make([]uint8, n), make([]int8, n)
	for i := range u {
		u[i] = uint8(r.IntN(256))
		s[i] = int8(r.IntN(256) - 128)
	}
	return u, s
}

// TestQGemmImpls runs every SIMD level against the direct definition over sizes around the tile edges, at
// offsets 0–3, with per-row/per-column zero points; integer results must match exactly.
func TestQGemmImpls(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	sizes := [][3]int{{0, 5, 3}, {1, 1, 1}, {1, 32, 4}, {7, 31, 3}, {8, 32, 4}, {9, 33, 5}, {17, 65, 63}, {3, 100, 130}, {24, 96, 256}}
	for _, l := range qimpls() {
		restore := setQImpl(l)
		for _, sz := range sizes {
			for off := 0; off < 4; off++ {
				m, n, k := sz[0], sz[1], sz[2]
				t.Run(fmt.Sprintf("%s/%dx%dx%d/off%d", l, m, n, k, off), func(t *testing.T) {
					lda, ldb := k+off, n+off
					a, _ := qrand(r, off+m*lda+1)
					_, b := qrand(r, off+k*ldb+1)
					a, b = a[off:], b[off:]
					za := []int32{int32(r.IntN(256))}
					zb := []int32{0}
					if off%2 == 1 {
						za = make([]int32, m)
						for i := range za {
							za[i] = int32(r.IntN(256))
						}
						zb = make([]int32, n)
						for j := range zb {
							zb[j] = int32(r.IntN(256) - 128)
						}
					}
					pb, err := QPackB(k, n, b, ldb, zb)
					if err != nil {
						t.Fatal(err)
					}
					want := qgemmRef(m, n, k, a, lda, za, b, ldb, zb)
					got := make([]int32, m*n+2)
					got[m*n], got[m*n+1] = 0x5a5a5a5a, 0x5a5a5a5a // guards
					if err := QGemm(nil, m, a, lda, za, pb, &QOutput{I32: got, Ldc: n}); err != nil {
						t.Fatal(err)
					}
					for i := range want {
						if got[i] != want[i] {
							t.Fatalf("C[%d,%d] = %d, want %d", i/n, i%n, got[i], want[i])
						}
					}
					if got[m*n] != 0x5a5a5a5a || got[m*n+1] != 0x5a5a5a5a {
						t.Fatalf("wrote past the output")
					}
				})
			}
		}
		restore()
	}
}

// TestQGemmPackedLda reads A as overlapping windows of one buffer (QPackedA.Lda below K: the row-window layout
// of QLinearConv) in every SIMD variant and checks the product against the reference on the same rows, with
// per-row A and per-column B zero points (so the row sums read the windows too) and with neither.
func TestQGemmPackedLda(t *testing.T) {
	r := rand.New(rand.NewPCG(31, 32))
	for _, l := range qimpls() {
		restore := setQImpl(l)
		// The last two are image stems' windows of unpadded pixels: K and the stride no multiple of 4 (det's
		// 3×3 over 3 channels at stride 2, ResNet's 7×7).
		for _, sz := range [][4]int{{1, 24, 12, 4}, {8, 24, 36, 12}, {13, 16, 72, 24}, {21, 40, 36, 12}, {16, 5, 8, 8}, {19, 16, 27, 18}, {11, 64, 147, 42}} {
			for _, zero := range []bool{true, false} {
				m, n, k, lda := sz[0], sz[1], sz[2], sz[3]
				t.Run(fmt.Sprintf("%s/%dx%dx%d/lda%d/zero%v", l, m, n, k, lda, zero), func(t *testing.T) {
					kp, _ := QPackedASize(m, k)
					buf, _ := qrand(r, ((m+qgemmMR-1)/qgemmMR*qgemmMR-1)*lda+kp)
					_, b := qrand(r, k*n)
					za, zb := []int32{int32(r.IntN(256))}, []int32{0}
					if !zero {
						za = make([]int32, m)
						for i := range za {
							za[i] = int32(r.IntN(256))
						}
						zb = make([]int32, n)
						for j := range zb {
							zb[j] = int32(r.IntN(256) - 128)
						}
					}
					pb, err := QPackB(k, n, b, n, zb)
					if err != nil {
						t.Fatal(err)
					}
					rows := make([]uint8, m*k) // the windows written out as a plain matrix for the reference
					for i := 0; i < m; i++ {
						copy(rows[i*k:], buf[i*lda:i*lda+k])
					}
					want := qgemmRef(m, n, k, rows, k, za, b, n, zb)
					got := make([]int32, m*n)
					if err := QGemmPacked(nil, &QPackedA{M: m, K: k, Kp: kp, Data: buf, Lda: lda}, za, pb, &QOutput{I32: got, Ldc: n}); err != nil {
						t.Fatal(err)
					}
					for i := range want {
						if got[i] != want[i] {
							t.Fatalf("C[%d,%d] = %d, want %d", i/n, i%n, got[i], want[i])
						}
					}
					short := &QPackedA{M: m, K: k, Kp: kp, Data: buf[:len(buf)-1], Lda: lda}
					if err := QGemmPacked(nil, short, za, pb, &QOutput{I32: got, Ldc: n}); err == nil {
						t.Fatal("a buffer one byte short of the last row block was accepted")
					}
				})
			}
		}
		restore()
	}
}

// TestQGemmRequantize checks the uint8/int8/float epilogues against the formula with per-column scales, a bias
// and a zero point, including saturation at both ends.
func TestQGemmRequantize(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	m, n, k := 5, 40, 37
	a, _ := qrand(r, m*k)
	_, b := qrand(r, k*n)
	za, zb := []int32{131}, []int32{0}
	pb, _ := QPackB(k, n, b, n, zb)
	want := qgemmRef(m, n, k, a, k, za, b, n, zb)
	scale := make([]float32, n)
	bias := make([]int32, n)
	fbias := make([]float32, n)
	for j := range scale {
		scale[j] = float32(r.Float64()*4e-3 + 1e-5)
		bias[j] = int32(r.IntN(2000) - 1000)
		fbias[j] = float32(r.NormFloat64())
	}
	u8, i8, f32 := make([]uint8, m*n), make([]int8, m*n), make([]float32, m*n)
	for _, o := range []*QOutput{{U8: u8, Ldc: n, Scale: scale, Bias: bias, ZeroPoint: 128}, {I8: i8, Ldc: n, Scale: scale, Bias: bias, ZeroPoint: -3}, {F32: f32, Ldc: n, Scale: scale, Bias: bias, FBias: fbias}} {
		if err := QGemm(nil, m, a, k, za, pb, o); err != nil {
			t.Fatal(err)
		}
	}
	sat := 0
	for i, s := range want {
		j := i % n
		f := float64(float32(s+bias[j]) * scale[j])
		wu := math.Max(0, math.Min(255, math.RoundToEven(f)+128))
		wi := math.Max(-128, math.Min(127, math.RoundToEven(f)-3))
		if wu == 0 || wu == 255 {
			sat++
		}
		if float64(u8[i]) != wu || float64(i8[i]) != wi {
			t.Fatalf("element %d: u8 %d (want %g), i8 %d (want %g)", i, u8[i], wu, i8[i], wi)
		}
		if wf := float32(s+bias[j])*scale[j] + fbias[j]; f32[i] != wf {
			t.Fatalf("element %d: f32 %g, want %g", i, f32[i], wf)
		}
	}
	if sat == 0 {
		t.Fatalf("no value saturated: the test does not exercise clamping")
	}
}

func TestQGemmErrors(t *testing.T) {
	if _, err := QPackB(4, 4, make([]int8, 10), 4, []int32{0}); err == nil {
		t.Error("short B accepted")
	}
	if _, err := QPackB(4, 4, make([]int8, 16), 4, []int32{0, 0}); err == nil {
		t.Error("2 zero points for 4 columns accepted")
	}
	pb, _ := QPackB(4, 4, make([]int8, 16), 4, []int32{0})
	if err := QGemm(nil, 2, make([]uint8, 7), 4, []int32{0}, pb, &QOutput{I32: make([]int32, 8), Ldc: 4}); err == nil {
		t.Error("short A accepted")
	}
	if err := QGemm(nil, 2, make([]uint8, 8), 4, []int32{0}, pb, &QOutput{I32: make([]int32, 7), Ldc: 4}); err == nil {
		t.Error("short C accepted")
	}
	if err := QGemm(nil, 2, make([]uint8, 8), 4, []int32{0}, pb, &QOutput{U8: make([]uint8, 8), Ldc: 4}); err == nil {
		t.Error("requantize without scale accepted")
	}
}

// FuzzQGemm compares the selected SIMD level with the pure-Go twin on arbitrary bytes.
func FuzzQGemm(f *testing.F) {
	f.Add([]byte{1, 2, 3, 250, 128, 7, 9}, uint8(3), uint8(5), uint8(33))
	f.Fuzz(func(t *testing.T, data []byte, m8, k8, n8 uint8) {
		m, k, n := int(m8%20), int(k8%70), int(n8%70)
		if len(data) == 0 {
			data = []byte{0}
		}
		a, b := make([]uint8, m*k), make([]int8, k*n)
		for i := range a {
			a[i] = data[i%len(data)]
		}
		for i := range b {
			b[i] = int8(data[(i*7+3)%len(data)])
		}
		za, zb := []int32{int32(data[0])}, []int32{int32(int8(data[len(data)-1]))}
		pb, err := QPackB(k, n, b, max(n, 1), zb)
		if err != nil {
			t.Fatal(err)
		}
		want := qgemmRef(m, n, k, a, max(k, 1), za, b, max(n, 1), zb)
		got := make([]int32, m*n)
		if err := QGemm(nil, m, a, max(k, 1), za, pb, &QOutput{I32: got, Ldc: max(n, 1)}); err != nil {
			t.Fatal(err)
		}
		for i := range want {
			if got[i] != want[i] {
				t.Fatalf("C[%d] = %d, want %d (%s)", i, got[i], want[i], qlevel)
			}
		}
	})
}

// TestQRequantRow checks the requantizing epilogue of every integer SIMD level (the Go twin, AVX2, AVX-512)
// against QRequantize (float64 RoundToEven) on exact ties (scales 0.5 and 0.25 make x.5 values), random products,
// saturation and lengths around the 8- and 16-lane widths and the 32-element step, for uint8 and int8 ranges and
// several zero points.
func TestQRequantRow(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	var acc, corr []int32
	var sc []float32
	for v := int32(-700); v <= 700; v++ {
		for _, s := range []float32{0.5, 0.25} {
			c := int32(r.IntN(200) - 100)
			acc, corr, sc = append(acc, v-c), append(corr, c), append(sc, s)
		}
	}
	for range 5000 {
		acc, corr, sc = append(acc, int32(r.IntN(1<<22)-1<<21)), append(corr, int32(r.IntN(1<<16)-1<<15)), append(sc, float32(r.Float64()*1e-3))
	}
	for _, l := range qimpls() {
		name, fn := l.String(), qrequantFor(l)
		for _, rng := range [][2]int32{{0, 255}, {-128, 127}} {
			for _, zp := range []int32{0, 3, 128, -128, 255, -7} {
				for _, n := range []int{0, 1, 7, 8, 9, 15, 16, 17, 31, 32, 33, 40, 63, 64, 65, 72, len(acc)} {
					d := make([]uint8, n+1)
					d[n] = 0xa5 // guard
					fn(acc[:n], corr[:n], sc[:n], d[:n], float32(rng[0]-zp), float32(rng[1]-zp), zp)
					for j := range n {
						w := QRequantize(acc[j]+corr[j], sc[j], zp, rng[0], rng[1])
						if got := int32(d[j]); rng[0] < 0 {
							got = int32(int8(d[j]))
							if got != w {
								t.Fatalf("%s range %v zp %d: (%d+%d)·%g → %d, want %d", name, rng, zp, acc[j], corr[j], sc[j], got, w)
							}
						} else if got != w {
							t.Fatalf("%s range %v zp %d: (%d+%d)·%g → %d, want %d", name, rng, zp, acc[j], corr[j], sc[j], got, w)
						}
					}
					if d[n] != 0xa5 {
						t.Fatalf("%s wrote past %d bytes", name, n)
					}
				}
			}
		}
	}
}

// TestQDequantRow checks the float32 row epilogue of every integer SIMD level bit for bit against its
// definition, float32(float32(t + corr)·scale) + fbias, with and without the bias, on sums past 2²⁴ (where the
// conversion rounds) and lengths around the 8- and 16-lane widths, and that it writes nothing past the row.
func TestQDequantRow(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	const size = 77
	acc, corr, sc, fb := make([]int32, size), make([]int32, size), make([]float32, size), make([]float32, size)
	for i := range acc {
		acc[i], corr[i] = int32(r.IntN(1<<26)-1<<25), int32(r.IntN(1<<16)-1<<15)
		sc[i], fb[i] = float32(r.Float64()*1e-3), float32(r.NormFloat64())
	}
	for _, l := range qimpls() {
		name, fn := l.String(), qdequantFor(l)
		for _, bias := range []bool{false, true} {
			for _, n := range []int{0, 1, 7, 8, 9, 15, 16, 17, 24, 31, 32, 33, 40, size} {
				d := make([]float32, n+1)
				d[n] = 42 // guard
				var b []float32
				if bias {
					b = fb[:n]
				}
				fn(acc[:n], corr[:n], sc[:n], b, d[:n])
				for j := range n {
					want := float32(float32(acc[j]+corr[j]) * sc[j])
					if bias {
						want += fb[j]
					}
					if math.Float32bits(d[j]) != math.Float32bits(want) {
						t.Fatalf("%s bias=%v n=%d: element %d = %g, want %g", name, bias, n, j, d[j], want)
					}
				}
				if d[n] != 42 {
					t.Fatalf("%s bias=%v wrote past %d values", name, bias, n)
				}
			}
		}
	}
}

// TestQGemmTransposed checks that Trans stores the same values as the row-major output, transposed, for every
// output type, with a row count that is not a multiple of the tile and a stride wider than the rows.
func TestQGemmTransposed(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	m, n, k := 13, 45, 29
	a, _ := qrand(r, m*k)
	_, b := qrand(r, k*n)
	pb, _ := QPackB(k, n, b, n, []int32{0})
	scale := []float32{0.01}
	ld := m + 3
	outs := func(trans bool) []*QOutput {
		rows, l := m, n
		if trans {
			rows, l = n, ld
		}
		sz := (rows-1)*l + max(m, n)
		return []*QOutput{{I32: make([]int32, sz), Ldc: l, Trans: trans}, {U8: make([]uint8, sz), Ldc: l, Scale: scale, ZeroPoint: 7, Trans: trans},
			{I8: make([]int8, sz), Ldc: l, Scale: scale, ZeroPoint: -5, Trans: trans}, {F32: make([]float32, sz), Ldc: l, Scale: scale, Trans: trans}}
	}
	plain, tr := outs(false), outs(true)
	for o := range plain {
		if err := QGemm(nil, m, a, k, []int32{100}, pb, plain[o]); err != nil {
			t.Fatal(err)
		}
		if err := QGemm(nil, m, a, k, []int32{100}, pb, tr[o]); err != nil {
			t.Fatal(err)
		}
		for i := 0; i < m; i++ {
			for j := 0; j < n; j++ {
				p, q := i*n+j, j*ld+i
				ok := true
				switch {
				case plain[o].I32 != nil:
					ok = plain[o].I32[p] == tr[o].I32[q]
				case plain[o].U8 != nil:
					ok = plain[o].U8[p] == tr[o].U8[q]
				case plain[o].I8 != nil:
					ok = plain[o].I8[p] == tr[o].I8[q]
				default:
					ok = plain[o].F32[p] == tr[o].F32[q]
				}
				if !ok {
					t.Fatalf("output %d: (%d,%d) differs transposed", o, i, j)
				}
			}
		}
	}
	if err := QGemm(nil, m, a, k, []int32{100}, pb, &QOutput{I32: make([]int32, (n-1)*ld+m-1), Ldc: ld, Trans: true}); err == nil {
		t.Error("short transposed output accepted")
	}
}

// TestQGemmOutputs runs every SIMD level over every output kind (int32 with a bias, uint8, int8, float32), row-major
// and transposed, with an output stride wider than the rows, one or per-row A zero points and zero or per-column B
// zero points, on shapes with full and partial tiles (last panels of 8 and 24 columns among them), and compares each element with the definition. It covers
// the paths that skip the generic epilogue: int32 tiles stored by the micro-kernel itself and transposed byte
// tiles.
func TestQGemmOutputs(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	for _, l := range qimpls() {
		restore := setQImpl(l)
		for _, sz := range [][3]int{{8, 32, 4}, {16, 64, 36}, {13, 45, 29}, {24, 96, 256}, {9, 33, 1}, {9, 33, 0}, {16, 24, 12}, {8, 56, 20}, {8, 8, 4}} {
			m, n, k := sz[0], sz[1], sz[2]
			a, _ := qrand(r, m*k)
			_, b := qrand(r, k*n)
			bias, fbias, scale := make([]int32, n), make([]float32, n), make([]float32, n)
			for j := range n {
				bias[j] = int32(r.IntN(4000) - 2000)
				fbias[j] = float32(r.NormFloat64())
				scale[j] = float32(r.Float64()*2e-3 + 1e-5)
			}
			for _, perRow := range []bool{false, true} {
				for _, zbOn := range []bool{false, true} {
					za, zb := []int32{int32(r.IntN(256))}, []int32{0}
					if perRow {
						za = make([]int32, m)
						for i := range za {
							za[i] = int32(r.IntN(256))
						}
					}
					if zbOn {
						zb = make([]int32, n)
						for j := range zb {
							zb[j] = int32(r.IntN(256) - 128)
						}
					}
					pb, err := QPackB(k, n, b, n, zb)
					if err != nil {
						t.Fatal(err)
					}
					want := qgemmRef(m, n, k, a, k, za, b, n, zb)
					for _, trans := range []bool{false, true} {
						for _, kind := range []string{"i32", "u8", "i8", "f32"} {
							name := fmt.Sprintf("%s/%dx%dx%d/perRow=%v/zb=%v/trans=%v/%s", l, m, n, k, perRow, zbOn, trans, kind)
							t.Run(name, func(t *testing.T) {
								qcheckOutput(t, m, n, k, a, za, pb, want, bias, fbias, scale, trans, kind)
							})
						}
					}
				}
			}
		}
		restore()
	}
}

// qcheckOutput runs one QGemm into an output of the given kind with a stride 3 wider than needed and guard
// values everywhere the product must not write, then checks every element against want (the raw sums).
func qcheckOutput(t *testing.T, m, n, k int, a []uint8, za []int32, pb *QPackedB, want, bias []int32, fbias, scale []float32, trans bool, kind string) {
	rows, cols := m, n
	if trans {
		rows, cols = n, m
	}
	ldc := cols + 3
	size := rows * ldc
	at := func(i, j int) int {
		if trans {
			return j*ldc + i
		}
		return i*ldc + j
	}
	o := &QOutput{Ldc: ldc, Trans: trans, Bias: bias, Scale: scale}
	const guard = 0x5a
	switch kind {
	case "i32":
		o.I32 = make([]int32, size)
		o.Scale = nil
		for i := range o.I32 {
			o.I32[i] = guard
		}
	case "u8":
		o.U8, o.ZeroPoint = make([]uint8, size), 100
		for i := range o.U8 {
			o.U8[i] = guard
		}
	case "i8":
		o.I8, o.ZeroPoint = make([]int8, size), -9
		for i := range o.I8 {
			o.I8[i] = guard
		}
	case "f32":
		o.F32, o.FBias = make([]float32, size), fbias
		for i := range o.F32 {
			o.F32[i] = guard
		}
	}
	// Two workers: tiles of one output are written concurrently, as the runtime's pool does.
	if err := QGemm(GoRunner(2), m, a, k, za, pb, o); err != nil {
		t.Fatal(err)
	}
	written := make([]bool, size)
	for i := range m {
		for j := range n {
			p := at(i, j)
			written[p] = true
			s := want[i*n+j] + bias[j]
			var got, exp float64
			switch kind {
			case "i32":
				got, exp = float64(o.I32[p]), float64(s)
			case "u8":
				got, exp = float64(o.U8[p]), float64(QRequantize(s, scale[j], 100, 0, 255))
			case "i8":
				got, exp = float64(o.I8[p]), float64(QRequantize(s, scale[j], -9, -128, 127))
			case "f32":
				got, exp = float64(o.F32[p]), float64(float32(s)*scale[j]+fbias[j])
			}
			if got != exp {
				t.Fatalf("C[%d,%d] = %g, want %g", i, j, got, exp)
			}
		}
	}
	for p, w := range written {
		if w {
			continue
		}
		ok := true
		switch kind {
		case "i32":
			ok = o.I32[p] == guard
		case "u8":
			ok = o.U8[p] == guard
		case "i8":
			ok = o.I8[p] == guard
		case "f32":
			ok = o.F32[p] == guard
		}
		if !ok {
			t.Fatalf("wrote element %d outside the product", p)
		}
	}
}

// TestQMicroTwins compares each micro-kernel with the pure-Go twin on random bytes, starting values and a
// strided output with guards between the rows, including K = 0 and K not a multiple of 16.
func TestQMicroTwins(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	for _, l := range qimpls()[1:] {
		for _, kp := range []int{0, 4, 8, 36, 260} {
			a, _ := qrand(r, qgemmMR*kp+1)
			_, b := qrand(r, kp*qgemmNR+1)
			init := make([]int32, qgemmNR)
			for j := range init {
				init[j] = int32(r.Uint32())
			}
			ldc := qgemmNR + 5
			got, want := make([]int32, qgemmMR*ldc), make([]int32, qgemmMR*ldc)
			for i := range got {
				got[i], want[i] = -7, -7
			}
			qmicroFor(l)(kp, kp, a, b, got, ldc, init)
			qmicroGeneric(kp, kp, a, b, want, ldc, init)
			for i := range want {
				if got[i] != want[i] {
					t.Fatalf("%s kp=%d: c[%d] = %d, want %d", l, kp, i, got[i], want[i])
				}
			}
		}
	}
}

// TestQMicroF32Twins compares each dequantizing micro-kernel with the twin bit for bit, with and without a float
// bias, on random sums and multipliers that include −0, ±Inf and NaN lanes, into a strided output with guards.
func TestQMicroF32Twins(t *testing.T) {
	r := rand.New(rand.NewPCG(31, 32))
	for _, l := range qimpls() {
		micro := qmicroF32For(l)
		if micro == nil {
			continue
		}
		for _, kp := range []int{0, 4, 36, 260} {
			for _, withBias := range []bool{false, true} {
				a, _ := qrand(r, qgemmMR*kp+1)
				_, b := qrand(r, kp*qgemmNR+1)
				init, scale := make([]int32, qgemmNR), make([]float32, qgemmNR)
				var fbias []float32
				if withBias {
					fbias = make([]float32, qgemmNR)
				}
				for j := range init {
					init[j] = int32(r.IntN(1<<20) - 1<<19)
					scale[j] = float32(r.NormFloat64() * 1e-3)
					if fbias != nil {
						fbias[j] = float32(r.NormFloat64())
					}
				}
				scale[3], scale[7], scale[11] = float32(math.Copysign(0, -1)), float32(math.Inf(1)), float32(math.NaN())
				// Column 5 sums to 0 in every row: with a negative scale that is −0, kept without a bias.
				init[5], scale[5] = 0, -0.5
				for k := 0; k < kp; k++ {
					b[k/qgemmKU*qgemmNR*qgemmKU+5*qgemmKU+k%qgemmKU] = 0
				}
				ldc := qgemmNR + 3
				got, want := make([]float32, qgemmMR*ldc), make([]float32, qgemmMR*ldc)
				for i := range got {
					got[i], want[i] = -7, -7
				}
				micro(kp, kp, a, b, got, ldc, init, scale, fbias)
				qmicroF32Generic(kp, kp, a, b, want, ldc, init, scale, fbias)
				for i := range want {
					if math.Float32bits(got[i]) != math.Float32bits(want[i]) && !(got[i] != got[i] && want[i] != want[i]) {
						t.Fatalf("%s kp=%d bias=%v: c[%d] = %v, want %v", l, kp, withBias, i, got[i], want[i])
					}
				}
			}
		}
	}
}

// TestQMicroQ8Twins compares each requantizing micro-kernel with the twin bit for bit, for uint8 and int8 ranges
// and several zero points, on random sums and multipliers that include ties, saturation, ±Inf and NaN lanes.
func TestQMicroQ8Twins(t *testing.T) {
	r := rand.New(rand.NewPCG(33, 34))
	for _, l := range qimpls() {
		micro := qmicroQ8For(l)
		if micro == nil {
			continue
		}
		for _, kp := range []int{0, 4, 36, 260} {
			for _, rng := range [][3]int32{{0, 255, 0}, {0, 255, 131}, {-128, 127, 0}, {-128, 127, -5}} {
				lo, hi, zp := rng[0], rng[1], rng[2]
				a, _ := qrand(r, qgemmMR*kp+1)
				_, b := qrand(r, kp*qgemmNR+1)
				init, scale := make([]int32, qgemmNR), make([]float32, qgemmNR)
				for j := range init {
					init[j] = int32(r.IntN(1<<20) - 1<<19)
					scale[j] = float32(r.Float64() * 1e-3)
				}
				// Column 5 sums to 0.5 steps exactly (a tie), 6 saturates both ways, 7–9 take ±Inf and NaN.
				init[5], scale[5] = 1, 0.5
				init[6], scale[6] = 1<<20, 1
				scale[7], scale[8], scale[9] = float32(math.Inf(1)), float32(math.Inf(-1)), float32(math.NaN())
				for k := 0; k < kp; k++ {
					b[k/qgemmKU*qgemmNR*qgemmKU+5*qgemmKU+k%qgemmKU] = 0
				}
				ldc := qgemmNR + 3
				got, want := make([]uint8, qgemmMR*ldc), make([]uint8, qgemmMR*ldc)
				for i := range got {
					got[i], want[i] = 0xA5, 0xA5
				}
				flo, fhi := float32(lo-zp), float32(hi-zp)
				micro(kp, kp, a, b, got, ldc, init, scale, flo, fhi, zp)
				qmicroQ8Generic(kp, kp, a, b, want, ldc, init, scale, flo, fhi, zp)
				for i := range want {
					if got[i] != want[i] {
						t.Fatalf("%s kp=%d range %v: c[%d] = %d, want %d", l, kp, rng, i, got[i], want[i])
					}
				}
			}
		}
	}
}

// TestQMicroRowsTwins compares each level's kernel for a short last row block (1–7 rows, one row at a time) with
// the twin and with the full 8-row twin's rows, over group counts on both sides of the 4-group unroll, and checks
// that the rows past the block are left as they were.
func TestQMicroRowsTwins(t *testing.T) {
	r := rand.New(rand.NewPCG(23, 24))
	for _, l := range qimpls() {
		for rows := 1; rows < qgemmMR; rows++ {
			for _, kp := range []int{0, 4, 12, 16, 36, 260} {
				lda := kp + 4*(rows%2) // rows further apart than K, as in the row-window layout's reverse
				a, _ := qrand(r, qgemmMR*lda+kp+1)
				_, b := qrand(r, kp*qgemmNR+1)
				init := make([]int32, qgemmNR)
				for j := range init {
					init[j] = int32(r.Uint32())
				}
				ldc := qgemmNR + 5
				got, want, full := make([]int32, qgemmMR*ldc), make([]int32, qgemmMR*ldc), make([]int32, qgemmMR*ldc)
				for i := range got {
					got[i], want[i] = -7, -7
				}
				qmicroRowsFor(l)(rows, kp, lda, a, b, got, ldc, init)
				qmicroGenericRows(rows, kp, lda, a, b, want, ldc, init)
				qmicroGeneric(kp, lda, a, b, full, ldc, init)
				for i := range want {
					if got[i] != want[i] {
						t.Fatalf("%s rows=%d kp=%d: c[%d] = %d, want %d", l, rows, kp, i, got[i], want[i])
					}
					if i/ldc < rows && i%ldc < qgemmNR && got[i] != full[i] {
						t.Fatalf("%s rows=%d kp=%d: c[%d] = %d, the 8-row twin has %d", l, rows, kp, i, got[i], full[i])
					}
					if i/ldc >= rows && got[i] != -7 {
						t.Fatalf("%s rows=%d kp=%d: c[%d] written", l, rows, kp, i)
					}
				}
			}
		}
	}
}

// TestQMicroNarrowTwins compares the narrow micro-kernels (the first 8, 16 or 24 columns of a panel) with the
// twin, and checks that they leave the output's other columns as they were.
func TestQMicroNarrowTwins(t *testing.T) {
	r := rand.New(rand.NewPCG(21, 22))
	for _, l := range qimpls() {
		for _, cols := range []int{1, 8, 16, 17, 24} {
			micro, w := qmicroNarrowFor(l, cols)
			if micro == nil {
				continue
			}
			if w < cols {
				t.Fatalf("%s: kernel of width %d for %d columns", l, w, cols)
			}
			for _, kp := range []int{0, 4, 8, 36, 260} {
				a, _ := qrand(r, qgemmMR*kp+1)
				_, b := qrand(r, kp*qgemmNR+1)
				init := make([]int32, qgemmNR)
				for j := range init {
					init[j] = int32(r.Uint32())
				}
				ldc := qgemmNR + 5
				got, want := make([]int32, qgemmMR*ldc), make([]int32, qgemmMR*ldc)
				for i := range got {
					got[i], want[i] = -7, -7
				}
				micro(kp, kp, a, b, got, ldc, init)
				qmicroGenericN(w, kp, kp, a, b, want, ldc, init)
				for i := range want {
					if got[i] != want[i] {
						t.Fatalf("%s w=%d kp=%d: c[%d] = %d, want %d", l, w, kp, i, got[i], want[i])
					}
					if i%ldc >= w && got[i] != -7 {
						t.Fatalf("%s w=%d kp=%d: c[%d] written", l, w, kp, i)
					}
				}
				full := make([]int32, qgemmMR*ldc)
				qmicroGeneric(kp, kp, a, b, full, ldc, init)
				for i := range full {
					if i%ldc < w && full[i] != got[i] {
						t.Fatalf("%s w=%d kp=%d: c[%d] = %d, the full twin has %d", l, w, kp, i, got[i], full[i])
					}
				}
			}
		}
	}
}

// TestQRequantTileTwins compares each transposing tile epilogue with the twin and with QRequantize on ties,
// random sums and saturation, for both byte ranges, with columns ldd bytes apart and guards between them.
func TestQRequantTileTwins(t *testing.T) {
	r := rand.New(rand.NewPCG(13, 14))
	tile, corr, scale := make([]int32, qgemmMR*qgemmNR), make([]int32, qgemmNR), make([]float32, qgemmNR)
	for _, rng := range [][2]int32{{0, 255}, {-128, 127}} {
		for _, zp := range []int32{0, 128, -5} {
			for rep := range 20 {
				for j := range corr {
					corr[j] = int32(r.IntN(2000) - 1000)
					scale[j] = []float32{0.5, 0.25, float32(r.Float64() * 1e-2)}[rep%3]
				}
				for i := range tile {
					tile[i] = int32(r.IntN(1<<14) - 1<<13)
					if rep%3 < 2 {
						tile[i] = int32(r.IntN(1200) - 600)
					}
				}
				for _, ldd := range []int{qgemmMR, qgemmMR + 3} {
					for _, l := range qimpls() {
						for _, cols := range []int{qgemmNR, qgemmNR / 2, 5, 8, 24} {
							d := make([]uint8, qgemmNR*ldd)
							for i := range d {
								d[i] = 0xa5
							}
							qrequantTileFor(l)(tile, corr, scale, d, ldd, float32(rng[0]-zp), float32(rng[1]-zp), zp, cols)
							for p, v := range d {
								i, j := p%ldd, p/ldd
								if i >= qgemmMR || j >= cols {
									if v != 0xa5 {
										t.Fatalf("%s: wrote the gap at byte %d", l, p)
									}
									continue
								}
								w := QRequantize(tile[i*qgemmNR+j]+corr[j], scale[j], zp, rng[0], rng[1])
								got := int32(v)
								if rng[0] < 0 {
									got = int32(int8(v))
								}
								if got != w {
									t.Fatalf("%s range %v zp %d cols %d: (%d,%d) → %d, want %d", l, rng, zp, cols, i, j, got, w)
								}
							}
						}
					}
				}
			}
		}
	}
}

// TestQTileTrans32Twins compares each transposing int32/float32 tile epilogue with the twin, bit for bit, in all
// three modes, with columns ldd values apart and guards between them.
func TestQTileTrans32Twins(t *testing.T) {
	r := rand.New(rand.NewPCG(15, 16))
	tile, corr := make([]int32, qgemmMR*qgemmNR), make([]int32, qgemmNR)
	scale, fbias := make([]float32, qgemmNR), make([]float32, qgemmNR)
	for rep := range 10 {
		for i := range tile {
			tile[i] = int32(r.Uint32()) >> (rep % 3 * 8)
		}
		for j := range corr {
			corr[j] = int32(r.IntN(1<<20) - 1<<19)
			scale[j] = float32(r.NormFloat64() * 1e-3)
			fbias[j] = float32(r.NormFloat64())
		}
		for _, mode := range []qtileMode{qtileInt, qtileFloat, qtileFloatBias} {
			for _, ldd := range []int{qgemmMR, qgemmMR + 5} {
				want := make([]int32, qgemmNR*ldd)
				for i := range want {
					want[i] = -99
				}
				qtileTrans32Generic(tile, corr, scale, fbias, want, ldd, mode)
				for _, l := range qimpls()[1:] {
					got := make([]int32, qgemmNR*ldd)
					for i := range got {
						got[i] = -99
					}
					qtileTrans32For(l)(tile, corr, scale, fbias, got, ldd, mode)
					for i := range want {
						if got[i] != want[i] {
							t.Fatalf("%s mode %d ldd %d: d[%d] = %#x, want %#x", l, mode, ldd, i, got[i], want[i])
						}
					}
				}
			}
		}
	}
}
