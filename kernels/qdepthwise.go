package kernels

import "fmt"

// Depthwise integer convolution straight from 8-bit planes. QLinearConv's depthwise layers used to run on the
// float32 depthwise kernel: dequantize the plane, convolve, requantize (PP-OCRv4 det's 14 depthwise layers took
// as long in int8 as in float32). Here each output row is computed 16 pixels at a time: for every kernel row, one
// 64-byte load of the padded input row, a VPERMB that gives each of the 16 output pixels its next 4 taps' bytes
// in one 32-bit lane (the byte offsets depend only on the stride), and one VPDPBUSD with those 4 taps' weights
// broadcast. A 3×3 kernel is 3 of each per 16 outputs, against 9 multiply-adds on float planes that first had
// to be converted. The input's zero point contributes the per-channel constant −za·Σw, folded into the bias as
// in QPointwise, so padding holds za itself. Without VBMI and VNNI (AVX2 machines, and AVX-512 ones before Ice
// Lake), strides 1 and 2 run qdwS1AVX2/qdwS2AVX2: each pair of taps is widened to int16 and summed with VPMADDWD,
// 16 outputs at a time (BenchmarkQDepthwise, 3×3 over 320²: 49 µs against 19.5 µs with VNNI and 2 ms in Go).

// QDepthwisePlane describes one channel of a depthwise convolution over a padded input plane: output pixel
// (oh, ow) reads the KH×KW window whose top-left byte is X[oh·SH·Ldx + ow·SW] (no dilation). Beyond the last
// window byte the plane must have QDepthwiseSlack readable bytes.
type QDepthwisePlane struct {
	X                 []uint8 // padded input plane, uint8, or int8 viewed as bytes with Flip 0x80
	Ldx               int     // bytes from one padded row to the next
	Flip              uint8   // 0x80: X holds int8 values, read as uint8 v + 128 (Za is then the zero point plus 128)
	KH, KW            int
	SH, SW            int // strides; SW at most 4
	W                 []int8
	OH, OW            int
	Y                 []uint8 // output plane, rows Ldy bytes apart: uint8, or int8 viewed as bytes
	Ldy               int
	Za                int32   // the input's zero point in the uint8 domain
	Bias              int32   // integer bias, added before scaling
	Scale             float32 // requantization multiplier
	ZeroPoint, Lo, Hi int32   // the output's zero point and range ([0, 255] or [-128, 127])
}

// QDepthwiseSlack is the number of readable bytes a padded plane needs past its last window byte: the kernel
// loads whole 64-byte vectors.
const QDepthwiseSlack = 64

// QDepthwiseFast reports whether QDepthwise has a SIMD kernel on this machine for horizontal stride sw: AVX-512
// VBMI and VNNI for strides up to 4, AVX2 for 1 and 2.
func QDepthwiseFast(sw int) bool { return qdwSIMD(sw) }

