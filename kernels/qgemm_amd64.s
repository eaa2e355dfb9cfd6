//go:build !purego

#include "textflag.h"

// QVNNI_8X32 is the 8×32 VNNI tile's body: the accumulators Z0–Z15 (row r, columns 0–15 and 16–31 in Z2r,
// Z2r+1) start from the 32 values at AX and take kg (CX) groups of 4 k of the 8 A rows at SI (stride BX) times the
// packed B panel at DI. It uses R9, R11 and Z16–Z25; done is where K = 0 jumps.
#define QVNNI_8X32(loop, done) \
	LEAQ (BX)(BX*2), R9 /* R9 = 3·stride */ \
	LEAQ (SI)(BX*4), R11 /* R11 = row 4 of A */ \
	VMOVDQU32 (AX), Z0 /* accumulator 0 (row 0, columns 0–15) = init 0–15 */ \
	VMOVDQU32 64(AX), Z1 /* accumulator 1 (row 0, columns 16–31) = init 16–31 */ \
	VMOVDQA32 Z0, Z2 /* row 1, columns 0–15 */ \
	VMOVDQA32 Z1, Z3 /* row 1, columns 16–31 */ \
	VMOVDQA32 Z0, Z4 /* row 2, columns 0–15 */ \
	VMOVDQA32 Z1, Z5 /* row 2, columns 16–31 */ \
	VMOVDQA32 Z0, Z6 /* row 3, columns 0–15 */ \
	VMOVDQA32 Z1, Z7 /* row 3, columns 16–31 */ \
	VMOVDQA32 Z0, Z8 /* row 4, columns 0–15 */ \
	VMOVDQA32 Z1, Z9 /* row 4, columns 16–31 */ \
	VMOVDQA32 Z0, Z10 /* row 5, columns 0–15 */ \
	VMOVDQA32 Z1, Z11 /* row 5, columns 16–31 */ \
	VMOVDQA32 Z0, Z12 /* row 6, columns 0–15 */ \
	VMOVDQA32 Z1, Z13 /* row 6, columns 16–31 */ \
	VMOVDQA32 Z0, Z14 /* row 7, columns 0–15 */ \
	VMOVDQA32 Z1, Z15 /* row 7, columns 16–31 */ \
	TESTQ CX, CX /* K = 0: store the starting values */ \
	JZ done \
loop: \
	VMOVDQU32 (DI), Z16 /* B columns 0–15, 4 k each (int8) */ \
	VMOVDQU32 64(DI), Z17 /* B columns 16–31 */ \
	VPBROADCASTD (SI), Z18 /* row 0's 4 uint8 of this group in every lane */ \
	VPBROADCASTD (SI)(BX*1), Z19 /* row 1's 4 uint8 of this group in every lane */ \
	VPBROADCASTD (SI)(BX*2), Z20 /* row 2's 4 uint8 of this group in every lane */ \
	VPBROADCASTD (SI)(R9*1), Z21 /* row 3's 4 uint8 of this group in every lane */ \
	VPBROADCASTD (R11), Z22 /* row 4's 4 uint8 of this group in every lane */ \
	VPBROADCASTD (R11)(BX*1), Z23 /* row 5's 4 uint8 of this group in every lane */ \
	VPBROADCASTD (R11)(BX*2), Z24 /* row 6's 4 uint8 of this group in every lane */ \
	VPBROADCASTD (R11)(R9*1), Z25 /* row 7's 4 uint8 of this group in every lane */ \
	VPDPBUSD Z16, Z18, Z0 /* row 0, columns 0–15 += Σ4 a·b */ \
	VPDPBUSD Z17, Z18, Z1 /* row 0, columns 16–31 */ \
	VPDPBUSD Z16, Z19, Z2 /* row 1, columns 0–15 += Σ4 a·b */ \
	VPDPBUSD Z17, Z19, Z3 /* row 1, columns 16–31 */ \
	VPDPBUSD Z16, Z20, Z4 /* row 2, columns 0–15 += Σ4 a·b */ \
	VPDPBUSD Z17, Z20, Z5 /* row 2, columns 16–31 */ \
	VPDPBUSD Z16, Z21, Z6 /* row 3, columns 0–15 += Σ4 a·b */ \
	VPDPBUSD Z17, Z21, Z7 /* row 3, columns 16–31 */ \
	VPDPBUSD Z16, Z22, Z8 /* row 4, columns 0–15 += Σ4 a·b */ \
	VPDPBUSD Z17, Z22, Z9 /* row 4, columns 16–31 */ \
	VPDPBUSD Z16, Z23, Z10 /* row 5, columns 0–15 += Σ4 a·b */ \
	VPDPBUSD Z17, Z23, Z11 /* row 5, columns 16–31 */ \
	VPDPBUSD Z16, Z24, Z12 /* row 6, columns 0–15 += Σ4 a·b */ \
	VPDPBUSD Z17, Z24, Z13 /* row 6, columns 16–31 */ \
	VPDPBUSD Z16, Z25, Z14 /* row 7, columns 0–15 += Σ4 a·b */ \
	VPDPBUSD Z17, Z25, Z15 /* row 7, columns 16–31 */ \
	ADDQ $4, SI /* next group of A rows 0–3 */ \
	ADDQ $4, R11 /* next group of A rows 4–7 */ \
	ADDQ $128, DI /* next group of B */ \
	DECQ CX /* one group done */ \
	JNZ loop /* until none is left */


