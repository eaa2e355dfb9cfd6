//go:build !purego

#include "textflag.h"

// The AVX2 integer GEMM epilogues. AVX2 has no VPMOVDB, so bytes are made by masking each int32 lane to its low
// byte and packing twice (VPACKUSDW, VPACKUSWB): both packs are exact on 0–255, and the result is the low byte of
// every lane as VPMOVDB stores it, but interleaved 4 lanes at a time within each 128-bit half. VCVTPS2DQ rounds
// by MXCSR, which Go leaves at round-to-nearest-even (the twin's additions and conversions rely on it too).

// qepiDwordOrder gathers the 4-byte runs VPACKUSDW+VPACKUSWB leave in the order (a0–3 b0–3 c0–3 d0–3 | a4–7 b4–7
// c4–7 d4–7) back into a0–7 b0–7 c0–7 d0–7 (a VPERMD index).
DATA qepiDwordOrder<>+0(SB)/4, $0
DATA qepiDwordOrder<>+4(SB)/4, $4
DATA qepiDwordOrder<>+8(SB)/4, $1
DATA qepiDwordOrder<>+12(SB)/4, $5
DATA qepiDwordOrder<>+16(SB)/4, $2
DATA qepiDwordOrder<>+20(SB)/4, $6
DATA qepiDwordOrder<>+24(SB)/4, $3
DATA qepiDwordOrder<>+28(SB)/4, $7
GLOBL qepiDwordOrder<>(SB), RODATA|NOPTR, $32

// qepiTranspose4x4 transposes the row-major 4×4 byte matrix in each 128-bit half (a VPSHUFB index): byte 4c+r
// takes byte 4r+c, so each dword becomes one column's 4 rows.
DATA qepiTranspose4x4<>+0(SB)/8, $0x0d0905010c080400
DATA qepiTranspose4x4<>+8(SB)/8, $0x0f0b07030e0a0602
DATA qepiTranspose4x4<>+16(SB)/8, $0x0d0905010c080400
DATA qepiTranspose4x4<>+24(SB)/8, $0x0f0b07030e0a0602
GLOBL qepiTranspose4x4<>(SB), RODATA|NOPTR, $32

// func qrequantRowAVX2(t *int32, corr *int32, scale *float32, d *uint8, n int, flo, fhi float32, zp int32)
TEXT ·qrequantRowAVX2(SB), NOSPLIT, $0-52
	MOVQ t+0(FP), SI                             // SI = raw sums
	MOVQ corr+8(FP), R8                          // R8 = per-column correction (bias − za·colSum)
	MOVQ scale+16(FP), R9                        // R9 = per-column multiplier
	MOVQ d+24(FP), DI                            // DI = output bytes
	MOVQ n+32(FP), CX                            // CX = elements, a multiple of 8
	VBROADCASTSS flo+40(FP), Y12                 // lower clamp (lo − zp) in every lane
	VBROADCASTSS fhi+44(FP), Y13                 // upper clamp (hi − zp) in every lane
	VBROADCASTSS zp+48(FP), Y14                  // zero point in every lane (the bits, as int32)
	VPCMPEQD Y15, Y15, Y15                       // all ones …
	VPSRLD $24, Y15, Y15                         // … shifted to 0xFF per lane: the low-byte mask
	VMOVDQU qepiDwordOrder<>(SB), Y11            // VPERMD index that undoes the packs' interleave
	XORQ BX, BX                                  // BX = elements done
	MOVQ CX, DX                                  // DX = end of the 32-element blocks …
	ANDQ $-32, DX                                // … n rounded down to a multiple of 32
	JZ rq8_check                                 // fewer than 32: only 8-element blocks
