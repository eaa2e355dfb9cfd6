//go:build !purego

#include "textflag.h"

// One row's step of qgemmKernel4x8AVX2: its 4 bytes of A widened to int16 and repeated (a0 a1 a2 a3 per column),
// multiplied with both widened B registers (Y8: columns 0–3, Y9: columns 4–7) and added to the row's two
// accumulators.
#define QAVX2_ROW(addr, lo, hi) \
	VPBROADCASTD addr, X10 \
	VPMOVZXBW X10, Y10 \
	VPMADDWD Y10, Y8, Y11 \
	VPADDD Y11, lo, lo \
	VPMADDWD Y10, Y9, Y12 \
	VPADDD Y12, hi, hi

// The row's 8 int32 outputs: pair sums added across (VPHADDD leaves columns 0,1,4,5 | 2,3,6,7), put in order,
// plus the starting values, stored.
#define QAVX2_STORE(lo, hi, dst) \
	VPHADDD hi, lo, lo \
	VPERMQ $0xD8, lo, lo \
	VPADDD (R8), lo, lo \
	VMOVDQU lo, dst

// func qgemmKernel4x8AVX2(kg int, a *uint8, lda int, b *int8, c *int32, ldcBytes int, init *int32)
TEXT ·qgemmKernel4x8AVX2(SB), NOSPLIT, $0-56
	MOVQ kg+0(FP), CX                            // CX = groups of 4 k left
	MOVQ a+8(FP), SI                             // SI = row 0 of A at the current group
	MOVQ lda+16(FP), R9                          // R9 = A's row stride in bytes
	MOVQ b+24(FP), DI                            // DI = the 8 columns' bytes in the packed B panel's group
	MOVQ c+32(FP), DX                            // DX = row 0 of the 4×8 int32 outputs
	MOVQ ldcBytes+40(FP), R11                    // R11 = C's row stride in bytes
	MOVQ init+48(FP), R8                         // R8 = 8 starting values
	LEAQ (R9)(R9*2), R10                         // R10 = 3·lda
	VPXOR Y0, Y0, Y0                             // row 0, columns 0–3 (two partial sums each)
	VPXOR Y1, Y1, Y1                             // row 0, columns 4–7
	VPXOR Y2, Y2, Y2                             // row 1
	VPXOR Y3, Y3, Y3
	VPXOR Y4, Y4, Y4                             // row 2
	VPXOR Y5, Y5, Y5
	VPXOR Y6, Y6, Y6                             // row 3
	VPXOR Y7, Y7, Y7
	TESTQ CX, CX                                 // K = 0: store the starting values
	JZ avx2x8_store
avx2x8_loop:
	VPMOVSXBW 0(DI), Y8                          // columns 0–3 × 4 k, widened to int16 once for the 4 rows
	VPMOVSXBW 16(DI), Y9                         // columns 4–7 × 4 k
	QAVX2_ROW((SI), Y0, Y1)
	QAVX2_ROW((SI)(R9*1), Y2, Y3)
	QAVX2_ROW((SI)(R9*2), Y4, Y5)
	QAVX2_ROW((SI)(R10*1), Y6, Y7)
	ADDQ $4, SI                                  // next group of A
	ADDQ $128, DI                                // next group of the panel (32 columns × 4 k)
	DECQ CX
	JNZ avx2x8_loop
avx2x8_store:
	QAVX2_STORE(Y0, Y1, (DX))
	QAVX2_STORE(Y2, Y3, (DX)(R11*1))
	QAVX2_STORE(Y4, Y5, (DX)(R11*2))
	LEAQ (R11)(R11*2), R11
	QAVX2_STORE(Y6, Y7, (DX)(R11*1))
	VZEROUPPER
	RET
