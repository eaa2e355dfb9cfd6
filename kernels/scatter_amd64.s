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

// func scatterRowsAVX2(dst *uint8, dstStride int, src *uint8, width, rows int)
TEXT ·scatterRowsAVX2(SB), NOSPLIT, $0-40
	MOVQ dst+0(FP), DI                           // DI = run 0's destination
	MOVQ dstStride+8(FP), R8                     // R8 = destination stride
	MOVQ src+16(FP), SI                          // SI = run 0's source (runs are contiguous)
	MOVQ width+24(FP), DX                        // DX = bytes per run (≥ 1)
	MOVQ rows+32(FP), CX                         // CX = runs left (≥ 1)
	CMPQ DX, $32                                 // pick the loop by width once, outside it
	JAE sr2_wide
	CMPQ DX, $16
	JAE sr2_x16
	CMPQ DX, $8
	JAE sr2_q
	CMPQ DX, $4
	JAE sr2_l
	CMPQ DX, $2
	JAE sr2_w
sr2_b:
	MOVB (SI), AX                                // a 1-byte run
	MOVB AX, (DI)
	INCQ SI                                      // next run
	ADDQ R8, DI
	DECQ CX
	JNZ sr2_b
	RET
sr2_w:
	MOVW (SI), AX                                // 2–3 bytes: the first two …
	MOVW -2(SI)(DX*1), BX                        // … and the last two, overlapping them
	MOVW AX, (DI)
	MOVW BX, -2(DI)(DX*1)
	ADDQ DX, SI                                  // next run
	ADDQ R8, DI
	DECQ CX
	JNZ sr2_w
	RET
sr2_l:
	MOVL (SI), AX                                // 4–7 bytes: the first four and the last four
	MOVL -4(SI)(DX*1), BX
	MOVL AX, (DI)
	MOVL BX, -4(DI)(DX*1)
	ADDQ DX, SI                                  // next run
	ADDQ R8, DI
	DECQ CX
	JNZ sr2_l
	RET
sr2_q:
	MOVQ (SI), AX                                // 8–15 bytes: the first eight and the last eight
	MOVQ -8(SI)(DX*1), BX
	MOVQ AX, (DI)
	MOVQ BX, -8(DI)(DX*1)
	ADDQ DX, SI                                  // next run
	ADDQ R8, DI
	DECQ CX
	JNZ sr2_q
	RET
sr2_x16:
	VMOVDQU (SI), X0                             // 16–31 bytes: the first sixteen and the last sixteen
	VMOVDQU -16(SI)(DX*1), X1
	VMOVDQU X0, (DI)
	VMOVDQU X1, -16(DI)(DX*1)
	ADDQ DX, SI                                  // next run
	ADDQ R8, DI
	DECQ CX
	JNZ sr2_x16
	RET
sr2_wide:
	MOVQ DX, R9
	SHRQ $5, R9                                  // R9 = whole 32-byte blocks per run
sr2_row:
	MOVQ R9, R10                                 // blocks left in this run
	MOVQ SI, R11
	MOVQ DI, R12
sr2_block:
	VMOVDQU (R11), Y0                            // 32 bytes
	VMOVDQU Y0, (R12)
	ADDQ $32, R11
	ADDQ $32, R12
	DECQ R10
	JNZ sr2_block
	VMOVDQU -32(SI)(DX*1), Y0                    // the run's last 32 bytes, overlapping the blocks (the width
	VMOVDQU Y0, -32(DI)(DX*1)                    // mod 32 bytes past them; the same bytes again when it is 0)
	ADDQ DX, SI                                  // next run
	ADDQ R8, DI
	DECQ CX
	JNZ sr2_row
	VZEROUPPER                                   // leave no dirty upper state for SSE code
	RET