rq32_loop:
	VMOVDQU (SI)(BX*4), Y0                       // sums 0–7
	VMOVDQU 32(SI)(BX*4), Y1                     // sums 8–15
	VMOVDQU 64(SI)(BX*4), Y2                     // sums 16–23
	VMOVDQU 96(SI)(BX*4), Y3                     // sums 24–31
	VPADDD (R8)(BX*4), Y0, Y0                    // + correction
	VPADDD 32(R8)(BX*4), Y1, Y1                  // + correction
	VPADDD 64(R8)(BX*4), Y2, Y2                  // + correction
	VPADDD 96(R8)(BX*4), Y3, Y3                  // + correction
	VCVTDQ2PS Y0, Y0                             // to float32, rounded as Go's float32(s)
	VCVTDQ2PS Y1, Y1                             // to float32
	VCVTDQ2PS Y2, Y2                             // to float32
	VCVTDQ2PS Y3, Y3                             // to float32
	VMULPS (R9)(BX*4), Y0, Y0                    // × multiplier
	VMULPS 32(R9)(BX*4), Y1, Y1                  // × multiplier
	VMULPS 64(R9)(BX*4), Y2, Y2                  // × multiplier
	VMULPS 96(R9)(BX*4), Y3, Y3                  // × multiplier
	VMAXPS Y12, Y0, Y0                           // clamp below (the bound is the second source, so a NaN becomes it)
	VMAXPS Y12, Y1, Y1                           // clamp below
	VMAXPS Y12, Y2, Y2                           // clamp below
	VMAXPS Y12, Y3, Y3                           // clamp below
	VMINPS Y13, Y0, Y0                           // clamp above
	VMINPS Y13, Y1, Y1                           // clamp above
	VMINPS Y13, Y2, Y2                           // clamp above
	VMINPS Y13, Y3, Y3                           // clamp above
	VCVTPS2DQ Y0, Y0                             // round half to even to int32
	VCVTPS2DQ Y1, Y1                             // round half to even
	VCVTPS2DQ Y2, Y2                             // round half to even
	VCVTPS2DQ Y3, Y3                             // round half to even
	VPADDD Y14, Y0, Y0                           // + zero point: now in [lo, hi]
	VPADDD Y14, Y1, Y1                           // + zero point
	VPADDD Y14, Y2, Y2                           // + zero point
	VPADDD Y14, Y3, Y3                           // + zero point
	VPAND Y15, Y0, Y0                            // keep the low byte (the uint8 or two's-complement int8)
	VPAND Y15, Y1, Y1                            // keep the low byte
	VPAND Y15, Y2, Y2                            // keep the low byte
	VPAND Y15, Y3, Y3                            // keep the low byte
	VPACKUSDW Y1, Y0, Y0                         // words: 0–3 8–11 | 4–7 12–15
	VPACKUSDW Y3, Y2, Y2                         // words: 16–19 24–27 | 20–23 28–31
	VPACKUSWB Y2, Y0, Y0                         // bytes: 0–3 8–11 16–19 24–27 | 4–7 12–15 20–23 28–31
	VPERMD Y0, Y11, Y0                           // bytes 0–31 in order
	VMOVDQU Y0, (DI)                             // store 32 bytes
	ADDQ $32, DI                                 // next 32 bytes
	ADDQ $32, BX                                 // 32 elements done
	CMPQ BX, DX                                  // more 32-element blocks?
	JB rq32_loop
rq8_check:
	CMPQ BX, CX                                  // anything left (a multiple of 8)?
	JAE rq_done
rq8_loop:
	VMOVDQU (SI)(BX*4), Y0                       // 8 sums
	VPADDD (R8)(BX*4), Y0, Y0                    // + correction
	VCVTDQ2PS Y0, Y0                             // to float32
	VMULPS (R9)(BX*4), Y0, Y0                    // × multiplier
	VMAXPS Y12, Y0, Y0                           // clamp below (a NaN becomes the bound)
	VMINPS Y13, Y0, Y0                           // clamp above
	VCVTPS2DQ Y0, Y0                             // round half to even
	VPADDD Y14, Y0, Y0                           // + zero point
	VPAND Y15, Y0, Y0                            // keep the low byte
	VPACKUSDW Y0, Y0, Y0                         // words: 0–3 0–3 | 4–7 4–7
	VPACKUSWB Y0, Y0, Y0                         // bytes 0–3 in dword 0, bytes 4–7 in dword 4
	VPERMD Y0, Y11, Y0                           // bytes 0–7 in the low 8
	VMOVQ X0, (DI)                               // store 8 bytes
	ADDQ $8, DI                                  // next 8 bytes
	ADDQ $8, BX                                  // 8 elements done
	CMPQ BX, CX                                  // more?
	JB rq8_loop