// func qgemmKernel8x32VNNI(kg int, a *uint8, kp int, b *int8, c *int32, ldc int, init *int32)
TEXT ·qgemmKernel8x32VNNI(SB), NOSPLIT, $0-56
	MOVQ kg+0(FP), CX                            // CX = groups of 4 k left
	MOVQ a+8(FP), SI                             // SI = row 0 of A at the current group
	MOVQ kp+16(FP), BX                           // BX = A row stride in bytes
	MOVQ b+24(FP), DI                            // DI = packed B panel
	MOVQ c+32(FP), DX                            // DX = row 0 of the 8×32 int32 output
	MOVQ ldc+40(FP), R8                          // R8 = output row stride in int32s …
	SHLQ $2, R8                                  // … in bytes
	MOVQ init+48(FP), AX                         // AX = the 32 starting values shared by every row
	// Fetch the output tile's lines now: an int32 output is usually far from cache, and without this the
	// 16 stores at the end wait for their lines (about a tenth of a 1024³ product's time).
	LEAQ (R8)(R8*2), R9                          // R9 = 3 output rows in bytes
	LEAQ (DX)(R8*4), R10                         // R10 = output row 4
	PREFETCHT0 (DX)                              // row 0, columns 0–15
	PREFETCHT0 64(DX)                            // row 0, columns 16–31
	PREFETCHT0 (DX)(R8*1)                        // row 1, columns 0–15
	PREFETCHT0 64(DX)(R8*1)                      // row 1, columns 16–31
	PREFETCHT0 (DX)(R8*2)                        // row 2, columns 0–15
	PREFETCHT0 64(DX)(R8*2)                      // row 2, columns 16–31
	PREFETCHT0 (DX)(R9*1)                        // row 3, columns 0–15
	PREFETCHT0 64(DX)(R9*1)                      // row 3, columns 16–31
	PREFETCHT0 (R10)                             // row 4, columns 0–15
	PREFETCHT0 64(R10)                           // row 4, columns 16–31
	PREFETCHT0 (R10)(R8*1)                       // row 5, columns 0–15
	PREFETCHT0 64(R10)(R8*1)                     // row 5, columns 16–31
	PREFETCHT0 (R10)(R8*2)                       // row 6, columns 0–15
	PREFETCHT0 64(R10)(R8*2)                     // row 6, columns 16–31
	PREFETCHT0 (R10)(R9*1)                       // row 7, columns 0–15
	PREFETCHT0 64(R10)(R9*1)                     // row 7, columns 16–31
	QVNNI_8X32(vnni_loop, vnni_store)
vnni_store:
	LEAQ (R8)(R8*2), R9                          // R9 = 3 output rows in bytes
	LEAQ (DX)(R8*4), R10                         // R10 = output row 4
	VMOVDQU32 Z0, (DX)                           // row 0, columns 0–15
	VMOVDQU32 Z1, 64(DX)                         // row 0, columns 16–31
	VMOVDQU32 Z2, (DX)(R8*1)                     // row 1, columns 0–15
	VMOVDQU32 Z3, 64(DX)(R8*1)                   // row 1, columns 16–31
	VMOVDQU32 Z4, (DX)(R8*2)                     // row 2, columns 0–15
	VMOVDQU32 Z5, 64(DX)(R8*2)                   // row 2, columns 16–31
	VMOVDQU32 Z6, (DX)(R9*1)                     // row 3, columns 0–15
	VMOVDQU32 Z7, 64(DX)(R9*1)                   // row 3, columns 16–31
	VMOVDQU32 Z8, (R10)                          // row 4, columns 0–15
	VMOVDQU32 Z9, 64(R10)                        // row 4, columns 16–31
	VMOVDQU32 Z10, (R10)(R8*1)                   // row 5, columns 0–15
	VMOVDQU32 Z11, 64(R10)(R8*1)                 // row 5, columns 16–31
	VMOVDQU32 Z12, (R10)(R8*2)                   // row 6, columns 0–15
	VMOVDQU32 Z13, 64(R10)(R8*2)                 // row 6, columns 16–31
	VMOVDQU32 Z14, (R10)(R9*1)                   // row 7, columns 0–15
	VMOVDQU32 Z15, 64(R10)(R9*1)                 // row 7, columns 16–31
	VZEROUPPER                                   // leave no dirty upper state for SSE code
	RET

// func qgemmKernel1x32AVX2(kg int, a *uint8, b *int8, c *int32, init *int32)
TEXT ·qgemmKernel1x32AVX2(SB), NOSPLIT, $0-40
	MOVQ kg+0(FP), CX                            // CX = groups of 4 k left
	MOVQ a+8(FP), SI                             // SI = the A row at the current group
	MOVQ b+16(FP), DI                            // DI = packed B panel
	MOVQ c+24(FP), DX                            // DX = 32 int32 outputs
	MOVQ init+32(FP), R8                         // R8 = 32 starting values (AX is the loop's scratch)
	VPXOR Y0, Y0, Y0                             // acc 0: columns 0–3, two partial sums each
	VPXOR Y1, Y1, Y1                             // acc 1: columns 4–7, two partial sums each
	VPXOR Y2, Y2, Y2                             // acc 2: columns 8–11, two partial sums each
	VPXOR Y3, Y3, Y3                             // acc 3: columns 12–15, two partial sums each
	VPXOR Y4, Y4, Y4                             // acc 4: columns 16–19, two partial sums each
	VPXOR Y5, Y5, Y5                             // acc 5: columns 20–23, two partial sums each
	VPXOR Y6, Y6, Y6                             // acc 6: columns 24–27, two partial sums each
	VPXOR Y7, Y7, Y7                             // acc 7: columns 28–31, two partial sums each
	TESTQ CX, CX                                 // K = 0: store zeros
	JZ avx2_reduce
avx2_loop:
	MOVL (SI), AX                                // the group's 4 uint8 of A
	VMOVD AX, X15
	VPMOVZXBW X15, X15                           // widen to int16 (low 4 used)
	VPBROADCASTQ X15, Y15                        // a0 a1 a2 a3 repeated for 4 columns
	VPMOVSXBW 0(DI), Y8                          // columns 0–3 × 4 k, widened to int16
	VPMADDWD Y15, Y8, Y8                         // pairs a·b summed to int32, exact
	VPADDD Y8, Y0, Y0                            // accumulate
	VPMOVSXBW 16(DI), Y9                         // columns 4–7 × 4 k, widened to int16
	VPMADDWD Y15, Y9, Y9                         // pairs a·b summed to int32, exact
	VPADDD Y9, Y1, Y1                            // accumulate
	VPMOVSXBW 32(DI), Y10                        // columns 8–11 × 4 k, widened to int16
	VPMADDWD Y15, Y10, Y10                       // pairs a·b summed to int32, exact
	VPADDD Y10, Y2, Y2                           // accumulate
	VPMOVSXBW 48(DI), Y11                        // columns 12–15 × 4 k, widened to int16
	VPMADDWD Y15, Y11, Y11                       // pairs a·b summed to int32, exact
	VPADDD Y11, Y3, Y3                           // accumulate
	VPMOVSXBW 64(DI), Y8                         // columns 16–19 × 4 k, widened to int16
	VPMADDWD Y15, Y8, Y8                         // pairs a·b summed to int32, exact
	VPADDD Y8, Y4, Y4                            // accumulate
	VPMOVSXBW 80(DI), Y9                         // columns 20–23 × 4 k, widened to int16
	VPMADDWD Y15, Y9, Y9                         // pairs a·b summed to int32, exact
	VPADDD Y9, Y5, Y5                            // accumulate
	VPMOVSXBW 96(DI), Y10                        // columns 24–27 × 4 k, widened to int16
	VPMADDWD Y15, Y10, Y10                       // pairs a·b summed to int32, exact
	VPADDD Y10, Y6, Y6                           // accumulate
	VPMOVSXBW 112(DI), Y11                       // columns 28–31 × 4 k, widened to int16
	VPMADDWD Y15, Y11, Y11                       // pairs a·b summed to int32, exact
	VPADDD Y11, Y7, Y7                           // accumulate
	ADDQ $4, SI                                  // next group of A
	ADDQ $128, DI                                // next group of B
	DECQ CX
	JNZ avx2_loop
