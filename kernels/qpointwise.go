package kernels

import (
	"fmt"
	"sync"
)

// Pointwise (1×1) integer convolution of NCHW images, without transposes. QGemm's convolution layout has pixels
// as rows and channels as columns, so QLinearConv transposes the image to NHWC and stores the results transposed
// back; for a 1×1 convolution over few input channels (PP-OCRv4 det's 16→32 at 320×320 has K = 16) the two
// transposes and the per-tile call overhead cost more than the multiply-adds. Here output channels are the rows
// and pixels the columns: each panel of qpwCols pixels is packed once, the bytes of 4 input channels side by
// side per pixel (the groups VPDPBUSD multiplies), and each block of qpwRows output channels multiplies it by
// its weights broadcast 4 at a time, requantizes in registers and stores each channel's pixels straight into
// its NCHW plane.
//
// The weights' zero point must be 0 (symmetric int8, the default of hone and ONNX Runtime): the activations'
// zero point then adds a constant per output channel, −za·Σ_c w, folded into the bias, and no per-pixel sums
// of the input are needed.

const (
	qpwRows = 8  // output channels per kernel call
	qpwCols = 32 // pixels per panel
)

// QPackedPointwise is the M×C int8 weight matrix of a 1×1 convolution (zero point 0), packed for QPointwise:
// ceil(M/qpwRows) blocks, each holding for every group of 4 input channels each row's 4 weights (zero padded
// past C and M).
type QPackedPointwise struct {
	M, C   int
	kg     int // groups of 4 input channels
	w      []int8
	rowSum []int32 // Σ_c w[m][c]
}

// QPackPointwise packs the row-major M×C weights w (output channel m's weights at w[m·C:]).
func QPackPointwise(m, c int, w []int8) (*QPackedPointwise, error) {
	if m < 0 || c < 0 || len(w) < m*c {
		return nil, fmt.Errorf("kernels: QPackPointwise: %d×%d weights do not fit %d values", m, c, len(w))
	}
	kg := (c + 3) / 4
	blocks := (m + qpwRows - 1) / qpwRows
	p := &QPackedPointwise{M: m, C: c, kg: kg, w: make([]int8, blocks*kg*qpwRows*4), rowSum: make([]int32, m)}
	for i := 0; i < m; i++ {
		blk, r := i/qpwRows, i%qpwRows
		for ch, v := range w[i*c : (i+1)*c] {
			p.w[(blk*kg+ch/4)*qpwRows*4+r*4+ch%4] = v
			p.rowSum[i] += int32(v)
		}
	}
	return p, nil
}

// QPointwiseFast reports whether QPointwise has a SIMD kernel on this machine (AVX-512 VNNI), or whether nothing
// has one (the pure-Go build): where only QGemm's AVX2 kernel exists, it is the faster path.
func QPointwiseFast() bool { return qlevel == qimplVNNI || qlevel == qimplGeneric }

// QPointwise computes a 1×1 convolution of one image: out[m·Ldc + p] = f(Σ_c w[m][c]·(x[c·ldx + p] − za)) for the
// M output channels and P pixels, with f QGemm's requantization (out.U8 or out.I8) or dequantization (out.F32,
// FBias added after the scaling); out.Scale and out.Bias are per output channel here (one value, or M), out.FBias
// M values or nil. x holds the C input
// planes, ldx ≥ P bytes apart (a band of rows of whole planes has ldx > P); flip 0x80 turns int8 values into the
// uint8 v + 128 (za is then the zero point plus 128), flip 0 takes uint8 as it is. Work is split across r by
// panels of pixels.
func QPointwise(r Runner, w *QPackedPointwise, x []uint8, ldx int, flip uint8, za int32, P int, out *QOutput) error {
	C := w.C
	if P < 0 || ldx < P || C > 0 && P > 0 && len(x) < (C-1)*ldx+P {
		return fmt.Errorf("kernels: QPointwise: %d planes of %d pixels, %d apart, do not fit %d bytes", C, P, ldx, len(x))
	}
	job, err := newQPWJob(w, za, P, out, "QPointwise")
	if job == nil || err != nil {
		return err
	}
	pack := qpwPackFor(qlevel)
	full := C / 4 // channel groups the packer reads whole
	// A task is a run of panels: each panel is packed once into the task's buffer (in L1) and read by every block.
	const panelsPerTask = 8
	panels := (P + qpwCols - 1) / qpwCols
	r.Run((panels+panelsPerTask-1)/panelsPerTask, func(t int) {
		sc := qpwPool.Get().(*qpwScratch)
		defer qpwPool.Put(sc)
		sc.panel = grow8(sc.panel, w.kg*qpwCols*4)
		buf := sc.panel
		for pn := t * panelsPerTask; pn < min(panels, (t+1)*panelsPerTask); pn++ {
			p0 := pn * qpwCols
			n := min(qpwCols, P-p0)
			if n == qpwCols {
				pack(buf, x[p0:], ldx, full, 4*ldx, flip)
				qpwPackRest(buf, x[p0:], ldx, 4*full, C, n, flip)
			} else {
				// The last, partial panel: its missing pixels are zero.
				clear(buf)
				qpwPackRest(buf, x[p0:], ldx, 0, C, n, flip)
			}
			job.panel(sc, n, p0)
		}
	})
	return nil
}