rq_done:
	VZEROUPPER                                   // leave no dirty upper state for SSE code
	RET

// func qdequantRowAVX2(t *int32, corr *int32, scale *float32, fbias *float32, d *float32, n int)
TEXT ·qdequantRowAVX2(SB), NOSPLIT, $0-48
	MOVQ t+0(FP), SI                             // SI = raw sums
	MOVQ corr+8(FP), R8                          // R8 = per-column correction (bias − za·colSum)
	MOVQ scale+16(FP), R9                        // R9 = per-column multiplier
	MOVQ fbias+24(FP), R10                       // R10 = per-column float bias, or nil
	MOVQ d+32(FP), DI                            // DI = float32 output
	MOVQ n+40(FP), CX                            // CX = elements, a multiple of 8
	SHLQ $2, CX                                  // … in bytes
	JZ dq_done
	XORQ BX, BX                                  // BX = bytes done in every array
	TESTQ R10, R10                               // a float bias?
	JZ dq_loop
dq_bias_loop:
	VMOVDQU (SI)(BX*1), Y0                       // 8 raw sums
	VPADDD (R8)(BX*1), Y0, Y0                    // + correction
	VCVTDQ2PS Y0, Y0                             // to float32 (round to nearest even, as Go converts)
	VMULPS (R9)(BX*1), Y0, Y0                    // × multiplier, rounded before the bias as the twin does (no FMA)
	VADDPS (R10)(BX*1), Y0, Y0                   // + float bias
	VMOVUPS Y0, (DI)(BX*1)                       // store 8 floats
	ADDQ $32, BX                                 // next 8
	CMPQ BX, CX                                  // more?
	JB dq_bias_loop
	JMP dq_done
dq_loop:
	VMOVDQU (SI)(BX*1), Y0                       // 8 raw sums
	VPADDD (R8)(BX*1), Y0, Y0                    // + correction
	VCVTDQ2PS Y0, Y0                             // to float32
	VMULPS (R9)(BX*1), Y0, Y0                    // × multiplier
	VMOVUPS Y0, (DI)(BX*1)                       // store 8 floats
	ADDQ $32, BX                                 // next 8
	CMPQ BX, CX                                  // more?
	JB dq_loop
dq_done:
	VZEROUPPER                                   // leave no dirty upper state for SSE code
	RET

// func qrequantTileTransAVX2(t *int32, corr *int32, scale *float32, d *uint8, ldd int, flo, fhi float32, zp int32, blocks int)
TEXT ·qrequantTileTransAVX2(SB), NOSPLIT, $0-64
	MOVQ t+0(FP), SI                             // SI = 8×32 raw sums, row stride 128 bytes
	MOVQ corr+8(FP), R8                          // R8 = per-column correction
	MOVQ scale+16(FP), R9                        // R9 = per-column multiplier
	MOVQ d+24(FP), DI                            // DI = column 0's 8 output bytes
	MOVQ ldd+32(FP), BX                          // BX = bytes from one column's run to the next
	VBROADCASTSS flo+40(FP), Y10                 // lower clamp (lo − zp) in every lane
	VBROADCASTSS fhi+44(FP), Y11                 // upper clamp (hi − zp) in every lane
	VBROADCASTSS zp+48(FP), Y12                  // zero point in every lane (the bits, as int32)
	VPCMPEQD Y13, Y13, Y13                       // all ones …
	VPSRLD $24, Y13, Y13                         // … shifted to 0xFF per lane: the low-byte mask
	VMOVDQU qepiTranspose4x4<>(SB), Y14          // VPSHUFB index of the in-lane 4×4 byte transpose
	MOVQ blocks+56(FP), CX                       // blocks of 8 columns to store (1 to 4)
