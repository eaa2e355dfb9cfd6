package kernels

import "fmt"

// Integer convolution of images with few channels (stems: 1–3), output channels as rows and pixels as columns as
// in QPointwise. QLinearConv's row windows give a 3-channel image 9- or 21-byte pixels, so its GEMM does little
// per call (PP-OCRv4 det's 3→16 3×3 stride-2 stem ran at 19 GMAC/s). Here each panel of 32 output pixels of one
// output row is gathered straight from the padded NCHW planes: for each of the K = C·KH·KW taps one VPERMI2B
// picks the 32 pixels' bytes (SW apart) out of 128 loaded bytes, and four taps are interleaved into the 4-byte
// groups VPDPBUSD reads; then QPointwise's kernel multiplies the panel by each block of 8 output channels.

// QConvGeom is the geometry QConvGather reads: C padded planes of HP rows × WP bytes, output pixel (oh, ow) tap
// (c, a, b) at plane c, row oh·SH + a·DH, column ow·SW + b·DW (padding already in the planes).
type QConvGeom struct {
	C, HP, WP      int
	KH, KW         int
	SH, SW, DH, DW int
	OH, OW         int
}

// QConvGatherSlack is the number of readable bytes the planes need past the last window byte: every tap loads
// 128 bytes.
const QConvGatherSlack = 128

// QConvGatherFast reports whether QConvGather has a SIMD kernel on this machine (AVX-512 VBMI and VNNI).
func QConvGatherFast() bool { return qdwFast }

// QConvGather computes one image's convolution out[m·Ldc + oh·OW + ow] = f(Σ_{c,a,b} w[m][(c·KH + a)·KW + b]·
// (x[tap] − za)), f and out as in QPointwise (Ldc at least OH·OW: one output plane per channel). w packs the M×K
// weights in ONNX's [M, C, KH, KW] order (K = C·KH·KW, zero point 0); x holds the padded planes (uint8, or int8
// with flip 0x80 and za the zero point plus 128). SW is at most 4. Work is split across r by output rows.
func QConvGather(r Runner, w *QPackedPointwise, x []uint8, g QConvGeom, flip uint8, za int32, out *QOutput) error {
	K := g.C * g.KH * g.KW
	if g.C <= 0 || g.KH <= 0 || g.KW <= 0 || g.SH <= 0 || g.SW <= 0 || g.SW > 4 || g.DH <= 0 || g.DW <= 0 || g.OH < 0 || g.OW < 0 {
		return fmt.Errorf("kernels: QConvGather: geometry %+v (horizontal stride at most 4)", g)
	}
	if w.C != K {
		return fmt.Errorf("kernels: QConvGather: weights of %d taps for %d channels × %d×%d", w.C, g.C, g.KH, g.KW)
	}
	P := g.OH * g.OW
	if P == 0 {
		return nil
	}
	plane := g.HP * g.WP
	lastRow, lastCol := (g.OH-1)*g.SH+(g.KH-1)*g.DH, (g.OW-1)*g.SW+(g.KW-1)*g.DW
	if g.HP <= lastRow || g.WP <= lastCol || len(x) < (g.C-1)*plane+lastRow*g.WP+lastCol+1+QConvGatherSlack {
		return fmt.Errorf("kernels: QConvGather: %d bytes of %d×%d planes cannot hold the windows of %+v and the slack", len(x), g.HP, g.WP, g)
	}
	job, err := newQPWJob(w, za, P, out, "QConvGather")
	if job == nil || err != nil {
		return err
	}
	offs := make([]int, w.kg*4) // taps past K read offset 0: any byte, times a zero weight
	for t := range K {
		c, a, b := t/(g.KH*g.KW), t/g.KW%g.KH, t%g.KW
		offs[t] = c*plane + a*g.DH*g.WP + b*g.DW
	}
	var idx [64]uint8
	for j := range qpwCols {
		idx[j] = uint8(j * g.SW)
	}
	pack := qcgPackFor(qlevel)
	r.Run(g.OH, func(oh int) {
		sc := qpwPool.Get().(*qpwScratch)
		defer qpwPool.Put(sc)
		sc.panel = grow8(sc.panel, w.kg*qpwCols*4)
		for ow0 := 0; ow0 < g.OW; ow0 += qpwCols {
			pack(sc.panel, x, oh*g.SH*g.WP+ow0*g.SW, offs, w.kg, g.SW, &idx, flip)
			job.panel(sc, min(qpwCols, g.OW-ow0), oh*g.OW+ow0)
		}
	})
	return nil
}