// QDepthwise computes one channel: Y[oh·Ldy + ow] = requant(Bias + Σ_{a,b} W[a·KW + b]·(X[(oh·SH + a)·Ldx +
// ow·SW + b] − Za)), requantized as QGemm's epilogue does. W is the channel's KH×KW int8 weights (zero point 0).
func QDepthwise(p *QDepthwisePlane) error {
	if p.KH <= 0 || p.KW <= 0 || p.SH <= 0 || p.SW <= 0 || p.SW > 4 || p.OH < 0 || p.OW < 0 {
		return fmt.Errorf("kernels: QDepthwise: kernel %d×%d, strides %d×%d (horizontal at most 4), output %d×%d",
			p.KH, p.KW, p.SH, p.SW, p.OH, p.OW)
	}
	if len(p.W) < p.KH*p.KW {
		return fmt.Errorf("kernels: QDepthwise: %d weights for a %d×%d kernel", len(p.W), p.KH, p.KW)
	}
	if p.OH == 0 || p.OW == 0 {
		return nil
	}
	last := ((p.OH-1)*p.SH+p.KH-1)*p.Ldx + (p.OW-1)*p.SW + p.KW
	if p.Ldx < (p.OW-1)*p.SW+p.KW || len(p.X) < last+QDepthwiseSlack {
		return fmt.Errorf("kernels: QDepthwise: plane of %d bytes, rows %d apart, cannot hold %d×%d windows and the slack",
			len(p.X), p.Ldx, p.OH, p.OW)
	}
	if p.Ldy < p.OW || len(p.Y) < (p.OH-1)*p.Ldy+p.OW {
		return fmt.Errorf("kernels: QDepthwise: output of %d bytes, rows %d apart, cannot hold %d×%d", len(p.Y), p.Ldy, p.OH, p.OW)
	}
	gk := (p.KW + 3) / 4
	var a qdwArgs
	if p.KH*gk*4 > len(a.w) {
		return fmt.Errorf("kernels: QDepthwise: a %d×%d kernel has more than %d groups of 4 taps", p.KH, p.KW, len(a.w)/4)
	}
	// The weights travel inside the argument block: a depthwise layer calls this once per channel (PP-OCRv4 rec:
	// 480 channels of 12×80), and a heap allocation for them each time was a visible share.
	var wsum int32
	for r := range p.KH {
		for b := range p.KW {
			v := p.W[r*p.KW+b]
			a.w[r*gk*4+b] = v
			wsum += int32(v)
		}
	}
	a = qdwArgs{w: a.w,
		ldx: p.Ldx, rowStep: p.SH * p.Ldx, rows: p.OH, kh: p.KH, gk: gk, step: 16 * p.SW, n: p.OW, ldd: p.Ldy,
		np: (p.KW + 1) / 2, corr: p.Bias - p.Za*wsum, scale: p.Scale, flo: float32(p.Lo - p.ZeroPoint), fhi: float32(p.Hi - p.ZeroPoint),
		zp: p.ZeroPoint, flip: uint32(p.Flip) * 0x01010101,
	}
	for j := range 16 {
		for i := range 4 {
			a.idx[j*4+i] = uint8(j*p.SW + i)
		}
	}
	qdwRun(&a, p.X, p.Y)
	return nil
}

// qdwImpl is a depthwise kernel: the pure-Go twin, AVX2 (strides 1 and 2) or AVX-512 VBMI+VNNI.
type qdwImpl uint8

const (
	qdwGeneric qdwImpl = iota
	qdwAVX2
	qdwVNNI512
)

func (l qdwImpl) String() string { return [...]string{"generic", "avx2", "avx512vnni"}[l] }

// qdwArgs is the kernel's argument block (the assembly reads it by these offsets: see TestQDepthwiseArgsLayout).
type qdwArgs struct {
	x       *uint8     // 0: padded plane at the first window
	ldx     int        // 8: padded row stride
	rowStep int        // 16: bytes from one output row's windows to the next (SH·ldx)
	rows    int        // 24: output rows
	kh      int        // 32: kernel rows
	gk      int        // 40: groups of 4 taps per kernel row
	np      int        // 48: pairs of taps per kernel row, (KW+1)/2 (the AVX2 kernels)
	step    int        // 56: input bytes per 16 outputs (16·SW)
	n       int        // 64: outputs per row
	d       *uint8     // 72: output plane
	ldd     int        // 80: output row stride
	corr    int32      // 88: bias − za·Σw
	scale   float32    // 92
	flo     float32    // 96: lo − zp
	fhi     float32    // 100: hi − zp
	zp      int32      // 104
	flip    uint32     // 108: the flip byte in every byte
	idx     [64]byte   // 112: VPERMB index: lane j's byte i is window byte j·SW + i
	w       [256]int8  // 176: kh·gk·4 weights, zero past KW
	w16     [256]int16 // 432: w widened to int16 (the AVX2 kernels read a pair of taps' weights as one int32)
}
