//go:build !purego

#include "textflag.h"

// func packA4x8AVX(dst, a *float32, lda, mr, blocks int, alpha float32)
//
// For 4 rows of A and blocks·8 columns: dst[p·mr + r] = alpha·a[r·lda + p]. Each block is 4 row loads of 8
// columns, a 4×4 transpose within each 128-bit lane (VUNPCKLPS/HPS, then VUNPCKLPD/HPD), and 8 stores of one
// column's 4 rows.
TEXT ·packA4x8AVX(SB), NOSPLIT, $0-44
	MOVQ dst+0(FP), DI                           // DI = column p's 4 values in the panel
	MOVQ a+8(FP), SI                             // SI = row 0 at column p
	MOVQ lda+16(FP), R8
	SHLQ $2, R8                                  // R8 = bytes from one row to the next
	LEAQ (R8)(R8*2), R9                          // R9 = 3 rows
	MOVQ mr+24(FP), R10
	SHLQ $2, R10                                 // R10 = bytes from one column's group to the next
	LEAQ (R10)(R10*2), R11                       // R11 = 3 groups
	MOVQ blocks+32(FP), CX                       // CX = blocks of 8 columns
	VBROADCASTSS alpha+40(FP), Y15               // alpha in every lane
	TESTQ CX, CX
	JZ pa_done
pa_loop:
	VMULPS (SI), Y15, Y0                         // row 0, columns p … p+7, · alpha
	VMULPS (SI)(R8*1), Y15, Y1                   // row 1
	VMULPS (SI)(R8*2), Y15, Y2                   // row 2
	VMULPS (SI)(R9*1), Y15, Y3                   // row 3
	VUNPCKLPS Y1, Y0, Y4                         // r0c0 r1c0 r0c1 r1c1 | c4 c5
	VUNPCKHPS Y1, Y0, Y5                         // r0c2 r1c2 r0c3 r1c3 | c6 c7
	VUNPCKLPS Y3, Y2, Y6                         // r2c0 r3c0 r2c1 r3c1 | c4 c5
	VUNPCKHPS Y3, Y2, Y7                         // r2c2 r3c2 r2c3 r3c3 | c6 c7
	VUNPCKLPD Y6, Y4, Y0                         // column 0's 4 rows | column 4's
	VUNPCKHPD Y6, Y4, Y1                         // column 1 | 5
	VUNPCKLPD Y7, Y5, Y2                         // column 2 | 6
	VUNPCKHPD Y7, Y5, Y3                         // column 3 | 7
	LEAQ (DI)(R10*4), DX                         // DX = column p+4's group
	VMOVUPS X0, (DI)
	VMOVUPS X1, (DI)(R10*1)
	VMOVUPS X2, (DI)(R10*2)
	VMOVUPS X3, (DI)(R11*1)
	VEXTRACTF128 $1, Y0, (DX)
	VEXTRACTF128 $1, Y1, (DX)(R10*1)
	VEXTRACTF128 $1, Y2, (DX)(R10*2)
	VEXTRACTF128 $1, Y3, (DX)(R11*1)
	ADDQ $32, SI                                 // next 8 columns
	LEAQ (DX)(R10*4), DI                         // their groups
	DECQ CX
	JNZ pa_loop
pa_done:
	VZEROUPPER
	RET
