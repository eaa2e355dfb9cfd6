package kernels

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"unsafe"
)

// TestQDepthwiseArgsLayout pins the argument block's offsets, which the assembly reads by number.
func TestQDepthwiseArgsLayout(t *testing.T) {
	var a qdwArgs
	for name, c := range map[string][2]uintptr{
		"x": {unsafe.Offsetof(a.x), 0}, "ldx": {unsafe.Offsetof(a.ldx), 8}, "rowStep": {unsafe.Offsetof(a.rowStep), 16},
		"rows": {unsafe.Offsetof(a.rows), 24}, "kh": {unsafe.Offsetof(a.kh), 32}, "gk": {unsafe.Offsetof(a.gk), 40},
		"w": {unsafe.Offsetof(a.w), 176}, "step": {unsafe.Offsetof(a.step), 56}, "n": {unsafe.Offsetof(a.n), 64},
		"d": {unsafe.Offsetof(a.d), 72}, "ldd": {unsafe.Offsetof(a.ldd), 80}, "corr": {unsafe.Offsetof(a.corr), 88},
		"scale": {unsafe.Offsetof(a.scale), 92}, "flo": {unsafe.Offsetof(a.flo), 96}, "fhi": {unsafe.Offsetof(a.fhi), 100},
		"zp": {unsafe.Offsetof(a.zp), 104}, "flip": {unsafe.Offsetof(a.flip), 108}, "idx": {unsafe.Offsetof(a.idx), 112},
		"np": {unsafe.Offsetof(a.np), 48}, "w16": {unsafe.Offsetof(a.w16), 432},
	} {
		if c[0] != c[1] {
			t.Errorf("qdwArgs.%s at offset %d, the assembly reads %d", name, c[0], c[1])
		}
	}
}

// TestQDepthwise runs QDepthwise with the assembly and with the twin against the definition, requantized with
// ONNX Runtime's formula (QRequantize): kernel sizes 1–8 wide (one and two groups of 4 taps), strides 1–4,
// output widths around the 16-pixel vectors, int8 and uint8 input and output, tie-heavy and saturating
// multipliers; bytes past each output row are left alone.
func TestQDepthwise(t *testing.T) {
	r := rand.New(rand.NewPCG(41, 42))
	defer func(v qdwImpl) { qdwLevel = v }(qdwLevel)
	for impl := qdwGeneric; impl <= qdwMax; impl++ {
		qdwLevel = impl
		for _, kk := range [][2]int{{1, 1}, {3, 3}, {5, 5}, {2, 7}, {3, 8}, {1, 4}} {
			for _, s := range [][2]int{{1, 1}, {2, 2}, {1, 3}, {3, 4}} {
				for _, ow := range []int{1, 15, 16, 17, 32, 40, 63} {
					kh, kw, sh, sw := kk[0], kk[1], s[0], s[1]
					oh := 1 + (ow+kh)%4
					name := fmt.Sprintf("%v/k%dx%d/s%dx%d/ow%d", impl, kh, kw, sh, sw, ow)
					signedIn, signedOut := (ow+kw)%2 == 0, (ow+sh)%2 == 1
					ldx := (ow-1)*sw + kw + ow%3
					x, _ := qrand(r, ((oh-1)*sh+kh-1)*ldx+(ow-1)*sw+kw+QDepthwiseSlack)
					_, w := qrand(r, kh*kw)
					p := &QDepthwisePlane{X: x, Ldx: ldx, KH: kh, KW: kw, SH: sh, SW: sw, W: w, OH: oh, OW: ow, Ldy: ow + 2,
						Za: int32(r.IntN(256)), Bias: int32(r.IntN(20000) - 10000), Scale: []float32{1.0 / 64, 1.0 / 256, 3e-3}[r.IntN(3)],
						ZeroPoint: int32(r.IntN(100)), Lo: 0, Hi: 255}
					if signedIn {
						p.Flip = 0x80
					}
					if signedOut {
						p.ZeroPoint, p.Lo, p.Hi = p.ZeroPoint-50, -128, 127
					}
					p.Y = make([]uint8, (oh-1)*p.Ldy+ow+3)
					for i := range p.Y {
						p.Y[i] = 0xA5
					}
					if err := QDepthwise(p); err != nil {
						t.Fatalf("%s: %v", name, err)
					}
					for i := range oh {
						for j := range ow {
							var acc int32
							for a := range kh {
								for b := range kw {
									acc += int32(w[a*kw+b]) * (int32(x[(i*sh+a)*ldx+j*sw+b]^p.Flip) - p.Za)
								}
							}
							want := uint8(QRequantize(acc+p.Bias, p.Scale, p.ZeroPoint, p.Lo, p.Hi))
							if got := p.Y[i*p.Ldy+j]; got != want {
								t.Fatalf("%s: y[%d][%d] = %d, want %d", name, i, j, got, want)
							}
						}
						for j := ow; j < p.Ldy && i*p.Ldy+j < len(p.Y); j++ {
							if p.Y[i*p.Ldy+j] != 0xA5 {
								t.Fatalf("%s: y[%d][%d] past the row written", name, i, j)
							}
						}
					}
				}
			}
		}
	}
}

