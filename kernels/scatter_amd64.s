//go:build !purego

#include "textflag.h"

// func scatterRowsAVX512(dst *uint8, dstStride int, src *uint8, width, rows int)
TEXT ·scatterRowsAVX512(SB), NOSPLIT, $0-40
	MOVQ dst+0(FP), DI                           // DI = run 0's destination
	MOVQ dstStride+8(FP), R8                     // R8 = destination stride
	MOVQ src+16(FP), SI                          // SI = run 0's source (runs are contiguous)
	MOVQ width+24(FP), DX                        // DX = bytes per run
	MOVQ rows+32(FP), CX                         // CX = runs left
	MOVQ DX, AX
	ANDQ $63, AX                                 // the last block's bytes (0: none)
	MOVQ $-1, BX
	BZHIQ AX, BX, BX                             // their mask
	KMOVQ BX, K1
	MOVQ DX, R9
	SHRQ $6, R9                                  // R9 = whole 64-byte blocks per run
sr_row:
	MOVQ R9, R10                                 // blocks left in this run
	MOVQ SI, R11
	MOVQ DI, R12
	TESTQ R10, R10
	JZ sr_tail
sr_block:
	VMOVDQU8 (R11), Z0                           // 64 bytes
	VMOVDQU8 Z0, (R12)
	ADDQ $64, R11
	ADDQ $64, R12
	DECQ R10
	JNZ sr_block
sr_tail:
	VMOVDQU8.Z (R11), K1, Z0                     // the last width mod 64 bytes (a zero mask moves nothing)
	VMOVDQU8 Z0, K1, (R12)
	ADDQ DX, SI                                  // next run
	ADDQ R8, DI
	DECQ CX
	JNZ sr_row
	VZEROUPPER
	RET