avx2_reduce:
	VPHADDD Y1, Y0, Y0                           // columns 0,1,4,5 | 2,3,6,7
	VPERMQ $0xD8, Y0, Y0                         // reorder qwords to columns 0–7
	VPADDD 0(R8), Y0, Y0                         // + starting values 0–7
	VMOVDQU Y0, 0(DX)                            // store
	VPHADDD Y3, Y2, Y2                           // columns 8,9,12,13 | 10,11,14,15
	VPERMQ $0xD8, Y2, Y2                         // reorder qwords to columns 8–15
	VPADDD 32(R8), Y2, Y2                        // + starting values 8–15
	VMOVDQU Y2, 32(DX)                           // store
	VPHADDD Y5, Y4, Y4                           // columns 16,17,20,21 | 18,19,22,23
	VPERMQ $0xD8, Y4, Y4                         // reorder qwords to columns 16–23
	VPADDD 64(R8), Y4, Y4                        // + starting values 16–23
	VMOVDQU Y4, 64(DX)                           // store
	VPHADDD Y7, Y6, Y6                           // columns 24,25,28,29 | 26,27,30,31
	VPERMQ $0xD8, Y6, Y6                         // reorder qwords to columns 24–31
	VPADDD 96(R8), Y6, Y6                        // + starting values 24–31
	VMOVDQU Y6, 96(DX)                           // store
	VZEROUPPER
	RET

// QVNNI_STORE8 applies the row macro ROW to the tile's 8 rows (Z2r, Z2r+1) at DX, R8 bytes apart, the second half
// of each row half bytes after its first (64 for float32, 16 for bytes). It sets R9 and R10.
#define QVNNI_STORE8(ROW, half) \
	LEAQ (R8)(R8*2), R9 /* R9 = 3 output rows in bytes */ \
	LEAQ (DX)(R8*4), R10 /* R10 = output row 4 */ \
	ROW(Z0, Z1, (DX), half(DX)) \
	ROW(Z2, Z3, (DX)(R8*1), half(DX)(R8*1)) \
	ROW(Z4, Z5, (DX)(R8*2), half(DX)(R8*2)) \
	ROW(Z6, Z7, (DX)(R9*1), half(DX)(R9*1)) \
	ROW(Z8, Z9, (R10), half(R10)) \
	ROW(Z10, Z11, (R10)(R8*1), half(R10)(R8*1)) \
	ROW(Z12, Z13, (R10)(R8*2), half(R10)(R8*2)) \
	ROW(Z14, Z15, (R10)(R9*1), half(R10)(R9*1))

// QVNNI_F32_ROW_NB is QVNNI_F32_ROW without a bias.
#define QVNNI_F32_ROW_NB(lo, hi, dlo, dhi) \
	VCVTDQ2PS lo, lo \
	VCVTDQ2PS hi, hi \
	VMULPS Z26, lo, lo \
	VMULPS Z27, hi, hi \
	VMOVUPS lo, dlo \
	VMOVUPS hi, dhi

// One output row of qgemmKernel8x32F32VNNI: both halves' sums converted, scaled (Z26, Z27) and, with a bias, its
// Z28, Z29 added, the product rounded first as the Go twin does (no FMA), then stored.
#define QVNNI_F32_ROW(lo, hi, dlo, dhi) \
	VCVTDQ2PS lo, lo \
	VCVTDQ2PS hi, hi \
	VMULPS Z26, lo, lo \
	VMULPS Z27, hi, hi \
	VADDPS Z28, lo, lo \
	VADDPS Z29, hi, hi \
	VMOVUPS lo, dlo \
	VMOVUPS hi, dhi

// func qgemmKernel8x32F32VNNI(kg int, a *uint8, kp int, b *int8, c *float32, ldc int, init *int32, scale *float32, fbias *float32)
//
// The 8×32 tile of qgemmKernel8x32VNNI, dequantized as it is stored: c = float32(Σ + init[j])·scale[j] + fbias[j]
// (fbias nil: no addition, so −0 stays −0 as in qdequantRowGeneric).
TEXT ·qgemmKernel8x32F32VNNI(SB), NOSPLIT, $0-72
	MOVQ kg+0(FP), CX                            // CX = groups of 4 k left
	MOVQ a+8(FP), SI                             // SI = row 0 of A at the current group
	MOVQ kp+16(FP), BX                           // BX = A row stride in bytes
	MOVQ b+24(FP), DI                            // DI = packed B panel
	MOVQ init+48(FP), AX                         // AX = the 32 starting values (bias − za·colSum)
	QVNNI_8X32(vnnif_loop, vnnif_store)
vnnif_store:
	MOVQ c+32(FP), DX                            // DX = row 0 of the 8×32 float32 output
	MOVQ ldc+40(FP), R8                          // R8 = output row stride in float32s …
	SHLQ $2, R8                                  // … in bytes
	MOVQ scale+56(FP), AX
	VMOVUPS (AX), Z26                            // multipliers, columns 0–15
	VMOVUPS 64(AX), Z27                          // columns 16–31
	MOVQ fbias+64(FP), AX
	TESTQ AX, AX
	JZ vnnif_nobias
	VMOVUPS (AX), Z28                            // float biases, columns 0–15
	VMOVUPS 64(AX), Z29                          // columns 16–31
	QVNNI_STORE8(QVNNI_F32_ROW, 64)
	VZEROUPPER
	RET