// qpwJob is what every panel of a QPointwise or QConvGather call shares: the weights, the per-channel corrections
// and multipliers, the output and the kernels.
type qpwJob struct {
	w              *QPackedPointwise
	corr           []int32
	scale          []float32
	d              []uint8   // uint8/int8 output, or nil
	f              []float32 // float32 output, or nil
	fbias          []float32 // float32 output: added per output channel after the scaling, or nil
	ldc            int
	flo, fhi       float32
	zp             int32
	kernel         func(kg int, x []uint8, w []int8, corr []int32, scale []float32, d []uint8, ldd, rows int, flo, fhi float32, zp int32)
	kernelF        func(kg int, x []uint8, w []int8, corr []int32, scale []float32, d []float32, ldd, rows int, fbias []float32)
	blocks, blockW int
}

// newQPWJob checks out for an M×P result (M = w.M) and precomputes the corrections; it returns nil and no error
// when there is nothing to compute.
func newQPWJob(w *QPackedPointwise, za int32, P int, out *QOutput, op string) (*qpwJob, error) {
	M := w.M
	d, size := out.U8, len(out.U8)
	lo, hi := int32(0), int32(255)
	switch {
	case out.I8 != nil:
		d, size, lo, hi = qBytes(out.I8), len(out.I8), -128, 127
	case out.F32 != nil:
		size = len(out.F32)
	}
	if (d == nil) == (out.F32 == nil) || out.I32 != nil || out.FBias != nil && out.F32 == nil || out.Trans {
		return nil, fmt.Errorf("kernels: %s: the output must be one of uint8, int8 or float32 (FBias with float32 only), stored untransposed", op)
	}
	if M > 0 && P > 0 && (out.Ldc < P || size < (M-1)*out.Ldc+P) {
		return nil, fmt.Errorf("kernels: %s: output of %d values with stride %d cannot hold %d×%d", op, size, out.Ldc, M, P)
	}
	if len(out.Scale) != 1 && len(out.Scale) != M || out.Bias != nil && len(out.Bias) != M || out.FBias != nil && len(out.FBias) != M {
		return nil, fmt.Errorf("kernels: %s: %d scales, %d biases and %d float biases for %d output channels", op,
			len(out.Scale), len(out.Bias), len(out.FBias), M)
	}
	if M == 0 || P == 0 {
		return nil, nil
	}
	blocks := (M + qpwRows - 1) / qpwRows
	j := &qpwJob{w: w, corr: make([]int32, blocks*qpwRows), scale: make([]float32, blocks*qpwRows), d: d, f: out.F32, fbias: out.FBias,
		ldc: out.Ldc, flo: float32(lo - out.ZeroPoint), fhi: float32(hi - out.ZeroPoint), zp: out.ZeroPoint,
		kernel: qpwKernelFor(qlevel), kernelF: qpwKernelF32For(qlevel), blocks: blocks, blockW: w.kg * qpwRows * 4}
	for m := range M {
		j.corr[m] = -za * w.rowSum[m]
		if out.Bias != nil {
			j.corr[m] += out.Bias[m]
		}
		j.scale[m] = qscale(out.Scale, m)
	}
	return j, nil
}

