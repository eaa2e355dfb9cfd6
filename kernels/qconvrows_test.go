package kernels

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// TestQConvRows packs random images with QPackRows and convolves them with QConvRows at every level, against the
// definition (padding holding the zero point, so it adds nothing), requantized with ONNX Runtime's formula
// (QRequantize): 4–96 channels, 3×3, 5×3 and 1×3 kernels, vertical strides 1 and 2, dilation, asymmetric padding,
// output widths around the 32-pixel panels, int8 and uint8 input and output, per-channel multipliers and biases.
// The output's bytes past each channel's pixels are left alone.
func TestQConvRows(t *testing.T) {
	r := rand.New(rand.NewPCG(81, 82))
	type geo struct{ c, h, w, m, kh, kw, sh, dh, dw, pt, pl, pb, pr int }
	for _, l := range qimpls() {
		restore := setQImpl(l)
		for i, g := range []geo{
			{8, 6, 40, 12, 3, 3, 1, 1, 1, 1, 1, 1, 1}, {96, 5, 64, 24, 3, 3, 1, 1, 1, 1, 1, 1, 1}, {4, 9, 33, 9, 5, 3, 2, 1, 1, 2, 1, 2, 1},
			{12, 7, 31, 16, 3, 3, 1, 2, 2, 2, 2, 2, 2}, {16, 4, 70, 5, 1, 3, 1, 1, 1, 0, 0, 0, 2}, {4, 3, 1, 8, 3, 3, 1, 1, 1, 1, 1, 1, 1},
		} {
			name := fmt.Sprintf("%s/%d", l, i)
			OH := (g.h+g.pt+g.pb-((g.kh-1)*g.dh+1))/g.sh + 1
			OW := g.w + g.pl + g.pr - ((g.kw-1)*g.dw + 1) + 1
			hp, wp := g.h+g.pt+g.pb, g.w+g.pl+g.pr
			x, _ := qrand(r, g.c*g.h*g.w)
			K := g.kh * g.kw * g.c
			_, w := qrand(r, g.m*K) // [M, KH, KW, C]
			pw, err := QPackPointwise(g.m, K, w)
			if err != nil {
				t.Fatal(err)
			}
			flip, za := uint8(0), int32(r.IntN(256))
			if i%2 == 1 {
				flip = 0x80
			}
			packed := make([]uint8, QPackedRowsSize(g.c, hp, wp))
			if err := QPackRows(GoRunner(2), packed, x, g.c, g.h, g.w, g.pt, g.pl, hp, wp, flip, uint8(za)); err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			P := OH * OW
			out := QOutput{Ldc: P + 3, ZeroPoint: int32(r.IntN(50)), Scale: make([]float32, g.m), Bias: make([]int32, g.m)}
			for j := range out.Scale {
				out.Scale[j] = 1.0 / float32(int(256)<<r.IntN(4))
				out.Bias[j] = int32(r.IntN(20000) - 10000)
			}
			n := (g.m-1)*out.Ldc + P + 3
			lo, hi := int32(0), int32(255)
			if i%3 == 0 {
				lo, hi = -128, 127
				out.ZeroPoint -= 25
				out.I8 = make([]int8, n)
			} else {
				out.U8 = make([]uint8, n)
			}
			G := QConvGeom{C: g.c, HP: hp, WP: wp, KH: g.kh, KW: g.kw, SH: g.sh, SW: 1, DH: g.dh, DW: g.dw, OH: OH, OW: OW}
			if err := QConvRows(GoRunner(2), pw, packed, G, za, &out); err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			got := out.U8
			if out.I8 != nil {
				got = qBytes(out.I8)
			}
			for m := range g.m {
				for oh := range OH {
					for ow := range OW {
						s := out.Bias[m]
						for a := range g.kh {
							for b := range g.kw {
								ih, iw := oh*g.sh+a*g.dh-g.pt, ow+b*g.dw-g.pl
								if ih < 0 || ih >= g.h || iw < 0 || iw >= g.w {
									continue // padding: the zero point, which adds nothing
								}
								for c := range g.c {
									v := int32(x[(c*g.h+ih)*g.w+iw] ^ flip)
									s += int32(w[m*K+(a*g.kw+b)*g.c+c]) * (v - za)
								}
							}
						}
						want := QRequantize(s, out.Scale[m], out.ZeroPoint, lo, hi)
						v := int32(got[m*out.Ldc+oh*OW+ow])
						if out.I8 != nil {
							v = int32(int8(got[m*out.Ldc+oh*OW+ow]))
						}
						if v != want {
							t.Fatalf("%s: y[%d][%d][%d] = %d, want %d", name, m, oh, ow, v, want)
						}
					}
				}
				for j := P; j < out.Ldc && m*out.Ldc+j < n; j++ {
					if got[m*out.Ldc+j] != 0 {
						t.Fatalf("%s: channel %d written past its pixels", name, m)
					}
				}
			}
		}
		restore()
	}
}

// TestQConvRowsErrors checks that layouts the kernel cannot read safely are refused.
func TestQConvRowsErrors(t *testing.T) {
	pw, _ := QPackPointwise(2, 36, make([]int8, 72))
	G := QConvGeom{C: 4, HP: 6, WP: 10, KH: 3, KW: 3, SH: 1, SW: 1, DH: 1, DW: 1, OH: 4, OW: 8}
	rows := make([]uint8, QPackedRowsSize(4, 6, 10))
	out := func() *QOutput { return &QOutput{U8: make([]uint8, 64), Ldc: 32, Scale: []float32{1}} }
	if err := QConvRows(nil, pw, rows, G, 0, out()); err != nil {
		t.Fatalf("valid: %v", err)
	}
	for name, c := range map[string]struct {
		g    QConvGeom
		rows []uint8
		out  *QOutput
	}{
		"stride 2":       {func() QConvGeom { g := G; g.SW = 2; return g }(), rows, out()},
		"6 channels":     {func() QConvGeom { g := G; g.C = 6; return g }(), rows, out()},
		"short rows":     {func() QConvGeom { g := G; g.WP = 9; return g }(), rows, out()},
		"no slack":       {G, rows[:6*4*10], out()},
		"float32 output": {G, rows, &QOutput{F32: make([]float32, 64), Ldc: 32, Scale: []float32{1}}},
	} {
		if err := QConvRows(nil, pw, c.rows, c.g, 0, c.out); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	if err := QPackRows(nil, rows, make([]uint8, 6*4*8), 6, 4, 8, 1, 1, 6, 10, 0, 0); err == nil {
		t.Error("QPackRows accepted 6 channels")
	}
}