vnnif_nobias:
	QVNNI_STORE8(QVNNI_F32_ROW_NB, 64)
	VZEROUPPER
	RET

// One output row of qgemmKernel8x32Q8VNNI: both halves' sums requantized as qrequantRowAVX512 does (convert,
// scale by Z26/Z27, clamp to Z28/Z29, round half to even, add the zero point Z30) and stored as 16 bytes each.
#define QVNNI_Q8_ROW(lo, hi, dlo, dhi) \
	VCVTDQ2PS lo, lo \
	VCVTDQ2PS hi, hi \
	VMULPS Z26, lo, lo \
	VMULPS Z27, hi, hi \
	VMAXPS Z28, lo, lo \
	VMAXPS Z28, hi, hi \
	VMINPS Z29, lo, lo \
	VMINPS Z29, hi, hi \
	VCVTPS2DQ.RN_SAE lo, lo \
	VCVTPS2DQ.RN_SAE hi, hi \
	VPADDD Z30, lo, lo \
	VPADDD Z30, hi, hi \
	VPMOVDB lo, dlo \
	VPMOVDB hi, dhi

// func qgemmKernel8x32Q8VNNI(kg int, a *uint8, kp int, b *int8, c *uint8, ldc int, init *int32, scale *float32, flo, fhi float32, zp int32)
//
// The 8×32 tile of qgemmKernel8x32VNNI, requantized to 8 bits as it is stored (qrequantRowGeneric on each row):
// c = low byte of roundEven(clamp(float32(Σ + init[j])·scale[j], flo, fhi)) + zp.
TEXT ·qgemmKernel8x32Q8VNNI(SB), NOSPLIT, $0-76
	MOVQ kg+0(FP), CX                            // CX = groups of 4 k left
	MOVQ a+8(FP), SI                             // SI = row 0 of A at the current group
	MOVQ kp+16(FP), BX                           // BX = A row stride in bytes
	MOVQ b+24(FP), DI                            // DI = packed B panel
	MOVQ init+48(FP), AX                         // AX = the 32 starting values (bias − za·colSum)
	QVNNI_8X32(vnniq_loop, vnniq_store)
vnniq_store:
	MOVQ c+32(FP), DX                            // DX = row 0 of the 8×32 byte output
	MOVQ ldc+40(FP), R8                          // R8 = output row stride in bytes
	MOVQ scale+56(FP), AX
	VMOVUPS (AX), Z26                            // multipliers, columns 0–15
	VMOVUPS 64(AX), Z27                          // columns 16–31
	MOVL flo+64(FP), AX                          // lower clamp (lo − zp), float32 bits
	VPBROADCASTD AX, Z28
	MOVL fhi+68(FP), AX                          // upper clamp (hi − zp)
	VPBROADCASTD AX, Z29
	MOVL zp+72(FP), AX                           // zero point
	VPBROADCASTD AX, Z30
	QVNNI_STORE8(QVNNI_Q8_ROW, 16)
	VZEROUPPER
	RET

// func qrequantRowAVX512(t *int32, corr *int32, scale *float32, d *uint8, n int, flo, fhi float32, zp int32)
TEXT ·qrequantRowAVX512(SB), NOSPLIT, $0-52
	MOVQ t+0(FP), SI                             // SI = raw sums
	MOVQ corr+8(FP), R8                          // R8 = per-column correction (bias − za·colSum)
	MOVQ scale+16(FP), R9                        // R9 = per-column multiplier
	MOVQ d+24(FP), DI                            // DI = output bytes
	MOVQ n+32(FP), CX                            // CX = elements, a multiple of 16
	MOVL flo+40(FP), AX                          // lower clamp (lo − zp), float32 bits
	VPBROADCASTD AX, Z28                         // … in every lane
	MOVL fhi+44(FP), AX                          // upper clamp (hi − zp), float32 bits
	VPBROADCASTD AX, Z29                         // … in every lane
	MOVL zp+48(FP), AX                           // zero point
	VPBROADCASTD AX, Z30                         // … in every lane
	SHRQ $4, CX                                  // groups of 16
	JZ rq_done
rq_loop:
	VMOVDQU32 (SI), Z0                           // 16 raw sums
	VPADDD (R8), Z0, Z0                          // + correction
	VCVTDQ2PS Z0, Z0                             // to float32 (exact for |s| < 2²⁴, rounded as float32(s) otherwise)
	VMULPS (R9), Z0, Z0                          // × multiplier
	VMAXPS Z28, Z0, Z0                           // clamp below (operand order keeps the bound if Z0 were NaN)
	VMINPS Z29, Z0, Z0                           // clamp above
	VCVTPS2DQ.RN_SAE Z0, Z0                      // round half to even to int32
	VPADDD Z30, Z0, Z0                           // + zero point: now in [lo, hi]
	VPMOVDB Z0, (DI)                             // low byte of each lane: the uint8 or two's-complement int8
	ADDQ $64, SI                                 // next 16 sums
	ADDQ $64, R8                                 // next 16 corrections
	ADDQ $64, R9                                 // next 16 multipliers
	ADDQ $16, DI                                 // next 16 bytes
	DECQ CX
	JNZ rq_loop
rq_done:
	VZEROUPPER                                   // leave no dirty upper state for SSE code
	RET

// func qdequantRowAVX512(t *int32, corr *int32, scale *float32, fbias *float32, d *float32, n int)
TEXT ·qdequantRowAVX512(SB), NOSPLIT, $0-48
	MOVQ t+0(FP), SI                             // SI = raw sums
	MOVQ corr+8(FP), R8                          // R8 = per-column correction (bias − za·colSum)
	MOVQ scale+16(FP), R9                        // R9 = per-column multiplier
	MOVQ fbias+24(FP), R10                       // R10 = per-column float bias, or nil
	MOVQ d+32(FP), DI                            // DI = float32 output
	MOVQ n+40(FP), CX                            // CX = elements, a multiple of 16
	SHRQ $4, CX                                  // groups of 16
	JZ dq_done
	TESTQ R10, R10                               // a float bias?
	JZ dq_loop
