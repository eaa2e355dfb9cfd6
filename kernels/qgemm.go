package kernels

import (
	"fmt"
	"math"
)

// Integer GEMM for quantized models: C = (A − za)·(B − zb) with A uint8 (activations), B int8 (weights, packed
// once) and int32 accumulation, optionally requantized to uint8/int8 in the epilogue. Signed activations and
// unsigned weights are handled by the callers' exact shifts (a_s8 + 128 is a uint8 with zero point za + 128;
// b_u8 − 128 is an int8 with zero point zb − 128), so one kernel shape serves every ONNX integer op.
//
// The micro-kernel computes a qgemmMR×qgemmNR tile of raw sums Σ_k a·b over K padded to a multiple of 4: the
// VNNI instruction VPDPBUSD multiplies 4 adjacent uint8×int8 pairs and adds them to one int32 lane without
// saturation. The zero-point terms are applied afterwards from row sums of A and column sums of B:
//
//	Σ_k (a−za)(b−zb) = Σ ab − zb·Σa − za·Σb + K·za·zb

const (
	qgemmMR = 8  // rows of A per micro-kernel call
	qgemmNR = 32 // columns of B per packed panel (two zmm registers of int32)
	qgemmKU = 4  // k values per VPDPBUSD group
)

// qimpl is the integer kernel's SIMD level; tests switch qlevel to run each variant against the twin.
type qimpl uint8

const (
	qimplGeneric qimpl = iota
	qimplAVX2          // VPMADDWD on values widened to int16 (exact, no VPMADDUBSW saturation)
	qimplVNNI          // AVX-512 VNNI VPDPBUSD
)

func (l qimpl) String() string {
	switch l {
	case qimplAVX2:
		return "avx2"
	case qimplVNNI:
		return "avx512vnni"
	}
	return "generic"
}

// qlevel is the level QGemm uses; it starts at the best this CPU supports.
var qlevel = qmaxImpl

// qimpls lists the levels this build and CPU can run, generic first.
func qimpls() []qimpl {
	out := []qimpl{qimplGeneric}
	for l := qimplGeneric + 1; l <= qmaxImpl; l++ {
		out = append(out, l)
	}
	return out
}

// setQImpl switches the integer SIMD level (tests only) and returns a func that restores the previous one.
func setQImpl(l qimpl) (restore func()) {
	old := qlevel
	qlevel = l
	return func() { qlevel = old }
}

// QImpl names the integer GEMM's SIMD level, for benchmark reports.
func QImpl() string { return qlevel.String() }

// QPackedB is a K×N int8 matrix with per-column zero points, packed once for QGemm: panels of qgemmNR columns,
// each holding for every group of 4 k the 4 bytes of column 0, then column 1, …; K and N are zero padded.
type QPackedB struct {
	K, N   int
	kp     int     // K rounded up to a multiple of qgemmKU
	data   []int8  // ceil(N/qgemmNR) panels of kp·qgemmNR bytes
	colSum []int32 // Σ_k B[k][j]
	zb     []int32 // zero point per column (all equal for per-tensor)
	zbZero bool    // every zb is 0: the row-sum term vanishes
}

