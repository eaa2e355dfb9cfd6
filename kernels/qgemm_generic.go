package kernels

import "math"

// qmicroGeneric is the pure-Go twin of the integer micro-kernels: for the qgemmMR rows of a (kp columns, kp a
// multiple of 4, rows lda ≥ kp bytes apart) and one packed panel b (see QPackedB) it sets, for j < qgemmNR,
//
//	c[i*ldc+j] = init[j] + Σ_{k<kp} a[i*lda+k]·b[k/4*128+j*4+k%4]
//
// init carries the zero-point correction when the tile goes straight to an int32 output, zeros otherwise.
func qmicroGeneric(kp, lda int, a []uint8, b []int8, c []int32, ldc int, init []int32) {
	qmicroGenericN(qgemmNR, kp, lda, a, b, c, ldc, init)
}

// qmicroGenericN is qmicroGeneric for the panel's first w columns only (the twin of the narrow kernels): c's
// columns w and up are left as they were.
func qmicroGenericN(w, kp, lda int, a []uint8, b []int8, c []int32, ldc int, init []int32) {
	qmicroGenericRW(qgemmMR, w, kp, lda, a, b, c, ldc, init)
}

// qmicroF32Generic is the twin of the dequantizing micro-kernels: the full tile's sums from init, each row then
// dequantized as qdequantRowGeneric does (fbias nil: no addition).
func qmicroF32Generic(kp, lda int, a []uint8, b []int8, c []float32, ldc int, init []int32, scale, fbias []float32) {
	var t [qgemmMR * qgemmNR]int32
	var zero [qgemmNR]int32
	qmicroGeneric(kp, lda, a, b, t[:], qgemmNR, init)
	for i := range qgemmMR {
		qdequantRowGeneric(t[i*qgemmNR:(i+1)*qgemmNR], zero[:], scale, fbias, c[i*ldc:i*ldc+qgemmNR])
	}
}

// qmicroQ8Generic is the twin of the requantizing micro-kernels: the full tile's sums from init, each row then
// requantized as qrequantRowGeneric does.
func qmicroQ8Generic(kp, lda int, a []uint8, b []int8, c []uint8, ldc int, init []int32, scale []float32, flo, fhi float32, zp int32) {
	var t [qgemmMR * qgemmNR]int32
	var zero [qgemmNR]int32
	qmicroGeneric(kp, lda, a, b, t[:], qgemmNR, init)
	for i := range qgemmMR {
		qrequantRowGeneric(t[i*qgemmNR:(i+1)*qgemmNR], zero[:], scale, c[i*ldc:i*ldc+qgemmNR], flo, fhi, zp)
	}
}

// qmicroGenericRows is qmicroGeneric for the first rows < qgemmMR rows of a only (the twin of the one-row kernels
// QGemmPacked runs on a short last row block): c's rows rows and up are left as they were.
func qmicroGenericRows(rows, kp, lda int, a []uint8, b []int8, c []int32, ldc int, init []int32) {
	qmicroGenericRW(rows, qgemmNR, kp, lda, a, b, c, ldc, init)
}

// qmicroGenericRW computes the first rows rows and w columns of the tile.
func qmicroGenericRW(rows, w, kp, lda int, a []uint8, b []int8, c []int32, ldc int, init []int32) {
	if rows <= 0 {
		return
	}
	_, _ = c[(rows-1)*ldc+w-1], init[w-1]
	for i := 0; i < rows; i++ {
		copy(c[i*ldc:i*ldc+w], init[:w])
	}
	for g := 0; g < kp/qgemmKU; g++ {
		bg := b[g*qgemmNR*qgemmKU : (g+1)*qgemmNR*qgemmKU]
		for i := 0; i < rows; i++ {
			a4 := a[i*lda+g*qgemmKU : i*lda+g*qgemmKU+4]
			a0, a1, a2, a3 := int32(a4[0]), int32(a4[1]), int32(a4[2]), int32(a4[3])
			ci := c[i*ldc : i*ldc+w]
			for j := range ci {
				b4 := bg[j*4 : j*4+4]
				ci[j] += a0*int32(b4[0]) + a1*int32(b4[1]) + a2*int32(b4[2]) + a3*int32(b4[3])
			}
		}
	}
}