dq_bias_loop:
	VMOVDQU32 (SI), Z0                           // 16 raw sums
	VPADDD (R8), Z0, Z0                          // + correction
	VCVTDQ2PS Z0, Z0                             // to float32 (round to nearest even, as Go converts)
	VMULPS (R9), Z0, Z0                          // × multiplier (rounded before the bias, as the twin does)
	VADDPS (R10), Z0, Z0                         // + float bias
	VMOVUPS Z0, (DI)                             // store 16 floats
	ADDQ $64, SI                                 // next 16 sums
	ADDQ $64, R8                                 // next 16 corrections
	ADDQ $64, R9                                 // next 16 multipliers
	ADDQ $64, R10                                // next 16 biases
	ADDQ $64, DI                                 // next 16 outputs
	DECQ CX
	JNZ dq_bias_loop
	JMP dq_done
dq_loop:
	VMOVDQU32 (SI), Z0                           // 16 raw sums
	VPADDD (R8), Z0, Z0                          // + correction
	VCVTDQ2PS Z0, Z0                             // to float32
	VMULPS (R9), Z0, Z0                          // × multiplier
	VMOVUPS Z0, (DI)                             // store 16 floats
	ADDQ $64, SI                                 // next 16 sums
	ADDQ $64, R8                                 // next 16 corrections
	ADDQ $64, R9                                 // next 16 multipliers
	ADDQ $64, DI                                 // next 16 outputs
	DECQ CX
	JNZ dq_loop
dq_done:
	VZEROUPPER                                   // leave no dirty upper state for SSE code
	RET

// func qrequantTileTransAVX512(t *int32, corr *int32, scale *float32, d *uint8, ldd int, flo, fhi float32, zp int32, halves int)
TEXT ·qrequantTileTransAVX512(SB), NOSPLIT, $0-64
	MOVQ t+0(FP), SI                             // SI = 8×32 raw sums, row stride 128 bytes
	MOVQ corr+8(FP), R8                          // R8 = per-column correction
	MOVQ scale+16(FP), R9                        // R9 = per-column multiplier
	MOVQ d+24(FP), DI                            // DI = column 0's 8 output bytes
	MOVQ ldd+32(FP), BX                          // BX = bytes from one column's run to the next
	MOVL flo+40(FP), AX                          // lower clamp (lo − zp), float32 bits
	VPBROADCASTD AX, Z28                         // … in every lane
	MOVL fhi+44(FP), AX                          // upper clamp (hi − zp), float32 bits
	VPBROADCASTD AX, Z29                         // … in every lane
	MOVL zp+48(FP), AX                           // zero point
	VPBROADCASTD AX, Z30                         // … in every lane
	MOVQ halves+56(FP), CX                       // halves of 16 columns to store (1 or 2)
