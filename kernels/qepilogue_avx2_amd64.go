//go:build !purego

package kernels

// The integer GEMM's epilogues for AVX2 machines without AVX-512 (Zen 2/3, Haswell to Skylake client): the same
// float32 operations as the Go twins in the same order (no FMA: the twins round the product before the bias), so
// every result is bit-identical to them.

// qrequantRowAVX2 is qrequantRowGeneric over n elements (a multiple of 8) with AVX2, 32 elements per step and
// then 8.
//
//go:noescape
func qrequantRowAVX2(t *int32, corr *int32, scale *float32, d *uint8, n int, flo, fhi float32, zp int32)

// qdequantRowAVX2 is qdequantRowGeneric over n elements (a multiple of 8) with AVX2; fbias may be nil.
//
//go:noescape
func qdequantRowAVX2(t *int32, corr *int32, scale *float32, fbias *float32, d *float32, n int)

// qrequantTileTransAVX2 is qrequantTileTransGeneric for the tile's first 8·blocks columns with AVX2: each block
// of 8 columns is requantized on all 8 rows, packed to bytes and transposed so each column's 8 rows leave as
// one 8-byte store.
//
//go:noescape
func qrequantTileTransAVX2(t *int32, corr *int32, scale *float32, d *uint8, ldd int, flo, fhi float32, zp int32, blocks int)

// qtileTrans32AVX2 is qtileTrans32Generic with AVX2: every column's 8 rows leave as one 32-byte store.
//
//go:noescape
func qtileTrans32AVX2(t *int32, corr *int32, scale *float32, fbias *float32, d *int32, ldd int, mode int)

// qrequantRowVecAVX2 runs qrequantRowAVX2 on the multiple-of-8 prefix of d and the twin on the rest.
func qrequantRowVecAVX2(t, corr []int32, scale []float32, d []uint8, flo, fhi float32, zp int32) {
	qrequantRowWith(qrequantRowAVX2, 8, t, corr, scale, d, flo, fhi, zp)
}

// qdequantRowVecAVX2 runs qdequantRowAVX2 on the multiple-of-8 prefix of d and the twin on the rest.
func qdequantRowVecAVX2(t, corr []int32, scale, fbias, d []float32) {
	qdequantRowWith(qdequantRowAVX2, 8, t, corr, scale, fbias, d)
}

// qrequantTileTransVecAVX2 runs qrequantTileTransAVX2 when cols is a whole number of 8-column blocks and the twin
// otherwise.
func qrequantTileTransVecAVX2(t, corr []int32, scale []float32, d []uint8, ldd int, flo, fhi float32, zp int32, cols int) {
	if cols <= 0 || cols > qgemmNR || cols%8 != 0 {
		qrequantTileTransGeneric(t, corr, scale, d, ldd, flo, fhi, zp, cols)
		return
	}
	_, _, _, _ = t[qgemmMR*qgemmNR-1], corr[cols-1], scale[cols-1], d[(cols-1)*ldd+qgemmMR-1]
	qrequantTileTransAVX2(&t[0], &corr[0], &scale[0], &d[0], ldd, flo, fhi, zp, cols/8)
}

// qtileTrans32VecAVX2 runs qtileTrans32AVX2 after checking that every slice covers the whole tile.
func qtileTrans32VecAVX2(t, corr []int32, scale, fbias []float32, d []int32, ldd int, mode qtileMode) {
	_, _, _, _, _ = t[qgemmMR*qgemmNR-1], corr[qgemmNR-1], scale[qgemmNR-1], fbias[qgemmNR-1], d[(qgemmNR-1)*ldd+qgemmMR-1]
	qtileTrans32AVX2(&t[0], &corr[0], &scale[0], &fbias[0], &d[0], ldd, int(mode))
}
