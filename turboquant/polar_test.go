package turboquant

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// polarIndices reads back every stored angle index of one code, per level.
func polarIndices(p *Polar, code []byte) [][]int {
	out := make([][]int, p.levels)
	br := bitReader{buf: code[4+2*p.blocks:]}
	bs := 1 << p.levels
	for blk := 0; blk < p.blocks; blk++ {
		for l := range out {
			for j := 0; j < bs>>(l+1); j++ {
				out[l] = append(out[l], br.get(p.bits[l]))
			}
		}
	}
	return out
}

// TestPolarAngleLaws checks the construction against the paper's Lemma 2: after the rotation, level-1 angles are
// uniform on [0, 2π) and level-ℓ angles follow sin^(2^(ℓ−1)−1)(2ψ). The stored indices of many random unit vectors
// must fall in each codebook cell with the cell's probability under that law (χ² test at the 0.1 % level).
func TestPolarAngleLaws(t *testing.T) {
	const d = 128
	n := 1500
	if testing.Short() {
		n = 500
	}
	// χ² critical values at p = 0.001 for 15, 3 degrees of freedom.
	crit := map[int]float64{15: 37.70, 3: 16.27}
	for _, kind := range []RotationKind{Dense, Hadamard} {
		counts := make([][]float64, 4)
		for l := range counts {
			counts[l] = make([]float64, 1<<[]int{4, 2, 2, 2}[l])
		}
		rng := rand.New(rand.NewPCG(2, 3))
		x := make([]float32, d)
		for i := 0; i < n; i++ {
			// A fresh rotation per vector so that angles of different vectors are independent draws.
			p, err := NewPolar(d, []int{4, 2, 2, 2}, kind, uint64(i))
			if err != nil {
				t.Fatal(err)
			}
			kvLike(rng, x) // structured input: the rotation alone must produce the laws
			code := make([]byte, p.Bytes())
			if err := p.Encode(code, x); err != nil {
				t.Fatal(err)
			}
			for l, idx := range polarIndices(p, code) {
				for _, k := range idx {
					counts[l][k]++
				}
			}
		}
		for l, c := range counts {
			cb := polarLevelCodebook(l+1, []int{4, 2, 2, 2}[l])
			dn := polarLevelDensity(l + 1)
			var total, z float64
			mass := make([]float64, len(c))
			for k := range c {
				total += c[k]
				a, b := dn.lo, dn.hi
				if k > 0 {
					a = cb.Boundaries[k-1]
				}
				if k < len(cb.Boundaries) {
					b = cb.Boundaries[k]
				}
				mass[k], _, _ = dn.moments(a, b)
				z += mass[k]
			}
			var chi2 float64
			for k := range c {
				e := total * mass[k] / z
				chi2 += (c[k] - e) * (c[k] - e) / e
			}
			t.Logf("%v level %d: χ² = %.1f over %d cells (%d angles)", kind, l+1, chi2, len(c), int(total))
			if chi2 > crit[len(c)-1] {
				t.Errorf("%v level %d: angle indices do not follow the level's law: χ² = %.1f > %.1f", kind, l+1, chi2, crit[len(c)-1])
			}
		}
	}
}