rt_half:
	VMOVDQU32 (R8), Z20                          // the half's 16 corrections
	VMOVDQU32 (R9), Z22                          // the half's 16 multipliers
	VPADDD 0(SI), Z20, Z8                        // row 0: sums + correction
	VPADDD 128(SI), Z20, Z9                      // row 1
	VPADDD 256(SI), Z20, Z10                     // row 2
	VPADDD 384(SI), Z20, Z11                     // row 3
	VPADDD 512(SI), Z20, Z12                     // row 4
	VPADDD 640(SI), Z20, Z13                     // row 5
	VPADDD 768(SI), Z20, Z14                     // row 6
	VPADDD 896(SI), Z20, Z15                     // row 7
	VCVTDQ2PS Z8, Z8                             // rows to float32, as qrequantRowAVX512 does
	VCVTDQ2PS Z9, Z9                             // row 1
	VCVTDQ2PS Z10, Z10                           // row 2
	VCVTDQ2PS Z11, Z11                           // row 3
	VCVTDQ2PS Z12, Z12                           // row 4
	VCVTDQ2PS Z13, Z13                           // row 5
	VCVTDQ2PS Z14, Z14                           // row 6
	VCVTDQ2PS Z15, Z15                           // row 7
	VMULPS Z22, Z8, Z8                           // × multiplier
	VMULPS Z22, Z9, Z9                           // row 1
	VMULPS Z22, Z10, Z10                         // row 2
	VMULPS Z22, Z11, Z11                         // row 3
	VMULPS Z22, Z12, Z12                         // row 4
	VMULPS Z22, Z13, Z13                         // row 5
	VMULPS Z22, Z14, Z14                         // row 6
	VMULPS Z22, Z15, Z15                         // row 7
	VMAXPS Z28, Z8, Z8                           // clamp below (a NaN becomes the bound, as in the row routine)
	VMAXPS Z28, Z9, Z9                           // row 1
	VMAXPS Z28, Z10, Z10                         // row 2
	VMAXPS Z28, Z11, Z11                         // row 3
	VMAXPS Z28, Z12, Z12                         // row 4
	VMAXPS Z28, Z13, Z13                         // row 5
	VMAXPS Z28, Z14, Z14                         // row 6
	VMAXPS Z28, Z15, Z15                         // row 7
	VMINPS Z29, Z8, Z8                           // clamp above
	VMINPS Z29, Z9, Z9                           // row 1
	VMINPS Z29, Z10, Z10                         // row 2
	VMINPS Z29, Z11, Z11                         // row 3
	VMINPS Z29, Z12, Z12                         // row 4
	VMINPS Z29, Z13, Z13                         // row 5
	VMINPS Z29, Z14, Z14                         // row 6
	VMINPS Z29, Z15, Z15                         // row 7
	VCVTPS2DQ.RN_SAE Z8, Z8                      // round half to even
	VCVTPS2DQ.RN_SAE Z9, Z9                      // row 1
	VCVTPS2DQ.RN_SAE Z10, Z10                    // row 2
	VCVTPS2DQ.RN_SAE Z11, Z11                    // row 3
	VCVTPS2DQ.RN_SAE Z12, Z12                    // row 4
	VCVTPS2DQ.RN_SAE Z13, Z13                    // row 5
	VCVTPS2DQ.RN_SAE Z14, Z14                    // row 6
	VCVTPS2DQ.RN_SAE Z15, Z15                    // row 7
	VPADDD Z30, Z8, Z8                           // + zero point: now in [lo, hi]
	VPADDD Z30, Z9, Z9                           // row 1
	VPADDD Z30, Z10, Z10                         // row 2
	VPADDD Z30, Z11, Z11                         // row 3
	VPADDD Z30, Z12, Z12                         // row 4
	VPADDD Z30, Z13, Z13                         // row 5
	VPADDD Z30, Z14, Z14                         // row 6
	VPADDD Z30, Z15, Z15                         // row 7
	VPMOVDB Z8, X0                               // row 0's 16 bytes (low byte of each lane)
	VPMOVDB Z9, X1                               // row 1
	VPMOVDB Z10, X2                              // row 2
	VPMOVDB Z11, X3                              // row 3
	VPMOVDB Z12, X4                              // row 4
	VPMOVDB Z13, X5                              // row 5
	VPMOVDB Z14, X6                              // row 6
	VPMOVDB Z15, X7                              // row 7
	VPUNPCKLBW X1, X0, X8                        // columns 0–7, rows 0,1 interleaved (a 16-bit pair per column)
	VPUNPCKHBW X1, X0, X9                        // columns 8–15, rows 0,1
	VPUNPCKLBW X3, X2, X10                       // columns 0–7, rows 2,3
	VPUNPCKHBW X3, X2, X11                       // columns 8–15, rows 2,3
	VPUNPCKLBW X5, X4, X12                       // columns 0–7, rows 4,5
	VPUNPCKHBW X5, X4, X13                       // columns 8–15, rows 4,5
	VPUNPCKLBW X7, X6, X14                       // columns 0–7, rows 6,7
	VPUNPCKHBW X7, X6, X15                       // columns 8–15, rows 6,7
	VPUNPCKLWD X10, X8, X0                       // columns 0–3, rows 0–3 (a 32-bit run per column)
	VPUNPCKHWD X10, X8, X1                       // columns 4–7, rows 0–3
	VPUNPCKLWD X11, X9, X2                       // columns 8–11, rows 0–3
	VPUNPCKHWD X11, X9, X3                       // columns 12–15, rows 0–3
	VPUNPCKLWD X14, X12, X4                      // columns 0–3, rows 4–7
	VPUNPCKHWD X14, X12, X5                      // columns 4–7, rows 4–7
	VPUNPCKLWD X15, X13, X6                      // columns 8–11, rows 4–7
	VPUNPCKHWD X15, X13, X7                      // columns 12–15, rows 4–7
	VPUNPCKLDQ X4, X0, X8                        // columns 0,1, rows 0–7 (a 64-bit run per column)
	VPUNPCKHDQ X4, X0, X9                        // columns 2,3
	VPUNPCKLDQ X5, X1, X10                       // columns 4,5
	VPUNPCKHDQ X5, X1, X11                       // columns 6,7
	VPUNPCKLDQ X6, X2, X12                       // columns 8,9
	VPUNPCKHDQ X6, X2, X13                       // columns 10,11
	VPUNPCKLDQ X7, X3, X14                       // columns 12,13
	VPUNPCKHDQ X7, X3, X15                       // columns 14,15
	VMOVQ X8, (DI)                               // column 0's 8 rows
	VPEXTRQ $1, X8, (DI)(BX*1)                   // column 1
	LEAQ (DI)(BX*2), DI                          // two columns on
	VMOVQ X9, (DI)                               // column 2
	VPEXTRQ $1, X9, (DI)(BX*1)                   // column 3
	LEAQ (DI)(BX*2), DI                          // two columns on
	VMOVQ X10, (DI)                              // column 4
	VPEXTRQ $1, X10, (DI)(BX*1)                  // column 5
	LEAQ (DI)(BX*2), DI                          // two columns on
	VMOVQ X11, (DI)                              // column 6
	VPEXTRQ $1, X11, (DI)(BX*1)                  // column 7
	LEAQ (DI)(BX*2), DI                          // two columns on
	VMOVQ X12, (DI)                              // column 8
	VPEXTRQ $1, X12, (DI)(BX*1)                  // column 9
	LEAQ (DI)(BX*2), DI                          // two columns on
	VMOVQ X13, (DI)                              // column 10
	VPEXTRQ $1, X13, (DI)(BX*1)                  // column 11
	LEAQ (DI)(BX*2), DI                          // two columns on
	VMOVQ X14, (DI)                              // column 12
	VPEXTRQ $1, X14, (DI)(BX*1)                  // column 13
	LEAQ (DI)(BX*2), DI                          // two columns on
	VMOVQ X15, (DI)                              // column 14
	VPEXTRQ $1, X15, (DI)(BX*1)                  // column 15
	LEAQ (DI)(BX*2), DI                          // the next half's column 0
	ADDQ $64, SI                                 // the next 16 columns of sums
	ADDQ $64, R8                                 // … of corrections
	ADDQ $64, R9                                 // … of multipliers
	DECQ CX                                      // one half done
	JNZ rt_half                                  // until none is left
	VZEROUPPER                                   // leave no dirty upper state for SSE code
	RET

// func qtileTrans32AVX512(t *int32, corr *int32, scale *float32, fbias *float32, d *int32, ldd int, mode int)
TEXT ·qtileTrans32AVX512(SB), NOSPLIT, $0-56
	MOVQ t+0(FP), SI                             // SI = 8×32 raw sums, row stride 128 bytes
	MOVQ corr+8(FP), R8                          // R8 = per-column correction
	MOVQ scale+16(FP), R9                        // R9 = per-column multiplier (modes 1, 2)
	MOVQ fbias+24(FP), R10                       // R10 = per-column float bias (mode 2)
	MOVQ d+32(FP), AX                            // AX = column 0's 8 output values
	MOVQ ldd+40(FP), BX                          // BX = elements from one column's run to the next …
	SHLQ $2, BX                                  // … in bytes
	MOVQ mode+48(FP), DX                         // DX = 0: int32, 1: float32, 2: float32 plus bias
	MOVQ $2, CX                                  // two halves of 16 columns