rt_block:
	VMOVDQU (R8), Y8                             // the block's 8 corrections
	VMOVUPS (R9), Y9                             // the block's 8 multipliers
	VPADDD 0(SI), Y8, Y0                         // row 0: sums + correction
	VPADDD 128(SI), Y8, Y1                       // row 1
	VPADDD 256(SI), Y8, Y2                       // row 2
	VPADDD 384(SI), Y8, Y3                       // row 3
	VPADDD 512(SI), Y8, Y4                       // row 4
	VPADDD 640(SI), Y8, Y5                       // row 5
	VPADDD 768(SI), Y8, Y6                       // row 6
	VPADDD 896(SI), Y8, Y7                       // row 7
	VCVTDQ2PS Y0, Y0                             // rows to float32, as qrequantRowAVX2 does
	VCVTDQ2PS Y1, Y1                             // row 1
	VCVTDQ2PS Y2, Y2                             // row 2
	VCVTDQ2PS Y3, Y3                             // row 3
	VCVTDQ2PS Y4, Y4                             // row 4
	VCVTDQ2PS Y5, Y5                             // row 5
	VCVTDQ2PS Y6, Y6                             // row 6
	VCVTDQ2PS Y7, Y7                             // row 7
	VMULPS Y9, Y0, Y0                            // × multiplier
	VMULPS Y9, Y1, Y1                            // row 1
	VMULPS Y9, Y2, Y2                            // row 2
	VMULPS Y9, Y3, Y3                            // row 3
	VMULPS Y9, Y4, Y4                            // row 4
	VMULPS Y9, Y5, Y5                            // row 5
	VMULPS Y9, Y6, Y6                            // row 6
	VMULPS Y9, Y7, Y7                            // row 7
	VMAXPS Y10, Y0, Y0                           // clamp below (a NaN becomes the bound, as in the row routine)
	VMAXPS Y10, Y1, Y1                           // row 1
	VMAXPS Y10, Y2, Y2                           // row 2
	VMAXPS Y10, Y3, Y3                           // row 3
	VMAXPS Y10, Y4, Y4                           // row 4
	VMAXPS Y10, Y5, Y5                           // row 5
	VMAXPS Y10, Y6, Y6                           // row 6
	VMAXPS Y10, Y7, Y7                           // row 7
	VMINPS Y11, Y0, Y0                           // clamp above
	VMINPS Y11, Y1, Y1                           // row 1
	VMINPS Y11, Y2, Y2                           // row 2
	VMINPS Y11, Y3, Y3                           // row 3
	VMINPS Y11, Y4, Y4                           // row 4
	VMINPS Y11, Y5, Y5                           // row 5
	VMINPS Y11, Y6, Y6                           // row 6
	VMINPS Y11, Y7, Y7                           // row 7
	VCVTPS2DQ Y0, Y0                             // round half to even
	VCVTPS2DQ Y1, Y1                             // row 1
	VCVTPS2DQ Y2, Y2                             // row 2
	VCVTPS2DQ Y3, Y3                             // row 3
	VCVTPS2DQ Y4, Y4                             // row 4
	VCVTPS2DQ Y5, Y5                             // row 5
	VCVTPS2DQ Y6, Y6                             // row 6
	VCVTPS2DQ Y7, Y7                             // row 7
	VPADDD Y12, Y0, Y0                           // + zero point: now in [lo, hi]
	VPADDD Y12, Y1, Y1                           // row 1
	VPADDD Y12, Y2, Y2                           // row 2
	VPADDD Y12, Y3, Y3                           // row 3
	VPADDD Y12, Y4, Y4                           // row 4
	VPADDD Y12, Y5, Y5                           // row 5
	VPADDD Y12, Y6, Y6                           // row 6
	VPADDD Y12, Y7, Y7                           // row 7
	VPAND Y13, Y0, Y0                            // keep the low byte of each lane
	VPAND Y13, Y1, Y1                            // row 1
	VPAND Y13, Y2, Y2                            // row 2
	VPAND Y13, Y3, Y3                            // row 3
	VPAND Y13, Y4, Y4                            // row 4
	VPAND Y13, Y5, Y5                            // row 5
	VPAND Y13, Y6, Y6                            // row 6
	VPAND Y13, Y7, Y7                            // row 7
	VPACKUSDW Y1, Y0, Y0                         // words: rows 0,1 of columns 0–3 | of columns 4–7
	VPACKUSDW Y3, Y2, Y2                         // rows 2,3
	VPACKUSDW Y5, Y4, Y4                         // rows 4,5
	VPACKUSDW Y7, Y6, Y6                         // rows 6,7
	VPACKUSWB Y2, Y0, Y0                         // bytes: rows 0–3 × columns 0–3 | × columns 4–7, row-major
	VPACKUSWB Y6, Y4, Y4                         // rows 4–7
	VPSHUFB Y14, Y0, Y0                          // each half transposed: dword k holds a column's rows 0–3
	VPSHUFB Y14, Y4, Y4                          // … and here its rows 4–7
	VPUNPCKLDQ Y4, Y0, Y1                        // qwords: columns 0, 1 | 4, 5, rows 0–7 each
	VPUNPCKHDQ Y4, Y0, Y2                        // columns 2, 3 | 6, 7
	VMOVQ X1, (DI)                               // column 0's 8 rows
	VMOVHPS X1, (DI)(BX*1)                       // column 1
	LEAQ (DI)(BX*2), DI                          // two columns on
	VMOVQ X2, (DI)                               // column 2
	VMOVHPS X2, (DI)(BX*1)                       // column 3
	LEAQ (DI)(BX*2), DI                          // two columns on
	VEXTRACTI128 $1, Y1, X1                      // columns 4, 5
	VEXTRACTI128 $1, Y2, X2                      // columns 6, 7
	VMOVQ X1, (DI)                               // column 4
	VMOVHPS X1, (DI)(BX*1)                       // column 5
	LEAQ (DI)(BX*2), DI                          // two columns on
	VMOVQ X2, (DI)                               // column 6
	VMOVHPS X2, (DI)(BX*1)                       // column 7
	LEAQ (DI)(BX*2), DI                          // the next block's column 0
	ADDQ $32, SI                                 // the next 8 columns of sums
	ADDQ $32, R8                                 // … of corrections
	ADDQ $32, R9                                 // … of multipliers
	DECQ CX                                      // one block done
	JNZ rt_block                                 // until none is left
	VZEROUPPER                                   // leave no dirty upper state for SSE code
	RET

