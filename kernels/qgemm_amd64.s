//go:build !purego

#include "textflag.h"

// func qgemmKernel8x32VNNI(kg int, a *uint8, kp int, b *int8, c *int32)
TEXT ·qgemmKernel8x32VNNI(SB), NOSPLIT, $0-40
	MOVQ kg+0(FP), CX                            // CX = groups of 4 k left
	MOVQ a+8(FP), SI                             // SI = row 0 of A at the current group
	MOVQ kp+16(FP), BX                           // BX = A row stride in bytes
	MOVQ b+24(FP), DI                            // DI = packed B panel
	MOVQ c+32(FP), DX                            // DX = 8×32 int32 tile
	LEAQ (BX)(BX*2), R9                          // R9 = 3·stride
	LEAQ (SI)(BX*4), R11                         // R11 = row 4 of A
	VPXORD Z0, Z0, Z0                            // zero accumulator 0 (row 0, columns 0–15)
	VPXORD Z1, Z1, Z1                            // zero accumulator 1 (row 0, columns 16–31)
	VPXORD Z2, Z2, Z2                            // zero accumulator 2 (row 1, columns 0–15)
	VPXORD Z3, Z3, Z3                            // zero accumulator 3 (row 1, columns 16–31)
	VPXORD Z4, Z4, Z4                            // zero accumulator 4 (row 2, columns 0–15)
	VPXORD Z5, Z5, Z5                            // zero accumulator 5 (row 2, columns 16–31)
	VPXORD Z6, Z6, Z6                            // zero accumulator 6 (row 3, columns 0–15)
	VPXORD Z7, Z7, Z7                            // zero accumulator 7 (row 3, columns 16–31)
	VPXORD Z8, Z8, Z8                            // zero accumulator 8 (row 4, columns 0–15)
	VPXORD Z9, Z9, Z9                            // zero accumulator 9 (row 4, columns 16–31)
	VPXORD Z10, Z10, Z10                         // zero accumulator 10 (row 5, columns 0–15)
	VPXORD Z11, Z11, Z11                         // zero accumulator 11 (row 5, columns 16–31)
	VPXORD Z12, Z12, Z12                         // zero accumulator 12 (row 6, columns 0–15)
	VPXORD Z13, Z13, Z13                         // zero accumulator 13 (row 6, columns 16–31)
	VPXORD Z14, Z14, Z14                         // zero accumulator 14 (row 7, columns 0–15)
	VPXORD Z15, Z15, Z15                         // zero accumulator 15 (row 7, columns 16–31)
	TESTQ CX, CX                                 // K = 0: store zeros
	JZ vnni_store
vnni_loop:
	VMOVDQU32 (DI), Z16                          // B columns 0–15, 4 k each (int8)
	VMOVDQU32 64(DI), Z17                        // B columns 16–31
	VPBROADCASTD (SI), Z18                       // row 0's 4 uint8 of this group in every lane
	VPBROADCASTD (SI)(BX*1), Z19                 // row 1's 4 uint8 of this group in every lane
	VPBROADCASTD (SI)(BX*2), Z20                 // row 2's 4 uint8 of this group in every lane
	VPBROADCASTD (SI)(R9*1), Z21                 // row 3's 4 uint8 of this group in every lane
	VPBROADCASTD (R11), Z22                      // row 4's 4 uint8 of this group in every lane
	VPBROADCASTD (R11)(BX*1), Z23                // row 5's 4 uint8 of this group in every lane
	VPBROADCASTD (R11)(BX*2), Z24                // row 6's 4 uint8 of this group in every lane
	VPBROADCASTD (R11)(R9*1), Z25                // row 7's 4 uint8 of this group in every lane
	VPDPBUSD Z16, Z18, Z0                        // row 0, columns 0–15 += Σ4 a·b
	VPDPBUSD Z17, Z18, Z1                        // row 0, columns 16–31
	VPDPBUSD Z16, Z19, Z2                        // row 1, columns 0–15 += Σ4 a·b
	VPDPBUSD Z17, Z19, Z3                        // row 1, columns 16–31
	VPDPBUSD Z16, Z20, Z4                        // row 2, columns 0–15 += Σ4 a·b
	VPDPBUSD Z17, Z20, Z5                        // row 2, columns 16–31
	VPDPBUSD Z16, Z21, Z6                        // row 3, columns 0–15 += Σ4 a·b
	VPDPBUSD Z17, Z21, Z7                        // row 3, columns 16–31
	VPDPBUSD Z16, Z22, Z8                        // row 4, columns 0–15 += Σ4 a·b
	VPDPBUSD Z17, Z22, Z9                        // row 4, columns 16–31
	VPDPBUSD Z16, Z23, Z10                       // row 5, columns 0–15 += Σ4 a·b
	VPDPBUSD Z17, Z23, Z11                       // row 5, columns 16–31
	VPDPBUSD Z16, Z24, Z12                       // row 6, columns 0–15 += Σ4 a·b
	VPDPBUSD Z17, Z24, Z13                       // row 6, columns 16–31
	VPDPBUSD Z16, Z25, Z14                       // row 7, columns 0–15 += Σ4 a·b
	VPDPBUSD Z17, Z25, Z15                       // row 7, columns 16–31
	ADDQ $4, SI                                  // next group of A rows 0–3
	ADDQ $4, R11                                 // next group of A rows 4–7
	ADDQ $128, DI                                // next group of B
	DECQ CX
	JNZ vnni_loop
