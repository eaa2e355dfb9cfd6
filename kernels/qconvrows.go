package kernels

import "fmt"

// Integer convolution at horizontal stride 1 from packed rows, output channels as rows and pixels as columns as
// in QPointwise. QLinearConv's row windows transpose the image to NHWC, build each output row's window, and store
// every GEMM tile transposed; with 24 output channels (PP-OCRv4 det's 96→24 3×3 layers, 27 % of its int8 time)
// a quarter of each 32-column tile is padding besides. Here the image is packed once into rows of 4-channel
// groups, each pixel's 4 bytes side by side — the layout VPDPBUSD reads — with the padding holding the input's
// zero point. At stride 1 the 32 pixels a tap reads for 32 consecutive outputs are 128 consecutive bytes of one
// packed row, so QPointwise's kernel reads every (tap, group) straight from the packed rows through a table of
// offsets: no per-panel copy, each block of 8 output channels stored as 32-byte runs into its NCHW plane.

// QPackedRowsSize is the number of bytes QPackRows writes for C channels (a multiple of 4) in hp rows of wp
// pixels, including the slack QConvRows reads past the last row.
func QPackedRowsSize(C, hp, wp int) int { return hp*C*wp + qpwCols*4 }

// QPackRows packs one NCHW image of C channels (a multiple of 4) and H×W pixels, uint8 or int8 viewed as bytes
// (flip 0x80 moves it to uint8), for QConvRows: hp rows of C/4 groups of wp pixels of 4 bytes, the image at row
// pt and pixel pl, every other byte za (the zero point in the uint8 domain). dst holds QPackedRowsSize bytes.
// Rows are split across r.
func QPackRows(r Runner, dst, x []uint8, C, H, W, pt, pl, hp, wp int, flip, za uint8) error {
	if C%4 != 0 || C <= 0 || H < 0 || W < 0 || pt < 0 || pl < 0 || hp < pt+H || wp < pl+W {
		return fmt.Errorf("kernels: QPackRows: %d channels of %d×%d at (%d, %d) in %d×%d rows (channels must be a multiple of 4)",
			C, H, W, pt, pl, hp, wp)
	}
	if len(x) < C*H*W || len(dst) < QPackedRowsSize(C, hp, wp) {
		return fmt.Errorf("kernels: QPackRows: %d input bytes for %d×%d×%d, %d output bytes for %d", len(x), C, H, W, len(dst),
			QPackedRowsSize(C, hp, wp))
	}
	groups, rowStride, plane := C/4, C*wp, H*W
	pack := qpwPackFor(qlevel)
	fill := func(b []uint8) { // a whole padding row is C·wp bytes: doubling copies, not a byte loop
		if len(b) > 0 {
			b[0] = za
			for n := 1; n < len(b); n *= 2 {
				copy(b[n:], b[:n])
			}
		}
	}
	r.Run(hp, func(row int) {
		dr := dst[row*rowStride : (row+1)*rowStride]
		ih := row - pt
		if ih < 0 || ih >= H {
			fill(dr)
			return
		}
		for g := range groups {
			seg := dr[g*wp*4 : (g+1)*wp*4]
			fill(seg[:pl*4])
			fill(seg[(pl+W)*4:])
			src := x[4*g*plane+ih*W:]
			runs := W / qpwCols
			pack(seg[pl*4:], src, plane, runs, qpwCols, flip)
			for px := runs * qpwCols; px < W; px++ {
				for i := range 4 {
					seg[(pl+px)*4+i] = src[i*plane+px] ^ flip
				}
			}
		}
	})
	fill(dst[hp*rowStride : QPackedRowsSize(C, hp, wp)])
	return nil
}

// QConvRows computes one image's convolution at horizontal stride 1 from rows packed by QPackRows: out[m·Ldc +
// oh·OW + ow] = f(Σ_{a,b,c} w[m][(a·KW + b)·C + c]·(x[c, oh·SH + a·DH, ow + b·DW] − za)), f and out as in
// QPointwise (Ldc at least OH·OW). w packs the M×K weights with K = KH·KW·C in (tap, channel) order — ONNX's
// [M, C, KH, KW] transposed to [M, KH, KW, C] — and zero point 0. g.SW must be 1. Work is split across r by
// output rows.
func QConvRows(r Runner, w *QPackedPointwise, rows []uint8, g QConvGeom, za int32, out *QOutput) error {
	if g.C <= 0 || g.C%4 != 0 || g.KH <= 0 || g.KW <= 0 || g.SH <= 0 || g.SW != 1 || g.DH <= 0 || g.DW <= 0 || g.OH < 0 || g.OW < 0 {
		return fmt.Errorf("kernels: QConvRows: geometry %+v (channels a multiple of 4, horizontal stride 1)", g)
	}
	if w.C != g.KH*g.KW*g.C {
		return fmt.Errorf("kernels: QConvRows: weights of %d taps for %d channels × %d×%d", w.C, g.C, g.KH, g.KW)
	}
	if out.F32 != nil {
		return fmt.Errorf("kernels: QConvRows: the output must be requantized uint8 or int8")
	}
	P := g.OH * g.OW
	if P == 0 {
		return nil
	}
	if g.HP <= (g.OH-1)*g.SH+(g.KH-1)*g.DH || g.WP < g.OW+(g.KW-1)*g.DW || len(rows) < QPackedRowsSize(g.C, g.HP, g.WP) {
		return fmt.Errorf("kernels: QConvRows: %d bytes of %d×%d packed rows cannot hold the windows of %+v", len(rows), g.HP, g.WP, g)
	}
	job, err := newQPWJob(w, za, P, out, "QConvRows")
	if job == nil || err != nil {
		return err
	}
	groups, rowStride := g.C/4, g.C*g.WP
	offs := make([]int, g.KH*g.KW*groups)
	for a := range g.KH {
		for b := range g.KW {
			for c := range groups {
				offs[(a*g.KW+b)*groups+c] = a*g.DH*rowStride + c*g.WP*4 + b*g.DW*4
			}
		}
	}
	kernel := qpwKernelOffsFor(qlevel)
	r.Run(g.OH, func(oh int) {
		sc := qpwPool.Get().(*qpwScratch)
		defer qpwPool.Put(sc)
		for ow0 := 0; ow0 < g.OW; ow0 += qpwCols {
			job.panelOffs(kernel, sc, rows[oh*g.SH*rowStride+ow0*4:], offs, min(qpwCols, g.OW-ow0), oh*g.OW+ow0)
		}
	})
	return nil
}