// func qtileTrans32AVX2(t *int32, corr *int32, scale *float32, fbias *float32, d *int32, ldd int, mode int)
//
// Each group of 4 columns is loaded with row i in the low 128-bit half and row i+4 in the high one, and the
// per-column vectors broadcast to both halves; a 4×4 dword transpose inside the halves then leaves every column's
// 8 rows in one register, with no lane-crossing shuffle.
TEXT ·qtileTrans32AVX2(SB), NOSPLIT, $0-56
	MOVQ t+0(FP), SI                             // SI = 8×32 raw sums, row stride 128 bytes
	MOVQ corr+8(FP), R8                          // R8 = per-column correction
	MOVQ scale+16(FP), R9                        // R9 = per-column multiplier (modes 1, 2)
	MOVQ fbias+24(FP), R10                       // R10 = per-column float bias (mode 2)
	MOVQ d+32(FP), AX                            // AX = column 0's 8 output values
	MOVQ ldd+40(FP), BX                          // BX = elements from one column's run to the next …
	SHLQ $2, BX                                  // … in bytes
	LEAQ (BX)(BX*2), R11                         // R11 = three columns' step
	MOVQ mode+48(FP), DX                         // DX = 0: int32, 1: float32, 2: float32 plus bias
	MOVQ $8, CX                                  // eight groups of 4 columns