// qrequantRowGeneric is the pure-Go twin of the requantizing epilogue: for j < n,
// d[j] = byte(roundHalfEven(clamp(float32(t[j]+corr[j])·scale[j], flo, fhi)) + zp), where flo = lo − zp and
// fhi = hi − zp are the output range moved by the zero point, so the sum lies in [lo, hi] and its low byte is
// the uint8 value or the two's-complement int8 one. The rounding adds and subtracts 1.5·2²³: float32 addition
// rounds half to even, and after the clamp |f| ≤ 383 is far inside the range where that trick is exact.
func qrequantRowGeneric(t, corr []int32, scale []float32, d []uint8, flo, fhi float32, zp int32) {
	n := len(d)
	t, corr, scale = t[:n], corr[:n], scale[:n]
	for j := range d {
		d[j] = qrequant1(t[j]+corr[j], scale[j], flo, fhi, zp)
	}
}

// qrequant1 is one element of qrequantRowGeneric: the low byte of clamp(float32(s)·scale, flo, fhi) rounded half
// to even, plus zp.
func qrequant1(s int32, scale, flo, fhi float32, zp int32) uint8 {
	const magic = 12582912 // 1.5·2²³
	f := float32(s) * scale
	// The clamps are written as MAXPS/MINPS compute them, so a NaN (only from a NaN or infinite scale) becomes
	// flo in both implementations.
	if !(f > flo) {
		f = flo
	}
	if !(f < fhi) {
		f = fhi
	}
	return uint8(int32((f+magic)-magic) + zp)
}

// qdequantRowGeneric is the pure-Go twin of the float32 row epilogue: d[j] = float32(t[j] + corr[j])·scale[j]
// (+ fbias[j] when fbias is not nil), the product rounded to float32 before the bias is added, as the vector code
// does (no fused multiply-add).
func qdequantRowGeneric(t, corr []int32, scale, fbias, d []float32) {
	n := len(d)
	t, corr, scale = t[:n], corr[:n], scale[:n]
	if fbias == nil {
		for j := range d {
			d[j] = float32(t[j]+corr[j]) * scale[j]
		}
		return
	}
	fbias = fbias[:n]
	for j := range d {
		d[j] = float32(float32(t[j]+corr[j])*scale[j]) + fbias[j]
	}
}

// qrequantTileTransGeneric is the pure-Go twin of the transposing tile epilogue: it requantizes the qgemmMR×qgemmNR
// tile t (row-major) as qrequantRowGeneric does each row and stores it transposed, row i of column j at
// d[j*ldd+i], so every column's qgemmMR rows land as one run (a channel's pixels in an NCHW output).
func qrequantTileTransGeneric(t, corr []int32, scale []float32, d []uint8, ldd int, flo, fhi float32, zp int32, cols int) {
	_ = d[(cols-1)*ldd+qgemmMR-1]
	var row [qgemmNR]uint8
	for i := range qgemmMR {
		qrequantRowGeneric(t[i*qgemmNR:i*qgemmNR+cols], corr, scale, row[:cols], flo, fhi, zp)
		for j, v := range row[:cols] {
			d[j*ldd+i] = v
		}
	}
}

// qtileMode says what the 32-bit transposing epilogue stores.
type qtileMode int

const (
	qtileInt       qtileMode = iota // int32 t + corr
	qtileFloat                      // float32(t + corr)·scale, as float32 bits
	qtileFloatBias                  // float32(t + corr)·scale + fbias, as float32 bits
)

// qtileTrans32Generic is the pure-Go twin of the transposing int32/float32 tile epilogue: for each element of
// the qgemmMR×qgemmNR tile t it computes the value mode names and stores it at d[j*ldd+i] (row i of column j),
// so every column's qgemmMR rows land as one run. Float results are stored as their bits (d views the float32
// output); the explicit float32 conversions keep the product rounded before the bias is added, as the vector
// code does.
func qtileTrans32Generic(t, corr []int32, scale, fbias []float32, d []int32, ldd int, mode qtileMode) {
	_ = d[(qgemmNR-1)*ldd+qgemmMR-1]
	for i := range qgemmMR {
		for j, v := range t[i*qgemmNR : (i+1)*qgemmNR] {
			s := v + corr[j]
			if mode != qtileInt {
				f := float32(float32(s) * scale[j])
				if mode == qtileFloatBias {
					f += fbias[j]
				}
				s = int32(math.Float32bits(f))
			}
			d[j*ldd+i] = s
		}
	}
}