// QPackB packs the row-major K×N int8 matrix b (row stride ldb) with zero point zb (one value, or one per column).
func QPackB(k, n int, b []int8, ldb int, zb []int32) (*QPackedB, error) {
	if k < 0 || n < 0 || (k > 0 && n > 0 && (ldb < n || len(b) < (k-1)*ldb+n)) {
		return nil, fmt.Errorf("kernels: QPackB: %d×%d matrix does not fit %d values with stride %d", k, n, len(b), ldb)
	}
	if len(zb) != 1 && len(zb) != n {
		return nil, fmt.Errorf("kernels: QPackB: %d zero points for %d columns", len(zb), n)
	}
	kp := (k + qgemmKU - 1) / qgemmKU * qgemmKU
	panels := (n + qgemmNR - 1) / qgemmNR
	p := &QPackedB{K: k, N: n, kp: kp, data: make([]int8, panels*kp*qgemmNR), colSum: make([]int32, n), zb: make([]int32, n), zbZero: true}
	for j := 0; j < n; j++ {
		p.zb[j] = zb[min(j, len(zb)-1)]
		if p.zb[j] != 0 {
			p.zbZero = false
		}
	}
	for kk := 0; kk < k; kk++ {
		row := b[kk*ldb : kk*ldb+n]
		for j, v := range row {
			panel, col := j/qgemmNR, j%qgemmNR
			p.data[panel*kp*qgemmNR+(kk/qgemmKU)*qgemmNR*qgemmKU+col*qgemmKU+kk%qgemmKU] = v
			p.colSum[j] += int32(v)
		}
	}
	return p, nil
}

// QOutput says what QGemm does with each S_ij = Σ_k (A_ik − za_i)(B_kj − zb_j). Exactly one of I32, U8, I8 and
// F32 is set, each with row stride Ldc.
//
//	I32: C = S
//	U8/I8 (requantize, as ONNX Runtime's MlasRequantizeOutput): C = sat(roundEven(float32(S + Bias_j)·Scale_j) + ZeroPoint)
//	F32 (dequantize): C = float32(S + Bias_j)·Scale_j + FBias_j
type QOutput struct {
	I32       []int32
	U8        []uint8
	I8        []int8
	F32       []float32
	Ldc       int
	Scale     []float32 // one value, or one per column
	Bias      []int32   // nil, or one per column, added before scaling
	FBias     []float32 // nil, or one per column (F32 only)
	ZeroPoint int32
}

func (o *QOutput) check(m, n int) error {
	set, size := 0, 0
	for _, l := range []int{len(o.I32), len(o.U8), len(o.I8), len(o.F32)} {
		if l > 0 {
			set++
			size = l
		}
	}
	if m == 0 || n == 0 {
		return nil
	}
	if set != 1 {
		return fmt.Errorf("kernels: QGemm: set exactly one output slice")
	}
	if o.Ldc < n || size < (m-1)*o.Ldc+n {
		return fmt.Errorf("kernels: QGemm: output of %d values with stride %d cannot hold %d×%d", size, o.Ldc, m, n)
	}
	if o.I32 == nil && len(o.Scale) != 1 && len(o.Scale) != n {
		return fmt.Errorf("kernels: QGemm: %d scales for %d columns", len(o.Scale), n)
	}
	if o.Bias != nil && len(o.Bias) != n || o.FBias != nil && len(o.FBias) != n {
		return fmt.Errorf("kernels: QGemm: bias length differs from %d columns", n)
	}
	return nil
}