vnni_store:
	VMOVDQU32 Z0, 0(DX)                          // tile row 0, columns 0–15
	VMOVDQU32 Z1, 64(DX)                         // tile row 0, columns 16–31
	VMOVDQU32 Z2, 128(DX)                        // tile row 1, columns 0–15
	VMOVDQU32 Z3, 192(DX)                        // tile row 1, columns 16–31
	VMOVDQU32 Z4, 256(DX)                        // tile row 2, columns 0–15
	VMOVDQU32 Z5, 320(DX)                        // tile row 2, columns 16–31
	VMOVDQU32 Z6, 384(DX)                        // tile row 3, columns 0–15
	VMOVDQU32 Z7, 448(DX)                        // tile row 3, columns 16–31
	VMOVDQU32 Z8, 512(DX)                        // tile row 4, columns 0–15
	VMOVDQU32 Z9, 576(DX)                        // tile row 4, columns 16–31
	VMOVDQU32 Z10, 640(DX)                       // tile row 5, columns 0–15
	VMOVDQU32 Z11, 704(DX)                       // tile row 5, columns 16–31
	VMOVDQU32 Z12, 768(DX)                       // tile row 6, columns 0–15
	VMOVDQU32 Z13, 832(DX)                       // tile row 6, columns 16–31
	VMOVDQU32 Z14, 896(DX)                       // tile row 7, columns 0–15
	VMOVDQU32 Z15, 960(DX)                       // tile row 7, columns 16–31
	VZEROUPPER                                   // leave no dirty upper state for SSE code
	RET

// func qgemmKernel1x32AVX2(kg int, a *uint8, b *int8, c *int32)
TEXT ·qgemmKernel1x32AVX2(SB), NOSPLIT, $0-32
	MOVQ kg+0(FP), CX                            // CX = groups of 4 k left
	MOVQ a+8(FP), SI                             // SI = the A row at the current group
	MOVQ b+16(FP), DI                            // DI = packed B panel
	MOVQ c+24(FP), DX                            // DX = 32 int32 outputs
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
	VMOVDQU Y0, 0(DX)                            // store
	VPHADDD Y3, Y2, Y2                           // columns 8,9,12,13 | 10,11,14,15
	VPERMQ $0xD8, Y2, Y2                         // reorder qwords to columns 8–15
	VMOVDQU Y2, 32(DX)                           // store
	VPHADDD Y5, Y4, Y4                           // columns 16,17,20,21 | 18,19,22,23
	VPERMQ $0xD8, Y4, Y4                         // reorder qwords to columns 16–23
	VMOVDQU Y4, 64(DX)                           // store
	VPHADDD Y7, Y6, Y6                           // columns 24,25,28,29 | 26,27,30,31
	VPERMQ $0xD8, Y6, Y6                         // reorder qwords to columns 24–31
	VMOVDQU Y6, 96(DX)                           // store
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