// panel runs every block of output channels over the packed panel in sc (its first n pixels real) and stores
// channel m's results from out[m·Ldc + o] on; a partial panel goes through sc's staging rows.
func (j *qpwJob) panel(sc *qpwScratch, n, o int) {
	buf, kg := sc.panel, j.w.kg
	for b := range j.blocks {
		m0 := b * qpwRows
		rows := min(qpwRows, j.w.M-m0)
		wb := j.w.w[b*j.blockW : (b+1)*j.blockW]
		at := m0*j.ldc + o
		switch {
		case j.d != nil && n == qpwCols:
			j.kernel(kg, buf, wb, j.corr[m0:], j.scale[m0:], j.d[at:], j.ldc, rows, j.flo, j.fhi, j.zp)
		case j.d != nil:
			j.kernel(kg, buf, wb, j.corr[m0:], j.scale[m0:], sc.tail[:], qpwCols, rows, j.flo, j.fhi, j.zp)
			for i := range rows {
				copy(j.d[at+i*j.ldc:at+i*j.ldc+n], sc.tail[i*qpwCols:])
			}
		case n == qpwCols:
			j.kernelF(kg, buf, wb, j.corr[m0:], j.scale[m0:], j.f[at:], j.ldc, rows, j.blockBias(m0))
		default:
			j.kernelF(kg, buf, wb, j.corr[m0:], j.scale[m0:], sc.tailF[:], qpwCols, rows, j.blockBias(m0))
			for i := range rows {
				copy(j.f[at+i*j.ldc:at+i*j.ldc+n], sc.tailF[i*qpwCols:])
			}
		}
	}
}

// blockBias is the float biases of the block of channels from m0 on, or nil.
func (j *qpwJob) blockBias(m0 int) []float32 {
	if j.fbias == nil {
		return nil
	}
	return j.fbias[m0:]
}

// panelOffs is panel for QConvRows: group g of the panel is at x[offs[g]:] (a tap's pixels in a packed row), read
// in place by the offsets kernel.
func (j *qpwJob) panelOffs(kernel func(kg int, x []uint8, offs []int, w []int8, corr []int32, scale []float32, d []uint8, ldd, rows int, flo, fhi float32, zp int32),
	sc *qpwScratch, x []uint8, offs []int, n, o int) {
	kg := j.w.kg
	for b := range j.blocks {
		m0 := b * qpwRows
		rows := min(qpwRows, j.w.M-m0)
		wb := j.w.w[b*j.blockW : (b+1)*j.blockW]
		at := m0*j.ldc + o
		if n == qpwCols {
			kernel(kg, x, offs, wb, j.corr[m0:], j.scale[m0:], j.d[at:], j.ldc, rows, j.flo, j.fhi, j.zp)
			continue
		}
		kernel(kg, x, offs, wb, j.corr[m0:], j.scale[m0:], sc.tail[:], qpwCols, rows, j.flo, j.fhi, j.zp)
		for i := range rows {
			copy(j.d[at+i*j.ldc:at+i*j.ldc+n], sc.tail[i*qpwCols:])
		}
	}
}

// qpwScratch is one QPointwise task's packed panel and the staging rows of a partial last panel.
type qpwScratch struct {
	panel []uint8
	tail  [qpwRows * qpwCols]uint8
	tailF [qpwRows * qpwCols]float32
}

var qpwPool = sync.Pool{New: func() any { return new(qpwScratch) }}

func grow8(b []uint8, n int) []uint8 {
	if cap(b) < n {
		return make([]uint8, n)
	}
	return b[:n]
}

// qpwPackRest packs, for the first n pixels of a panel, channels from c0 on (the groups the packer does not
// read whole: a last group of fewer than 4 channels, or every channel of a partial panel); channels past C
// are zero.
func qpwPackRest(dst, x []uint8, plane, c0, C, n int, flip uint8) {
	for g := c0 / 4; g < (C+3)/4; g++ {
		for i := range 4 {
			ch := 4*g + i
			if ch >= C {
				for p := range n {
					dst[g*qpwCols*4+p*4+i] = 0
				}
				continue
			}
			for p, v := range x[ch*plane : ch*plane+n] {
				dst[g*qpwCols*4+p*4+i] = v ^ flip
			}
		}
	}
}