// QGemm computes the m×N product of the row-major uint8 matrix a (row stride lda, zero point za: one value or one
// per row) with the packed matrix b and writes it as out describes. Work is split across r.
func QGemm(r Runner, m int, a []uint8, lda int, za []int32, b *QPackedB, out *QOutput) error {
	k, n := b.K, b.N
	if m < 0 || (m > 0 && k > 0 && (lda < k || len(a) < (m-1)*lda+k)) {
		return fmt.Errorf("kernels: QGemm: %d×%d matrix A does not fit %d values with stride %d", m, k, len(a), lda)
	}
	if len(za) != 1 && len(za) != m {
		return fmt.Errorf("kernels: QGemm: %d zero points for %d rows", len(za), m)
	}
	if err := out.check(m, n); err != nil {
		return err
	}
	if m == 0 || n == 0 {
		return nil
	}
	rowBlocks := (m + qgemmMR - 1) / qgemmMR
	panels := (n + qgemmNR - 1) / qgemmNR
	// Pack A once: row blocks of qgemmMR rows with K padded to kp (zeros add nothing), plus the row sums.
	ap := make([]uint8, rowBlocks*qgemmMR*b.kp)
	rowSum, zaRow := make([]int32, rowBlocks*qgemmMR), make([]int32, rowBlocks*qgemmMR)
	r.Run(rowBlocks, func(rb int) {
		for i := rb * qgemmMR; i < min(m, (rb+1)*qgemmMR); i++ {
			src := a[i*lda : i*lda+k]
			copy(ap[i*b.kp:], src)
			var s int32
			for _, v := range src {
				s += int32(v)
			}
			rowSum[i], zaRow[i] = s, za[min(i, len(za)-1)]
		}
	})
	// A task is one B panel times a chunk of row blocks: the panel stays in L1/L2 while the A blocks stream by.
	const blocksPerTask = 8
	chunks := (rowBlocks + blocksPerTask - 1) / blocksPerTask
	micro := qmicroFor(qlevel)
	r.Run(panels*chunks, func(t int) {
		p, ch := t%panels, t/panels
		bp := b.data[p*b.kp*qgemmNR : (p+1)*b.kp*qgemmNR]
		j0 := p * qgemmNR
		cols := min(qgemmNR, n-j0)
		var tile [qgemmMR * qgemmNR]int32
		for rb := ch * blocksPerTask; rb < min(rowBlocks, (ch+1)*blocksPerTask); rb++ {
			i0 := rb * qgemmMR
			rows := min(qgemmMR, m-i0)
			micro(b.kp, ap[i0*b.kp:(i0+qgemmMR)*b.kp], bp, tile[:])
			qepilogue(out, b, tile[:], rowSum[i0:i0+rows], zaRow[i0:i0+rows], i0, j0, cols, int32(k))
		}
	})
	return nil
}

// qepilogue applies the zero-point compensation to one tile of raw sums and writes it out.
func qepilogue(out *QOutput, b *QPackedB, tile []int32, rowSum, za []int32, i0, j0, cols int, k int32) {
	colSum, zb := b.colSum[j0:j0+cols], b.zb[j0:j0+cols]
	var s [qgemmNR]int32
	for i := range rowSum {
		t := tile[i*qgemmNR : i*qgemmNR+cols]
		zai := za[i]
		for j := range t {
			s[j] = t[j] - zai*colSum[j]
		}
		if !b.zbZero {
			for j := range t {
				s[j] += zb[j] * (k*zai - rowSum[i])
			}
		}
		if out.Bias != nil {
			for j, v := range out.Bias[j0 : j0+cols] {
				s[j] += v
			}
		}
		off := (i0+i)*out.Ldc + j0
		switch {
		case out.I32 != nil:
			copy(out.I32[off:off+cols], s[:cols])
		case out.F32 != nil:
			d := out.F32[off : off+cols]
			for j := range d {
				d[j] = float32(s[j]) * qscale(out.Scale, j0+j)
				if out.FBias != nil {
					d[j] += out.FBias[j0+j]
				}
			}
		case out.U8 != nil:
			d := out.U8[off : off+cols]
			for j := range d {
				d[j] = uint8(QRequantize(s[j], qscale(out.Scale, j0+j), out.ZeroPoint, 0, 255))
			}
		default:
			d := out.I8[off : off+cols]
			for j := range d {
				d[j] = int8(QRequantize(s[j], qscale(out.Scale, j0+j), out.ZeroPoint, -128, 127))
			}
		}
	}
}

func qscale(s []float32, j int) float32 {
	if len(s) == 1 {
		return s[0]
	}
	return s[j]
}

// QRequantize maps an int32 accumulator to the integer range [lo, hi] as ONNX Runtime does:
// clamp(roundHalfEven(float32(acc)·scale) + zp, lo, hi).
func QRequantize(acc int32, scale float32, zp, lo, hi int32) int32 {
	f := float64(float32(acc) * scale)
	// Clamp in float first so huge values cannot overflow the int conversion.
	f = math.Max(math.Min(f, float64(hi-zp)), float64(lo-zp))
	return int32(math.RoundToEven(f)) + zp
}