t32_group:
	VMOVDQU 0(SI), X0                            // row 0, the group's 4 columns
	VINSERTI128 $1, 512(SI), Y0, Y0              // | row 4
	VMOVDQU 128(SI), X1                          // row 1
	VINSERTI128 $1, 640(SI), Y1, Y1              // | row 5
	VMOVDQU 256(SI), X2                          // row 2
	VINSERTI128 $1, 768(SI), Y2, Y2              // | row 6
	VMOVDQU 384(SI), X3                          // row 3
	VINSERTI128 $1, 896(SI), Y3, Y3              // | row 7
	VBROADCASTI128 (R8), Y4                      // the 4 corrections in both halves
	VPADDD Y4, Y0, Y0                            // rows 0 | 4: sums + correction
	VPADDD Y4, Y1, Y1                            // rows 1 | 5
	VPADDD Y4, Y2, Y2                            // rows 2 | 6
	VPADDD Y4, Y3, Y3                            // rows 3 | 7
	TESTQ DX, DX                                 // mode 0?
	JZ t32_transpose                             // int32 output: done
	VBROADCASTI128 (R9), Y5                      // the 4 multipliers in both halves
	VCVTDQ2PS Y0, Y0                             // to float32 (round to nearest even, as Go converts)
	VCVTDQ2PS Y1, Y1                             // rows 1 | 5
	VCVTDQ2PS Y2, Y2                             // rows 2 | 6
	VCVTDQ2PS Y3, Y3                             // rows 3 | 7
	VMULPS Y5, Y0, Y0                            // × multiplier
	VMULPS Y5, Y1, Y1                            // rows 1 | 5
	VMULPS Y5, Y2, Y2                            // rows 2 | 6
	VMULPS Y5, Y3, Y3                            // rows 3 | 7
	CMPQ DX, $2                                  // mode 2?
	JNE t32_transpose                            // no float bias
	VBROADCASTI128 (R10), Y6                     // the 4 float biases in both halves
	VADDPS Y6, Y0, Y0                            // + bias, after the rounded product as the twin does (no FMA)
	VADDPS Y6, Y1, Y1                            // rows 1 | 5
	VADDPS Y6, Y2, Y2                            // rows 2 | 6
	VADDPS Y6, Y3, Y3                            // rows 3 | 7
t32_transpose:
	VPUNPCKLDQ Y1, Y0, Y4                        // rows 0,1 | 4,5 paired: columns 0, 1
	VPUNPCKHDQ Y1, Y0, Y5                        // columns 2, 3
	VPUNPCKLDQ Y3, Y2, Y6                        // rows 2,3 | 6,7 paired: columns 0, 1
	VPUNPCKHDQ Y3, Y2, Y7                        // columns 2, 3
	VPUNPCKLQDQ Y6, Y4, Y0                       // column 0: rows 0–3 | 4–7
	VPUNPCKHQDQ Y6, Y4, Y1                       // column 1
	VPUNPCKLQDQ Y7, Y5, Y2                       // column 2
	VPUNPCKHQDQ Y7, Y5, Y3                       // column 3
	VMOVDQU Y0, (AX)                             // column 0's 8 rows
	VMOVDQU Y1, (AX)(BX*1)                       // column 1
	VMOVDQU Y2, (AX)(BX*2)                       // column 2
	VMOVDQU Y3, (AX)(R11*1)                      // column 3
	LEAQ (AX)(BX*4), AX                          // the next group's column 0
	ADDQ $16, SI                                 // the next 4 columns of sums
	ADDQ $16, R8                                 // … of corrections
	ADDQ $16, R9                                 // … of multipliers
	ADDQ $16, R10                                // … of float biases
	DECQ CX                                      // one group done
	JNZ t32_group                                // until none is left
	VZEROUPPER                                   // leave no dirty upper state for SSE code
	RET