// TestPolarDMSE: measured E‖x − x̃‖²/‖x‖² matches the exact recursion TheoryDMSE within 2 % and lies below its
// first-order form Σ_ℓ E δ_ℓ² (2(1 − cos δ) ≤ δ²), on uniform and on outlier-heavy data, for both rotations.
func TestPolarDMSE(t *testing.T) {
	n := 20000
	if testing.Short() {
		n = 4000
	}
	for _, tc := range []struct {
		d    int
		bits []int
		kind RotationKind
	}{
		{128, []int{4, 2, 2, 2}, Dense},
		{128, []int{4, 2, 2, 2}, Hadamard},
		{128, []int{2, 1, 1, 1}, Hadamard},
		{64, []int{5, 3, 3, 3}, Hadamard},
		{1536, []int{4, 2, 2, 2}, Hadamard},
		{128, []int{3, 3, 3}, Hadamard},
	} {
		p, err := NewPolar(tc.d, tc.bits, tc.kind, 1)
		if err != nil {
			t.Fatal(err)
		}
		th := p.TheoryDMSE()
		var first float64
		for _, cb := range p.cbs {
			first += cb.MSE
		}
		for _, data := range []string{"sphere", "kvlike"} {
			t.Run(fmt.Sprintf("d=%d/%v/%v/%s", tc.d, tc.bits, tc.kind, data), func(t *testing.T) {
				rng := rand.New(rand.NewPCG(4, 5))
				m := n
				if tc.d > 128 {
					m = n / 8
				}
				x, y := make([]float32, tc.d), make([]float32, tc.d)
				code := make([]byte, p.Bytes())
				var sum float64
				for i := 0; i < m; i++ {
					if data == "sphere" {
						randUnit(rng, x)
					} else {
						kvLike(rng, x)
						normalize(x)
					}
					if err := p.Encode(code, x); err != nil {
						t.Fatal(err)
					}
					if err := p.Decode(y, code); err != nil {
						t.Fatal(err)
					}
					for j := range x {
						e := float64(x[j] - y[j])
						sum += e * e
					}
				}
				got := sum / float64(m)
				t.Logf("D_mse %.5f, theory %.5f, first-order %.5f, %.3f bits/coord (%d bytes)", got, th, first, p.Rate(), p.Bytes())
				if math.Abs(got-th)/th > 0.02 {
					t.Errorf("D_mse %.5f vs theory %.5f", got, th)
				}
				if th > first {
					t.Errorf("exact theory %.5f above first-order bound %.5f", th, first)
				}
			})
		}
	}
}

// TestPolarBytes: the paper's setting at d = 128 stores 8 blocks × 46 angle bits, 8 float16 radii and one norm.
func TestPolarBytes(t *testing.T) {
	p, err := NewPolar(128, []int{4, 2, 2, 2}, Hadamard, 1)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := p.Bytes(), 4+2*8+8*46/8; got != want {
		t.Errorf("bytes %d, want %d", got, want)
	}
	if got := p.Rate(); math.Abs(got-4.125) > 1e-12 {
		t.Errorf("rate %v, want 4.125 (3.875 in the paper, which keeps no separate norm)", got)
	}
	// Bit packing round-trips arbitrary field widths.
	rng := rand.New(rand.NewPCG(1, 1))
	buf := make([]byte, 200)
	var vals, widths []int
	w := bitWriter{buf: buf}
	for w.pos < 8*len(buf)-8 {
		b := 1 + rng.IntN(8)
		if w.pos+b > 8*len(buf) {
			break
		}
		v := rng.IntN(1 << b)
		w.put(v, b)
		vals, widths = append(vals, v), append(widths, b)
	}
	r := bitReader{buf: buf}
	for i, v := range vals {
		if got := r.get(widths[i]); got != v {
			t.Fatalf("field %d (%d bits): %d, want %d", i, widths[i], got, v)
		}
	}
}

func TestPolarBadInput(t *testing.T) {
	for _, tc := range []struct {
		d    int
		bits []int
	}{{100, []int{4, 2, 2, 2}}, {128, nil}, {128, []int{0, 2}}, {128, []int{9}}, {1, []int{1}}} {
		if _, err := NewPolar(tc.d, tc.bits, Hadamard, 1); !errors.Is(err, ErrInvalid) {
			t.Errorf("d=%d bits=%v: err = %v, want ErrInvalid", tc.d, tc.bits, err)
		}
	}
	p, _ := NewPolar(64, []int{4, 2, 2, 2}, Hadamard, 1)
	code := make([]byte, p.Bytes())
	nan := make([]float32, 64)
	nan[3] = float32(math.NaN())
	for name, x := range map[string][]float32{"short": make([]float32, 63), "nan": nan} {
		if err := p.Encode(code, x); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: err = %v", name, err)
		}
	}
	if err := p.Encode(code[:3], make([]float32, 64)); !errors.Is(err, ErrInvalid) {
		t.Errorf("short code: %v", err)
	}
	// Zero vector: decodes to exactly zero.
	if err := p.Encode(code, make([]float32, 64)); err != nil {
		t.Fatal(err)
	}
	out := make([]float32, 64)
	out[0] = 1
	if err := p.Decode(out, code); err != nil {
		t.Fatal(err)
	}
	for i, v := range out {
		if v != 0 {
			t.Fatalf("zero vector decoded to %v at %d", v, i)
		}
	}
	code[3] = 0x7f
	code[2] = 0xc0 // norm = NaN
	if err := p.Decode(out, code); !errors.Is(err, ErrInvalid) {
		t.Errorf("NaN norm: %v", err)
	}
}