// TestQDepthwiseErrors checks that shapes the kernel cannot read safely are refused.
func TestQDepthwiseErrors(t *testing.T) {
	ok := func() *QDepthwisePlane {
		return &QDepthwisePlane{X: make([]uint8, 3*10+QDepthwiseSlack), Ldx: 10, KH: 3, KW: 3, SH: 1, SW: 1, W: make([]int8, 9),
			OH: 1, OW: 8, Y: make([]uint8, 8), Ldy: 8, Scale: 1, Hi: 255}
	}
	if err := QDepthwise(ok()); err != nil {
		t.Fatalf("valid plane: %v", err)
	}
	for name, mut := range map[string]func(p *QDepthwisePlane){
		"stride 5":      func(p *QDepthwisePlane) { p.SW = 5 },
		"no slack":      func(p *QDepthwisePlane) { p.X = p.X[:30] },
		"narrow rows":   func(p *QDepthwisePlane) { p.Ldx = 9 },
		"short output":  func(p *QDepthwisePlane) { p.Y = p.Y[:7] },
		"8 weights":     func(p *QDepthwisePlane) { p.W = p.W[:8] },
		"zero kernel":   func(p *QDepthwisePlane) { p.KH = 0 },
		"negative rows": func(p *QDepthwisePlane) { p.OH = -1 },
	} {
		p := ok()
		mut(p)
		if err := QDepthwise(p); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

// BenchmarkQDepthwise times one channel of a 3×3 stride-1 and a 5×5 stride-2 depthwise layer of PP-OCRv4 det
// (320² and 160²) and of rec's 5×5 at 12×80, from its padded plane.
func BenchmarkQDepthwise(b *testing.B) {
	for _, c := range []struct{ k, s, oh, ow int }{{3, 1, 320, 320}, {5, 2, 160, 160}, {5, 1, 12, 80}} {
		b.Run(fmt.Sprintf("k%d_s%d_%dx%d", c.k, c.s, c.oh, c.ow), func(b *testing.B) {
			r := rand.New(rand.NewPCG(1, 1))
			ldx, hp := (c.ow-1)*c.s+c.k, (c.oh-1)*c.s+c.k
			x, _ := qrand(r, ldx*hp+QDepthwiseSlack)
			_, w := qrand(r, c.k*c.k)
			p := &QDepthwisePlane{X: x, Ldx: ldx, KH: c.k, KW: c.k, SH: c.s, SW: c.s, W: w, OH: c.oh, OW: c.ow,
				Y: make([]uint8, c.oh*c.ow), Ldy: c.ow, Za: 128, Scale: 1.0 / 512, Lo: -128, Hi: 127}
			b.SetBytes(int64(c.oh * c.ow))
			for b.Loop() {
				if err := QDepthwise(p); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
