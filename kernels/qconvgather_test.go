package kernels

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// TestQConvGatherPackTwins compares the gathering packer at each level with the twin over strides 1–4, taps
// around the 4-tap groups and both flips.
func TestQConvGatherPackTwins(t *testing.T) {
	r := rand.New(rand.NewPCG(51, 52))
	for _, l := range qimpls() {
		for _, sw := range []int{1, 2, 3, 4} {
			for _, groups := range []int{1, 2, 7, 37} {
				for _, flip := range []uint8{0, 0x80} {
					x, _ := qrand(r, 4096)
					offs := make([]int, 4*groups)
					for i := range offs {
						offs[i] = r.IntN(4096 - 32*sw - 128)
					}
					var idx [64]uint8
					for j := range qpwCols {
						idx[j] = uint8(j * sw)
					}
					base := r.IntN(16)
					got, want := make([]uint8, groups*128+8), make([]uint8, groups*128+8)
					qcgPackFor(l)(got, x, base, offs, groups, sw, &idx, flip)
					qcgPackGeneric(want, x, base, offs, groups, sw, &idx, flip)
					for i := range want {
						if got[i] != want[i] {
							t.Fatalf("%s sw=%d groups=%d flip=%#x: byte %d = %d, want %d", l, sw, groups, flip, i, got[i], want[i])
						}
					}
				}
			}
		}
	}
}

// TestQConvGather checks QConvGather at every level against the definition, requantized with ONNX Runtime's
// formula (QRequantize) or dequantized as QGemm does: 1–3 channels, 3×3 and 7×7 kernels, strides 1, 2 and 4,
// dilation, output widths around the 32-pixel panels, int8 and uint8 input and output, and a float32 output;
// the output's other bytes are left alone.
func TestQConvGather(t *testing.T) {
	r := rand.New(rand.NewPCG(53, 54))
	type geo struct{ c, kh, kw, sh, sw, dh, dw, oh, ow, m int }
	for _, l := range qimpls() {
		restore := setQImpl(l)
		for i, g := range []geo{
			{3, 3, 3, 2, 2, 1, 1, 3, 40, 16}, {3, 7, 7, 2, 2, 1, 1, 2, 33, 12}, {1, 3, 3, 1, 1, 1, 1, 4, 32, 5},
			{2, 5, 3, 1, 4, 2, 1, 3, 17, 9}, {3, 3, 3, 2, 3, 1, 2, 2, 65, 8}, {1, 1, 1, 1, 1, 1, 1, 1, 1, 1},
		} {
			name := fmt.Sprintf("%s/%d", l, i)
			G := QConvGeom{C: g.c, KH: g.kh, KW: g.kw, SH: g.sh, SW: g.sw, DH: g.dh, DW: g.dw, OH: g.oh, OW: g.ow}
			G.HP, G.WP = (g.oh-1)*g.sh+(g.kh-1)*g.dh+1+i%2, (g.ow-1)*g.sw+(g.kw-1)*g.dw+1+i%3
			x, _ := qrand(r, g.c*G.HP*G.WP+QConvGatherSlack)
			K := g.c * g.kh * g.kw
			_, w := qrand(r, g.m*K)
			pw, err := QPackPointwise(g.m, K, w)
			if err != nil {
				t.Fatal(err)
			}
			signedIn, mode := i%2 == 0, i%3 // mode 0 uint8, 1 int8, 2 float32 output
			flip, za := uint8(0), int32(r.IntN(256))
			if signedIn {
				flip = 0x80
			}
			P := g.oh * g.ow
			out := QOutput{Ldc: P + 3, Scale: []float32{1.0 / float32(int(64)<<r.IntN(4))}, ZeroPoint: int32(r.IntN(60))}
			out.Bias = make([]int32, g.m)
			for j := range out.Bias {
				out.Bias[j] = int32(r.IntN(8000) - 4000)
			}
			n := (g.m-1)*out.Ldc + P + 4
			lo, hi := int32(0), int32(255)
			switch mode {
			case 0:
				out.U8 = make([]uint8, n)
			case 1:
				lo, hi = -128, 127
				out.ZeroPoint -= 30
				out.I8 = make([]int8, n)
			default:
				out.ZeroPoint = 0
				out.F32 = make([]float32, n)
			}
			if err := QConvGather(GoRunner(2), pw, x, G, flip, za, &out); err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			for m := range g.m {
				for oh := range g.oh {
					for ow := range g.ow {
						s := out.Bias[m]
						for c := range g.c {
							for a := range g.kh {
								for b := range g.kw {
									v := x[c*G.HP*G.WP+(oh*g.sh+a*g.dh)*G.WP+ow*g.sw+b*g.dw] ^ flip
									s += int32(w[m*K+(c*g.kh+a)*g.kw+b]) * (int32(v) - za)
								}
							}
						}
						at := m*out.Ldc + oh*g.ow + ow
						switch mode {
						case 2:
							if want := float32(s) * out.Scale[0]; out.F32[at] != want {
								t.Fatalf("%s: y[%d][%d][%d] = %g, want %g", name, m, oh, ow, out.F32[at], want)
							}
						default:
							got := int32(0)
							if mode == 0 {
								got = int32(out.U8[at])
							} else {
								got = int32(out.I8[at])
							}
							if want := QRequantize(s, out.Scale[0], out.ZeroPoint, lo, hi); got != want {
								t.Fatalf("%s: y[%d][%d][%d] = %d, want %d", name, m, oh, ow, got, want)
							}
						}
					}
				}
				for j := P; j < out.Ldc && m*out.Ldc+j < n; j++ {
					if out.U8 != nil && out.U8[m*out.Ldc+j] != 0 || out.I8 != nil && out.I8[m*out.Ldc+j] != 0 || out.F32 != nil && out.F32[m*out.Ldc+j] != 0 {
						t.Fatalf("%s: channel %d written past its pixels", name, m)
					}
				}
			}
		}
		restore()
	}
}

// TestQConvGatherErrors checks that geometries the kernel cannot read safely are refused.
func TestQConvGatherErrors(t *testing.T) {
	pw, _ := QPackPointwise(2, 27, make([]int8, 54))
	ok := QConvGeom{C: 3, HP: 5, WP: 9, KH: 3, KW: 3, SH: 2, SW: 2, DH: 1, DW: 1, OH: 2, OW: 4}
	x := make([]uint8, 3*5*9+QConvGatherSlack)
	out := func() *QOutput { return &QOutput{U8: make([]uint8, 16), Ldc: 8, Scale: []float32{1}} }
	if err := QConvGather(nil, pw, x, ok, 0, 0, out()); err != nil {
		t.Fatalf("valid: %v", err)
	}
	for name, mut := range map[string]func(g *QConvGeom) []uint8{
		"stride 5":     func(g *QConvGeom) []uint8 { g.SW = 5; return x },
		"no slack":     func(g *QConvGeom) []uint8 { return x[:3*5*9] },
		"short rows":   func(g *QConvGeom) []uint8 { g.WP = 8; return x },
		"short planes": func(g *QConvGeom) []uint8 { g.HP = 4; return x },
		"wrong taps":   func(g *QConvGeom) []uint8 { g.KW = 2; return x },
		"zero stride":  func(g *QConvGeom) []uint8 { g.SH = 0; return x },
	} {
		g := ok
		xx := mut(&g)
		if err := QConvGather(nil, pw, xx, g, 0, 0, out()); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}
