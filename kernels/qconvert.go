package kernels

import "encoding/binary"

// Conversions between float32 and 8-bit integers for QuantizeLinear, DequantizeLinear and requantizing a float
// accumulator (the depthwise integer convolution's, see QQuantize). Each keeps ONNX Runtime's arithmetic
// exactly, element by element, so the vector versions agree with the pure-Go twin bit for bit.

// QQuantize writes y[i] = byte(sat(roundHalfEven(x[i] ⊘ scale) + zp)) for i < len(x), where ⊘ is division
// (QuantizeLinear: MlasQuantizeLinear divides in float32) or, with mul set, multiplication (requantizing by a
// multiplier). sat clamps to [lo, hi] ⊆ [−128, 255]; the stored byte is the uint8 value or the two's-complement
// int8 one. A NaN quotient stores byte(clamp(0, lo, hi)), as the scalar QuantizeLinear does.
//
// Division is kept rather than a multiply by 1/scale: x·(1/scale) differs from x/scale in the last bit for most
// scales, which moves values sitting on a rounding boundary to the other integer.
func QQuantize(y []uint8, x []float32, scale float32, zp, lo, hi int32, mul bool) {
	y = y[:len(x)]
	mode := qconvDiv
	if mul {
		mode = qconvMul
	}
	n := qquantizeVec(y, x, mode, 0, scale, zp, lo, hi)
	qquantizeGeneric(y[n:], x[n:], mode, 0, scale, zp, lo, hi)
}

// QRequantizeSums requantizes integer sums held as float32 (a float32 kernel's exact accumulators, every value an
// integer of magnitude below 2²⁴) as the integer GEMM's epilogue does: y[i] = byte(sat(roundHalfEven(
// float32(int32(acc[i]) + bias)·scale) + zp)). The bias is added as an integer, so a sum that leaves float32's
// exact range only with it rounds exactly as the int32 path would.
func QRequantizeSums(y []uint8, acc []float32, bias int32, scale float32, zp, lo, hi int32) {
	y = y[:len(acc)]
	n := qquantizeVec(y, acc, qconvSums, bias, scale, zp, lo, hi)
	qquantizeGeneric(y[n:], acc[n:], qconvSums, bias, scale, zp, lo, hi)
}

// qconvMode is what the quantizing loop does to each input before rounding.
type qconvMode int

const (
	qconvDiv  qconvMode = iota // x / scale
	qconvMul                   // x · scale
	qconvSums                  // float32(int32(x) + bias) · scale
)

// QDequantize writes y[i] = (float32(x[i]) − zp)·scale for i < len(x), reading each byte as int8 when signed
// (DequantizeLinear's float32 arithmetic, as the ONNX reference and ONNX Runtime compute it).
func QDequantize(y []float32, x []uint8, signed bool, zp, scale float32) {
	y = y[:len(x)]
	n := qdequantizeVec(y, x, signed, zp, scale)
	qdequantizeGeneric(y[n:], x[n:], signed, zp, scale)
}

// QToNHWC transposes n pixels of c planes (plane ch starts at src[ch·stride]) into pixel-major order in dst:
// dst[p·c+ch] = src[ch·stride+p] ^ flip, the layout the integer convolution's im2col reads. Blocks of 16
// channels × 64 pixels (AVX-512) or × 32 pixels (AVX2) go through the vector routine where there is one; the rest
// through qtoNHWCGeneric.
func QToNHWC(dst, src []uint8, c, n, stride int, flip uint8) {
	if c <= 0 || n <= 0 {
		return
	}
	_, _ = dst[c*n-1], src[(c-1)*stride+n-1]
	c16, nv := qtoNHWCVec(dst, src, c, n, stride, flip)
	qtoNHWCGeneric(dst, src, c, stride, flip, 0, c16, nv, n)
	qtoNHWCGeneric(dst, src, c, stride, flip, c16, c, 0, n)
}

// qtoNHWCGeneric is QToNHWC's pure-Go twin over channels [ch0, ch1) and pixels [p0, p1): blocks of 8 channels ×
// 8 pixels move as eight 8-byte words through qTranspose8; the edges go byte by byte.
func qtoNHWCGeneric(dst, src []uint8, c, stride int, flip uint8, ch0, ch1, p0, p1 int) {
	if ch0 >= ch1 || p0 >= p1 {
		return
	}
	f := uint64(flip) * 0x0101010101010101
	c8, n8 := ch0+(ch1-ch0)&^7, p0+(p1-p0)&^7
	for ch := ch0; ch < c8; ch += 8 {
		for p := p0; p < n8; p += 8 {
			var w [8]uint64
			for r := range w {
				w[r] = binary.LittleEndian.Uint64(src[(ch+r)*stride+p:]) ^ f
			}
			qTranspose8(&w)
			for r := range w {
				binary.LittleEndian.PutUint64(dst[(p+r)*c+ch:], w[r])
			}
		}
		for p := n8; p < p1; p++ {
			for r := 0; r < 8; r++ {
				dst[p*c+ch+r] = src[(ch+r)*stride+p] ^ flip
			}
		}
	}
	// The last (< 8) channels go pixel by pixel, each pixel's bytes written together: channel by channel, the
	// 3-channel stem image took three byte-strided passes over dst (a third of its convolution's time).
	if c8 < ch1 {
		src = src[c8*stride:]
		for p := p0; p < p1; p++ {
			d := dst[p*c+c8 : p*c+ch1]
			for i := range d {
				d[i] = src[i*stride+p] ^ flip
			}
		}
	}
}

// Q8 is a per-tensor 8-bit quantization: scale, zero point, and whether the bytes are int8 (else uint8).
type Q8 struct {
	Scale  float32
	Zero   int32
	Signed bool
}

// bounds is the integer range of q's bytes.
func (q Q8) bounds() (lo, hi int32) {
	if q.Signed {
		return -128, 127
	}
	return 0, 255
}

// QBinary writes y[i] = QuantizeLinear_c(DequantizeLinear_a(a[i]) op DequantizeLinear_b(b[i])) for i < len(y), op
// the float32 product when mul, else the sum: exactly what QDequantize, the float op and QQuantize compute in turn
// (a NaN stores the byte QQuantize stores for one), without the float tensors in between. ORT's QLinearAdd and
// QLinearMul of equal shapes (residual sums) run on it.
func QBinary(y, a, b []uint8, qa, qb, qc Q8, mul bool) {
	a, b = a[:len(y)], b[:len(y)]
	n := qbinaryVec(y, a, b, qa, qb, qc, mul)
	qbinaryGeneric(y[n:], a[n:], b[n:], qa, qb, qc, mul)
}

// qflip returns the xor that reads q's bytes as uint8 and the zero point moved with it: an int8 v is the uint8
// v ^ 0x80 minus 128, so float32(int8(v)) − z = float32(v ^ 0x80) − (z + 128), both exact.
func (q Q8) qflip() (flip uint8, zero float32) {
	if q.Signed {
		return 0x80, float32(q.Zero + 128)
	}
	return 0, float32(q.Zero)
}