t32_half:
	VMOVDQU32 (R8), Z20                          // the half's 16 corrections
	VPADDD 0(SI), Z20, Z0                        // row 0: sums + correction
	VPADDD 128(SI), Z20, Z1                      // row 1: sums + correction
	VPADDD 256(SI), Z20, Z2                      // row 2: sums + correction
	VPADDD 384(SI), Z20, Z3                      // row 3: sums + correction
	VPADDD 512(SI), Z20, Z4                      // row 4: sums + correction
	VPADDD 640(SI), Z20, Z5                      // row 5: sums + correction
	VPADDD 768(SI), Z20, Z6                      // row 6: sums + correction
	VPADDD 896(SI), Z20, Z7                      // row 7: sums + correction
	TESTQ DX, DX                                 // mode 0?
	JZ t32_transpose                             // int32 output: done
	VMOVUPS (R9), Z21                            // the half's 16 multipliers
	VCVTDQ2PS Z0, Z0                             // row 0 to float32 (round to nearest even, as Go converts)
	VCVTDQ2PS Z1, Z1                             // row 1 to float32 (round to nearest even, as Go converts)
	VCVTDQ2PS Z2, Z2                             // row 2 to float32 (round to nearest even, as Go converts)
	VCVTDQ2PS Z3, Z3                             // row 3 to float32 (round to nearest even, as Go converts)
	VCVTDQ2PS Z4, Z4                             // row 4 to float32 (round to nearest even, as Go converts)
	VCVTDQ2PS Z5, Z5                             // row 5 to float32 (round to nearest even, as Go converts)
	VCVTDQ2PS Z6, Z6                             // row 6 to float32 (round to nearest even, as Go converts)
	VCVTDQ2PS Z7, Z7                             // row 7 to float32 (round to nearest even, as Go converts)
	VMULPS Z21, Z0, Z0                           // row 0 × multiplier
	VMULPS Z21, Z1, Z1                           // row 1 × multiplier
	VMULPS Z21, Z2, Z2                           // row 2 × multiplier
	VMULPS Z21, Z3, Z3                           // row 3 × multiplier
	VMULPS Z21, Z4, Z4                           // row 4 × multiplier
	VMULPS Z21, Z5, Z5                           // row 5 × multiplier
	VMULPS Z21, Z6, Z6                           // row 6 × multiplier
	VMULPS Z21, Z7, Z7                           // row 7 × multiplier
	CMPQ DX, $2                                  // mode 2?
	JNE t32_transpose                            // no float bias
	VMOVUPS (R10), Z22                           // the half's 16 float biases
	VADDPS Z22, Z0, Z0                           // row 0 + bias
	VADDPS Z22, Z1, Z1                           // row 1 + bias
	VADDPS Z22, Z2, Z2                           // row 2 + bias
	VADDPS Z22, Z3, Z3                           // row 3 + bias
	VADDPS Z22, Z4, Z4                           // row 4 + bias
	VADDPS Z22, Z5, Z5                           // row 5 + bias
	VADDPS Z22, Z6, Z6                           // row 6 + bias
	VADDPS Z22, Z7, Z7                           // row 7 + bias
t32_transpose:
	VPUNPCKLDQ Z1, Z0, Z8                        // rows 0,1 paired, columns 0,1 of each lane
	VPUNPCKHDQ Z1, Z0, Z9                        // columns 2,3 of each lane
	VPUNPCKLDQ Z3, Z2, Z10                       // rows 2,3 paired, columns 0,1 of each lane
	VPUNPCKHDQ Z3, Z2, Z11                       // columns 2,3 of each lane
	VPUNPCKLDQ Z5, Z4, Z12                       // rows 4,5 paired, columns 0,1 of each lane
	VPUNPCKHDQ Z5, Z4, Z13                       // columns 2,3 of each lane
	VPUNPCKLDQ Z7, Z6, Z14                       // rows 6,7 paired, columns 0,1 of each lane
	VPUNPCKHDQ Z7, Z6, Z15                       // columns 2,3 of each lane
	VPUNPCKLQDQ Z10, Z8, Z24                     // rows 0–3 of column 0 of each lane
	VPUNPCKHQDQ Z10, Z8, Z25                     // rows 0–3 of column 1 of each lane
	VPUNPCKLQDQ Z11, Z9, Z26                     // rows 0–3 of column 2 of each lane
	VPUNPCKHQDQ Z11, Z9, Z27                     // rows 0–3 of column 3 of each lane
	VPUNPCKLQDQ Z14, Z12, Z28                    // rows 4–7 of column 0 of each lane
	VPUNPCKHQDQ Z14, Z12, Z29                    // rows 4–7 of column 1 of each lane
	VPUNPCKLQDQ Z15, Z13, Z30                    // rows 4–7 of column 2 of each lane
	VPUNPCKHQDQ Z15, Z13, Z31                    // rows 4–7 of column 3 of each lane
	VEXTRACTI32X4 $0, Z24, (AX)                  // column 0, rows 0–3
	VEXTRACTI32X4 $0, Z28, 16(AX)                // column 0, rows 4–7
	ADDQ BX, AX                                  // next column
	VEXTRACTI32X4 $0, Z25, (AX)                  // column 1, rows 0–3
	VEXTRACTI32X4 $0, Z29, 16(AX)                // column 1, rows 4–7
	ADDQ BX, AX                                  // next column
	VEXTRACTI32X4 $0, Z26, (AX)                  // column 2, rows 0–3
	VEXTRACTI32X4 $0, Z30, 16(AX)                // column 2, rows 4–7
	ADDQ BX, AX                                  // next column
	VEXTRACTI32X4 $0, Z27, (AX)                  // column 3, rows 0–3
	VEXTRACTI32X4 $0, Z31, 16(AX)                // column 3, rows 4–7
	ADDQ BX, AX                                  // next column
	VEXTRACTI32X4 $1, Z24, (AX)                  // column 4, rows 0–3
	VEXTRACTI32X4 $1, Z28, 16(AX)                // column 4, rows 4–7
	ADDQ BX, AX                                  // next column
	VEXTRACTI32X4 $1, Z25, (AX)                  // column 5, rows 0–3
	VEXTRACTI32X4 $1, Z29, 16(AX)                // column 5, rows 4–7
	ADDQ BX, AX                                  // next column
	VEXTRACTI32X4 $1, Z26, (AX)                  // column 6, rows 0–3
	VEXTRACTI32X4 $1, Z30, 16(AX)                // column 6, rows 4–7
	ADDQ BX, AX                                  // next column
	VEXTRACTI32X4 $1, Z27, (AX)                  // column 7, rows 0–3
	VEXTRACTI32X4 $1, Z31, 16(AX)                // column 7, rows 4–7
	ADDQ BX, AX                                  // next column
	VEXTRACTI32X4 $2, Z24, (AX)                  // column 8, rows 0–3
	VEXTRACTI32X4 $2, Z28, 16(AX)                // column 8, rows 4–7
	ADDQ BX, AX                                  // next column
	VEXTRACTI32X4 $2, Z25, (AX)                  // column 9, rows 0–3
	VEXTRACTI32X4 $2, Z29, 16(AX)                // column 9, rows 4–7
	ADDQ BX, AX                                  // next column
	VEXTRACTI32X4 $2, Z26, (AX)                  // column 10, rows 0–3
	VEXTRACTI32X4 $2, Z30, 16(AX)                // column 10, rows 4–7
	ADDQ BX, AX                                  // next column
	VEXTRACTI32X4 $2, Z27, (AX)                  // column 11, rows 0–3
	VEXTRACTI32X4 $2, Z31, 16(AX)                // column 11, rows 4–7
	ADDQ BX, AX                                  // next column
	VEXTRACTI32X4 $3, Z24, (AX)                  // column 12, rows 0–3
	VEXTRACTI32X4 $3, Z28, 16(AX)                // column 12, rows 4–7
	ADDQ BX, AX                                  // next column
	VEXTRACTI32X4 $3, Z25, (AX)                  // column 13, rows 0–3
	VEXTRACTI32X4 $3, Z29, 16(AX)                // column 13, rows 4–7
	ADDQ BX, AX                                  // next column
	VEXTRACTI32X4 $3, Z26, (AX)                  // column 14, rows 0–3
	VEXTRACTI32X4 $3, Z30, 16(AX)                // column 14, rows 4–7
	ADDQ BX, AX                                  // next column
	VEXTRACTI32X4 $3, Z27, (AX)                  // column 15, rows 0–3
	VEXTRACTI32X4 $3, Z31, 16(AX)                // column 15, rows 4–7
	ADDQ BX, AX                                  // next column
	ADDQ $64, SI                                 // the next 16 columns of sums
	ADDQ $64, R8                                 // … of corrections
	ADDQ $64, R9                                 // … of multipliers
	ADDQ $64, R10                                // … of float biases
	DECQ CX                                      // one half done
	JNZ t32_half                                 // until none is left
	VZEROUPPER                                   // leave no dirty upper state for SSE code
	RET

