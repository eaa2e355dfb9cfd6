package prune

import (
	"encoding/json"
	"math"
	"os"
	"slices"
	"strconv"
	"testing"

	"github.com/hone-ml/hone/ir"
	"github.com/hone-ml/hone/npy"
)

// maskCase is one case of testdata/masks.json, written by scripts/fixtures/prune_masks.py from PyTorch.
type maskCase struct {
	Kind    string   `json:"kind"`
	Name    string   `json:"name"`
	Amounts []string `json:"amounts"`
	N       any      `json:"n"`
	M       int      `json:"m"`
	Dim     int      `json:"dim"`
	Weights []string `json:"weights"`
	Masks   []string `json:"masks"`
}

func loadMaskFixtures(t *testing.T) ([]maskCase, map[string]*ir.Tensor) {
	t.Helper()
	raw, err := os.ReadFile("testdata/masks.json")
	if err != nil {
		t.Fatal(err)
	}
	var idx struct{ Cases []maskCase }
	if err := json.Unmarshal(raw, &idx); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open("testdata/masks.npz")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	st, _ := f.Stat()
	arrays, _, err := npy.DecodeNPZ(f, st.Size())
	if err != nil {
		t.Fatal(err)
	}
	return idx.Cases, arrays
}

// applyMask zeroes pruned weights in place, as the next round of pruning sees them.
func applyMask(w []float32, keep []bool) {
	for i, k := range keep {
		if !k {
			w[i] = 0
		}
	}
}

func TestMasksMatchPyTorch(t *testing.T) {
	cases, arrays := loadMaskFixtures(t)
	if len(cases) < 20 {
		t.Fatalf("only %d fixture cases", len(cases))
	}
	for _, c := range cases {
		t.Run(c.Name, func(t *testing.T) {
			ws := make([][]float32, len(c.Weights))
			shapes := make([][]int, len(c.Weights))
			for i, k := range c.Weights {
				a := arrays[k]
				if a == nil || a.DType != ir.Float32 {
					t.Fatalf("fixture %s missing", k)
				}
				ws[i] = slices.Clone(a.F32())
				shapes[i] = a.Shape
			}
			var got [][]bool
			round := func(masks [][]bool, err error) {
				t.Helper()
				if err != nil {
					t.Fatal(err)
				}
				for i := range ws {
					applyMask(ws[i], masks[i])
				}
				got = masks
			}
			for _, s := range c.Amounts {
				a, err := ParseAmount(s)
				if err != nil {
					t.Fatal(err)
				}
				switch c.Kind {
				case "l1":
					m, err := L1Unstructured(ws[0], a)
					round([][]bool{m}, err)
				case "global":
					round(GlobalUnstructured(ws, a))
				case "ln":
					p, err := strconv.ParseFloat(c.N.(string), 64)
					if err != nil {
						t.Fatal(err)
					}
					m, err := LnStructured(ws[0], shapes[0], c.Dim, p, a)
					round([][]bool{m}, err)
				}
			}
			if c.Kind == "nm" {
				m, err := NMSparse(ws[0], shapes[0], c.Dim, int(c.N.(float64)), c.M)
				round([][]bool{m}, err)
			}
			for i, k := range c.Masks {
				want := arrays[k].U8()
				diff := 0
				for j, g := range got[i] {
					if g != (want[j] == 1) {
						diff++
					}
				}
				if diff != 0 || len(got[i]) != len(want) {
					t.Errorf("mask %d: %d of %d entries differ from PyTorch", i, diff, len(want))
				}
			}
		})
	}
}

func TestAmount(t *testing.T) {
	for _, tc := range []struct {
		in      string
		n, want int
		bad     bool
	}{
		{"0.3", 10, 3, false},
		{"0.25", 10, 2, false}, // 2.5 rounds to even
		{"0.35", 10, 4, false}, // 3.5 rounds to even
		{"1", 10, 1, false},    // a count, as PyTorch reads an int
		{"1.0", 10, 10, false}, // a fraction
		{"0", 10, 0, false},
		{"11", 10, 0, true},
		{"1.5", 10, 0, true},
		{"-0.1", 10, 0, true},
		{"-3", 10, 0, true},
		{"abc", 10, 0, true},
		{"NaN", 10, 0, true},
	} {
		t.Run(tc.in, func(t *testing.T) {
			a, err := ParseAmount(tc.in)
			if err == nil {
				var k int
				k, err = a.Of(tc.n)
				if err == nil && k != tc.want {
					t.Errorf("Of(%d) = %d, want %d", tc.n, k, tc.want)
				}
			}
			if (err != nil) != tc.bad {
				t.Errorf("err = %v, want error %v", err, tc.bad)
			}
		})
	}
}

func TestNormOrders(t *testing.T) {
	// Channel 0 has the larger L1 norm, channel 1 the larger L2 and max norms.
	w := []float32{1, 1, 1, 1, 0, 0, 0.5, 2.1}
	shape := []int{2, 4}
	for _, tc := range []struct {
		p    float64
		keep int
	}{{1, 0}, {2, 1}, {math.Inf(1), 1}} {
		m, err := LnStructured(w, shape, 0, tc.p, Count(1))
		if err != nil {
			t.Fatal(err)
		}
		if !m[tc.keep*4] || m[(1-tc.keep)*4] {
			t.Errorf("p=%v kept %v, want channel %d", tc.p, m, tc.keep)
		}
	}
	if _, err := LnStructured(w, shape, 0, -1, Count(1)); err == nil {
		t.Error("negative norm order accepted")
	}
	if _, err := LnStructured(w, shape, 2, 2, Count(1)); err == nil {
		t.Error("dim out of range accepted")
	}
}
