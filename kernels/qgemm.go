package kernels

import (
	"fmt"
	"math"
	"sync"
	"unsafe"
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
	for kk := 0; kk < k && n > 0; kk++ { // n = 0: b may be empty however many rows k says
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
	Trans     bool // store C transposed: element (i, j) at j·Ldc + i (NCHW output of a pixel-major conv GEMM)
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
	rows, cols := m, n
	if o.Trans {
		rows, cols = n, m
	}
	if o.Ldc < cols || size < (rows-1)*o.Ldc+cols {
		return fmt.Errorf("kernels: QGemm: output of %d values with stride %d cannot hold %d×%d", size, o.Ldc, rows, cols)
	}
	if o.I32 == nil && len(o.Scale) != 1 && len(o.Scale) != n {
		return fmt.Errorf("kernels: QGemm: %d scales for %d columns", len(o.Scale), n)
	}
	if o.Bias != nil && len(o.Bias) != n || o.FBias != nil && len(o.FBias) != n {
		return fmt.Errorf("kernels: QGemm: bias length differs from %d columns", n)
	}
	return nil
}

// QPackedA is an M×K uint8 matrix in the layout the micro-kernels read: rows at stride Kp (K rounded up to a
// multiple of 4, the tail zero) and at least RoundUp(M, 8) rows, so a partial last row block reads memory that
// exists (its extra rows are never written out). Callers that build A themselves (QLinearConv's im2col) write
// straight into it and skip QGemm's copy.
type QPackedA struct {
	M, K, Kp int
	Data     []uint8
	// Lda, when set (positive), is the row stride instead of Kp: below Kp rows overlap, so a convolution's A can
	// be read as windows of one buffer (QLinearConv's row-window layout). It need not be a multiple of 4: the
	// kernels load each row's 4-byte groups unaligned, and a row's bytes past K (the next window's) meet B's zero
	// padding rows.
	Lda int
}

// QPackedASize returns Kp and the number of bytes a QPackedA of m rows and k columns needs.
func QPackedASize(m, k int) (kp, size int) {
	kp = (k + qgemmKU - 1) / qgemmKU * qgemmKU
	return kp, (m + qgemmMR - 1) / qgemmMR * qgemmMR * kp
}

// QGemm computes the m×N product of the row-major uint8 matrix a (row stride lda, zero point za: one value or one
// per row) with the packed matrix b and writes it as out describes. Work is split across r.
func QGemm(r Runner, m int, a []uint8, lda int, za []int32, b *QPackedB, out *QOutput) error {
	k := b.K
	if m < 0 || (m > 0 && k > 0 && (lda < k || len(a) < (m-1)*lda+k)) {
		return fmt.Errorf("kernels: QGemm: %d×%d matrix A does not fit %d values with stride %d", m, k, len(a), lda)
	}
	kp, size := QPackedASize(m, k)
	if (lda == kp || k == 0) && len(a) >= size {
		// A already has the kernel's layout (rows at stride kp, room for the last row block), or K = 0 and it
		// is never read: no copy. Bytes past column k in a row meet B's zero padding rows, and rows past m are
		// never stored.
		return QGemmPacked(r, &QPackedA{M: m, K: k, Kp: kp, Data: a}, za, b, out)
	}
	ap := &QPackedA{M: m, K: k, Kp: kp, Data: make([]uint8, size)}
	r.Run((m+qgemmMR-1)/qgemmMR, func(rb int) {
		for i := rb * qgemmMR; i < min(m, (rb+1)*qgemmMR); i++ {
			copy(ap.Data[i*kp:], a[i*lda:i*lda+k])
		}
	})
	return QGemmPacked(r, ap, za, b, out)
}

// QGemmPacked is QGemm with A already in the kernel's layout.
func QGemmPacked(r Runner, a *QPackedA, za []int32, b *QPackedB, out *QOutput) error {
	m, k, n := a.M, b.K, b.N
	if a.K != k || a.Kp != b.kp {
		return fmt.Errorf("kernels: QGemm: A has %d columns (stride %d) but B has %d rows", a.K, a.Kp, k)
	}
	kp, lda := a.Kp, a.Kp
	if a.Lda != 0 {
		lda = a.Lda
	}
	if lda < 0 || lda == 0 && kp > 0 {
		return fmt.Errorf("kernels: QGemm: packed A's row stride %d is not positive", lda)
	}
	if m < 0 || m > 0 && len(a.Data) < ((m+qgemmMR-1)/qgemmMR*qgemmMR-1)*lda+kp {
		return fmt.Errorf("kernels: QGemm: packed A of %d bytes cannot hold %d×%d", len(a.Data), m, k)
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
	// Row sums of A are needed only for the zb·Σa term; symmetric weights (zb = 0, hone's default) skip them.
	var rowSum []int32
	if !b.zbZero {
		rowSum = make([]int32, rowBlocks*qgemmMR)
		r.Run(rowBlocks, func(rb int) {
			for i := rb * qgemmMR; i < min(m, (rb+1)*qgemmMR); i++ {
				var s int32
				for _, v := range a.Data[i*lda : i*lda+k] {
					s += int32(v)
				}
				rowSum[i] = s
			}
		})
	}
	// A task is one B panel times a chunk of row blocks: the panel stays in L1/L2 while the A blocks stream by.
	const blocksPerTask = 8
	chunks := (rowBlocks + blocksPerTask - 1) / blocksPerTask
	micro, rowsK := qmicroFor(qlevel), qmicroRowsFor(qlevel)
	// Full tiles of an int32 row-major output with one A zero point and no row-sum term need nothing but the
	// constant per-column correction: the micro-kernel starts from it and stores straight into C.
	direct := out.I32 != nil && !out.Trans && rowSum == nil && len(za) == 1
	// Float outputs of the same form (MatMulIntegerToFloat) are dequantized by the micro-kernel as it stores them:
	// with K = 128 (BERT's projections) the row epilogue cost as much as the products.
	microF32 := qmicroF32For(qlevel)
	directF32 := microF32 != nil && out.F32 != nil && !out.Trans && rowSum == nil && len(za) == 1
	// So are 8-bit row-major outputs (QLinearMatMul, QGemm): requantized in registers.
	microQ8 := qmicroQ8For(qlevel)
	d8, lo8, hi8 := out.U8, int32(0), int32(255)
	if out.I8 != nil {
		d8, lo8, hi8 = qBytes(out.I8), -128, 127
	}
	directQ8 := microQ8 != nil && d8 != nil && !out.Trans && rowSum == nil && len(za) == 1
	flo8, fhi8 := float32(lo8-out.ZeroPoint), float32(hi8-out.ZeroPoint)
	r.Run(panels*chunks, func(t int) {
		p, ch := t%panels, t/panels
		bp := b.data[p*kp*qgemmNR : (p+1)*kp*qgemmNR]
		j0 := p * qgemmNR
		cols := min(qgemmNR, n-j0)
		// The tile and epilogue state escape through the micro-kernel's function value, so they come from a pool
		// rather than a fresh heap allocation (about 3 KB) per task.
		sc := qtaskPool.Get().(*qtask)
		defer qtaskPool.Put(sc)
		tile, zaRow, e := &sc.tile, &sc.zaRow, &sc.e
		e.init(out, j0, cols)
		// A last panel of 24 or fewer columns (every panel when N = 24, det's common width) runs a kernel
		// that skips the unused lanes; the tile's columns past cols then hold stale values the epilogue drops.
		mk := micro
		if cols < qgemmNR && qnarrowOn {
			if nk, _ := qmicroNarrowFor(qlevel, cols); nk != nil {
				mk = nk
			}
		}
		if direct || directF32 || directQ8 {
			e.setZa(b, out, za[0], j0, cols)
		}
		var fbias []float32
		if out.FBias != nil {
			fbias = e.fbias[:]
		}
		for rb := ch * blocksPerTask; rb < min(rowBlocks, (ch+1)*blocksPerTask); rb++ {
			i0 := rb * qgemmMR
			rows := min(qgemmMR, m-i0)
			if direct && rows == qgemmMR && cols == qgemmNR {
				micro(kp, lda, a.Data[i0*lda:(i0+qgemmMR-1)*lda+kp], bp, out.I32[i0*out.Ldc+j0:], out.Ldc, e.corr[:])
				continue
			}
			if directF32 && rows == qgemmMR && cols == qgemmNR {
				microF32(kp, lda, a.Data[i0*lda:(i0+qgemmMR-1)*lda+kp], bp, out.F32[i0*out.Ldc+j0:], out.Ldc, e.corr[:], e.scale[:], fbias)
				continue
			}
			if directQ8 && rows == qgemmMR && cols == qgemmNR {
				microQ8(kp, lda, a.Data[i0*lda:(i0+qgemmMR-1)*lda+kp], bp, d8[i0*out.Ldc+j0:], out.Ldc, e.corr[:], e.scale[:], flo8, fhi8, out.ZeroPoint)
				continue
			}
			for i := range rows {
				zaRow[i] = za[min(i0+i, len(za)-1)]
			}
			if rows <= 3 {
				// A short last block costs the 8-row kernel a full tile; one row alone costs about a quarter of one
				// (measured on a 4608 × 512 product: 4 rows cost as much as the tile).
				rowsK(rows, kp, lda, a.Data[i0*lda:(i0+rows-1)*lda+kp], bp, tile[:], qgemmNR, qzeroInit[:])
			} else {
				mk(kp, lda, a.Data[i0*lda:(i0+qgemmMR-1)*lda+kp], bp, tile[:], qgemmNR, qzeroInit[:])
			}
			var rs []int32
			if rowSum != nil {
				rs = rowSum[i0 : i0+rows]
			}
			qepilogue(e, out, b, tile[:], rs, zaRow[:rows], i0, j0, cols, int32(k))
		}
	})
	return nil
}

// qnarrowOn enables the narrow micro-kernels for short last panels; benchmarks turn it off to compare.
var qnarrowOn = true

// qtask is one QGemmPacked task's scratch: the micro-kernel's tile, the row zero points and the epilogue state.
type qtask struct {
	tile  [qgemmMR * qgemmNR]int32
	zaRow [qgemmMR]int32
	e     qepi
}

var qtaskPool = sync.Pool{New: func() any { return new(qtask) }}

// qepi is one task's epilogue state for one B panel: the per-column multipliers and the correction
// bias − za·colSum, computed once and recomputed only when the row zero point changes (per tensor: once per task).
type qepi struct {
	scale  [qgemmNR]float32
	corr   [qgemmNR]int32
	haveZa bool
	lastZa int32
	row8   [qgemmNR]uint8
	fbias  [qgemmNR]float32
	tile8  [qgemmNR * qgemmMR]uint8 // a transposed tile of fewer than qgemmNR columns, before its copy out
	tile32 [qgemmNR * qgemmMR]int32 // the same for int32 and float32 (as bits) outputs
}

// qzeroInit starts the micro-kernel's sums at zero for tiles that go through qepilogue.
var qzeroInit [qgemmNR]int32

func (e *qepi) init(out *QOutput, j0, cols int) {
	if out.I32 == nil {
		for j := range cols {
			e.scale[j] = qscale(out.Scale, j0+j)
		}
	}
	if out.FBias != nil {
		copy(e.fbias[:cols], out.FBias[j0:j0+cols])
	}
	e.haveZa = false
}

// setZa computes the correction bias_j − za·colSum_j for the panel's columns starting at j0.
func (e *qepi) setZa(b *QPackedB, out *QOutput, za int32, j0, cols int) {
	e.haveZa, e.lastZa = true, za
	for j, cs := range b.colSum[j0 : j0+cols] {
		e.corr[j] = -za * cs
	}
	if out.Bias != nil {
		for j, v := range out.Bias[j0 : j0+cols] {
			e.corr[j] += v
		}
	}
}

// qepilogue applies the zero-point compensation to one tile of raw sums and writes it out. rowSum is nil when
// every zb is 0. Requantized outputs go through the vectorised row routine into a 32-byte row, which is then
// copied; a full tile with one zero point stored transposed goes through the tile routine instead, which writes
// each column's 8 rows as one 8-byte run (not 8 byte stores a plane apart).
func qepilogue(e *qepi, out *QOutput, b *QPackedB, tile []int32, rowSum, za []int32, i0, j0, cols int, k int32) {
	if rowSum != nil {
		zb := b.zb[j0 : j0+cols]
		for i, zai := range za {
			t := tile[i*qgemmNR : i*qgemmNR+cols]
			for j := range t {
				t[j] += zb[j] * (k*zai - rowSum[i])
			}
		}
	}
	scale, corr, row8 := &e.scale, &e.corr, &e.row8
	lo, hi := int32(0), int32(255)
	d := out.U8
	if out.I8 != nil {
		lo, hi, d = -128, 127, qBytes(out.I8)
	}
	zp := out.ZeroPoint
	flo, fhi := float32(lo-zp), float32(hi-zp)
	if out.Trans && len(za) == qgemmMR && qsame(za) {
		if !e.haveZa || za[0] != e.lastZa {
			e.setZa(b, out, za[0], j0, cols)
		}
		off, rq := j0*out.Ldc+i0, qrequantTileFor(qlevel)
		if d == nil {
			qepilogueTrans32(e, out, tile, off, cols)
			return
		}
		// A full panel or a half (det's 16-channel stem) is stored in place, and at AVX2 any multiple of 8
		// columns (det's 24-channel layers); other widths go through e.tile8.
		if cols == qgemmNR || cols == qgemmNR/2 || (qlevel == qimplAVX2 && cols%8 == 0) {
			rq(tile, corr[:], scale[:], d[off:], out.Ldc, flo, fhi, zp, cols)
			return
		}
		rq(tile, corr[:], scale[:], e.tile8[:], qgemmMR, flo, fhi, zp, qgemmNR)
		// Each column's rows move as one fixed-size array (a single 8-byte move): a copy call per column costs
		// more than the store, and det's 24-channel layers take this path for every tile.
		for j := range cols {
			*(*[qgemmMR]uint8)(d[off+j*out.Ldc:]) = *(*[qgemmMR]uint8)(e.tile8[j*qgemmMR:])
		}
		return
	}
	requant := qrequantFor(qlevel)
	for i := range za {
		t := tile[i*qgemmNR : (i+1)*qgemmNR]
		if zai := za[i]; !e.haveZa || zai != e.lastZa {
			e.setZa(b, out, zai, j0, cols)
		}
		row := i0 + i
		off, step := row*out.Ldc+j0, 1
		if out.Trans {
			off, step = j0*out.Ldc+row, out.Ldc
		}
		switch {
		case out.I32 != nil:
			for j := range cols {
				out.I32[off+j*step] = t[j] + corr[j]
			}
			continue
		case out.F32 != nil && step == 1:
			var fb []float32
			if out.FBias != nil {
				fb = e.fbias[:cols]
			}
			qdequantFor(qlevel)(t, corr[:], scale[:], fb, out.F32[off:off+cols])
			continue
		case out.F32 != nil:
			for j := range cols {
				v := float32(float32(t[j]+corr[j]) * scale[j])
				if out.FBias != nil {
					v += out.FBias[j0+j]
				}
				out.F32[off+j*step] = v
			}
			continue
		}
		requant(t, corr[:], scale[:], row8[:], flo, fhi, zp)
		if step == 1 {
			copy(d[off:off+cols], row8[:cols])
			continue
		}
		_ = d[off+(cols-1)*step]
		for j, v := range row8[:cols] {
			d[off+j*step] = v
		}
	}
}

// qepilogueTrans32 stores a full tile of int32 or float32 results transposed (see qtileTrans32Generic), from
// element offset off; a tile of fewer than qgemmNR columns goes through e.tile32 first.
func qepilogueTrans32(e *qepi, out *QOutput, tile []int32, off, cols int) {
	mode, d := qtileInt, out.I32
	if out.F32 != nil {
		mode, d = qtileFloat, qInt32s(out.F32)
		if out.FBias != nil {
			mode = qtileFloatBias
		}
	}
	tr := qtileTrans32For(qlevel)
	if cols == qgemmNR {
		tr(tile, e.corr[:], e.scale[:], e.fbias[:], d[off:], out.Ldc, mode)
		return
	}
	tr(tile, e.corr[:], e.scale[:], e.fbias[:], e.tile32[:], qgemmMR, mode)
	for j := range cols { // array moves, not copy calls, as in qepilogue
		*(*[qgemmMR]int32)(d[off+j*out.Ldc:]) = *(*[qgemmMR]int32)(e.tile32[j*qgemmMR:])
	}
}

// qsame reports whether every value of s equals the first.
func qsame(s []int32) bool {
	for _, v := range s {
		if v != s[0] {
			return false
		}
	}
	return true
}

// qTranspose8 transposes an 8×8 byte matrix held as 8 little-endian words (byte c of w[r] is element (r, c)):
// swap the off-diagonal 4×4 blocks, then the 2×2 blocks inside each, then single bytes (the recursive block
// transpose, each level done with shifts and masks on whole words).
func qTranspose8(w *[8]uint64) {
	const lo32, m2, m1 = 0x00000000FFFFFFFF, 0x0000FFFF0000FFFF, 0x00FF00FF00FF00FF
	for r := 0; r < 4; r++ {
		a, b := w[r], w[r+4]
		w[r], w[r+4] = a&lo32|b<<32, a>>32|b&^lo32
	}
	for _, r := range [4]int{0, 1, 4, 5} {
		a, b := w[r], w[r+2]
		w[r], w[r+2] = a&m2|(b&m2)<<16, (a>>16)&m2|b&^m2
	}
	for r := 0; r < 8; r += 2 {
		a, b := w[r], w[r+1]
		w[r], w[r+1] = a&m1|(b&m1)<<8, (a>>8)&m1|b&^m1
	}
}

// qBytes views an int8 slice as its bytes (same size and layout), so one requantizing path serves both types.
func qBytes(s []int8) []uint8 {
	if len(s) == 0 {
		return nil
	}
	return unsafe.Slice((*uint8)(unsafe.Pointer(&s[0])), len(s))
}

// qInt32s views a float32 slice as int32 (same size), so the transposing epilogue stores float results as bits.
func qInt32s(s []float32) []int32 {
	if len(s) == 0 {
		return nil
	}
	return unsafe.Slice((*int32)(unsafe.Pointer(&s[0])), len(s))
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