// func qgemmKernel1x32VNNI(kg int, a *uint8, b *int8, c *int32, init *int32)
TEXT ·qgemmKernel1x32VNNI(SB), NOSPLIT, $0-40
	MOVQ kg+0(FP), CX                            // CX = groups of 4 k left
	MOVQ a+8(FP), SI                             // SI = the A row at the current group
	MOVQ b+16(FP), DI                            // DI = packed B panel
	MOVQ c+24(FP), DX                            // DX = 32 int32 outputs
	MOVQ init+32(FP), R8                         // R8 = 32 starting values
	// One row has too little work to hide VPDPBUSD's latency on two accumulators: four pairs take the groups
	// in turn and are summed at the end.
	VPXORD Z0, Z0, Z0                            // groups 0 mod 4, columns 0–15
	VPXORD Z1, Z1, Z1                            // groups 0 mod 4, columns 16–31
	VPXORD Z2, Z2, Z2                            // groups 1 mod 4, columns 0–15
	VPXORD Z3, Z3, Z3                            // groups 1 mod 4, columns 16–31
	VPXORD Z4, Z4, Z4                            // groups 2 mod 4, columns 0–15
	VPXORD Z5, Z5, Z5                            // groups 2 mod 4, columns 16–31
	VPXORD Z6, Z6, Z6                            // groups 3 mod 4, columns 0–15
	VPXORD Z7, Z7, Z7                            // groups 3 mod 4, columns 16–31
	CMPQ CX, $4
	JB vnni1_tail
vnni1_loop4:
	VPBROADCASTD (SI), Z8                        // group 0's 4 uint8 of A in every lane
	VPBROADCASTD 4(SI), Z9                       // group 1's
	VPBROADCASTD 8(SI), Z10                      // group 2's
	VPBROADCASTD 12(SI), Z11                     // group 3's
	VPDPBUSD (DI), Z8, Z0                        // columns 0–15 += Σ4 a·b (B from memory)
	VPDPBUSD 64(DI), Z8, Z1                      // columns 16–31
	VPDPBUSD 128(DI), Z9, Z2                     // group 1, columns 0–15
	VPDPBUSD 192(DI), Z9, Z3                     // group 1, columns 16–31
	VPDPBUSD 256(DI), Z10, Z4                    // group 2, columns 0–15
	VPDPBUSD 320(DI), Z10, Z5                    // group 2, columns 16–31
	VPDPBUSD 384(DI), Z11, Z6                    // group 3, columns 0–15
	VPDPBUSD 448(DI), Z11, Z7                    // group 3, columns 16–31
	ADDQ $16, SI                                 // next 4 groups of A
	ADDQ $512, DI                                // next 4 groups of B
	SUBQ $4, CX
	CMPQ CX, $4
	JAE vnni1_loop4
vnni1_tail:
	TESTQ CX, CX
	JZ vnni1_sum
vnni1_loop1:
	VPBROADCASTD (SI), Z8                        // the group's 4 uint8 of A
	VPDPBUSD (DI), Z8, Z0                        // columns 0–15
	VPDPBUSD 64(DI), Z8, Z1                      // columns 16–31
	ADDQ $4, SI
	ADDQ $128, DI
	DECQ CX
	JNZ vnni1_loop1
vnni1_sum:
	VPADDD Z2, Z0, Z0                            // the four partial sums of columns 0–15 …
	VPADDD Z6, Z4, Z4
	VPADDD Z4, Z0, Z0
	VPADDD (R8), Z0, Z0                          // … plus the starting values
	VPADDD Z3, Z1, Z1                            // the same for columns 16–31
	VPADDD Z7, Z5, Z5
	VPADDD Z5, Z1, Z1
	VPADDD 64(R8), Z1, Z1
	VMOVDQU32 Z0, (DX)
	VMOVDQU32 Z1, 64(DX)
	VZEROUPPER
	RET
