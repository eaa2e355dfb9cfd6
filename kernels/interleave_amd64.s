//go:build !purego

#include "textflag.h"

// interleaveLo<> and interleaveHi<> pair lane i of one vector with lane i of another, for VPERMT2PS: lanes 0–7
// of both, then lanes 8–15.
DATA interleaveLo<>+0(SB)/4, $0
DATA interleaveLo<>+4(SB)/4, $16
DATA interleaveLo<>+8(SB)/4, $1
DATA interleaveLo<>+12(SB)/4, $17
DATA interleaveLo<>+16(SB)/4, $2
DATA interleaveLo<>+20(SB)/4, $18
DATA interleaveLo<>+24(SB)/4, $3
DATA interleaveLo<>+28(SB)/4, $19
DATA interleaveLo<>+32(SB)/4, $4
DATA interleaveLo<>+36(SB)/4, $20
DATA interleaveLo<>+40(SB)/4, $5
DATA interleaveLo<>+44(SB)/4, $21
DATA interleaveLo<>+48(SB)/4, $6
DATA interleaveLo<>+52(SB)/4, $22
DATA interleaveLo<>+56(SB)/4, $7
DATA interleaveLo<>+60(SB)/4, $23
GLOBL interleaveLo<>(SB), RODATA|NOPTR, $64

DATA interleaveHi<>+0(SB)/4, $8
DATA interleaveHi<>+4(SB)/4, $24
DATA interleaveHi<>+8(SB)/4, $9
DATA interleaveHi<>+12(SB)/4, $25
DATA interleaveHi<>+16(SB)/4, $10
DATA interleaveHi<>+20(SB)/4, $26
DATA interleaveHi<>+24(SB)/4, $11
DATA interleaveHi<>+28(SB)/4, $27
DATA interleaveHi<>+32(SB)/4, $12
DATA interleaveHi<>+36(SB)/4, $28
DATA interleaveHi<>+40(SB)/4, $13
DATA interleaveHi<>+44(SB)/4, $29
DATA interleaveHi<>+48(SB)/4, $14
DATA interleaveHi<>+52(SB)/4, $30
DATA interleaveHi<>+56(SB)/4, $15
DATA interleaveHi<>+60(SB)/4, $31
GLOBL interleaveHi<>(SB), RODATA|NOPTR, $64

// func interleave2AVX512(dst, a, c *float32, n int, bias float32)
TEXT ·interleave2AVX512(SB), NOSPLIT, $0-36
	MOVQ dst+0(FP), DI                           // DI = 2n outputs
	MOVQ a+8(FP), SI                             // SI = the even outputs' values
	MOVQ c+16(FP), DX                            // DX = the odd outputs' values
	MOVQ n+24(FP), CX                            // CX = pairs, a multiple of 16
	VBROADCASTSS bias+32(FP), Z3                 // the bias in every lane
	VMOVDQU32 interleaveLo<>(SB), Z4             // lanes 0–7 of a and c, alternating
	VMOVDQU32 interleaveHi<>(SB), Z5             // lanes 8–15
	SHRQ $4, CX                                  // groups of 16 pairs
	JZ il_done
il_loop:
	VADDPS (SI), Z3, Z0                          // 16 of a + bias
	VADDPS (DX), Z3, Z1                          // 16 of c + bias
	VMOVAPS Z0, Z2                               // a copy for the high half
	VPERMT2PS Z1, Z4, Z0                         // a0 c0 a1 c1 … a7 c7
	VPERMT2PS Z1, Z5, Z2                         // a8 c8 … a15 c15
	VMOVUPS Z0, (DI)                             // outputs 0–15
	VMOVUPS Z2, 64(DI)                           // outputs 16–31
	ADDQ $64, SI                                 // next 16 of a
	ADDQ $64, DX                                 // next 16 of c
	ADDQ $128, DI                                // next 32 outputs
	DECQ CX
	JNZ il_loop
il_done:
	VZEROUPPER                                   // leave no dirty upper state for SSE code
	RET

// func interleaveBytesAVX2(dst, a, c *byte, n int)
TEXT ·interleaveBytesAVX2(SB), NOSPLIT, $0-32
	MOVQ dst+0(FP), DI                           // DI = 2n outputs
	MOVQ a+8(FP), SI                             // SI = the even outputs
	MOVQ c+16(FP), DX                            // DX = the odd outputs
	MOVQ n+24(FP), CX                            // CX = pairs, a multiple of 32
	SHRQ $5, CX                                  // groups of 32 pairs
	JZ ib_done
ib_loop:
	VMOVDQU (SI), Y0                             // a0 … a31
	VMOVDQU (DX), Y1                             // c0 … c31
	VPUNPCKLBW Y1, Y0, Y2                        // a0 c0 … a7 c7 | a16 c16 … a23 c23
	VPUNPCKHBW Y1, Y0, Y3                        // a8 c8 … a15 c15 | a24 c24 … a31 c31
	VPERM2I128 $0x20, Y3, Y2, Y4                 // pairs 0–15
	VPERM2I128 $0x31, Y3, Y2, Y5                 // pairs 16–31
	VMOVDQU Y4, (DI)                             // outputs 0–31
	VMOVDQU Y5, 32(DI)                           // outputs 32–63
	ADDQ $32, SI                                 // next 32 of a
	ADDQ $32, DX                                 // next 32 of c
	ADDQ $64, DI                                 // next 64 outputs
	DECQ CX
	JNZ ib_loop
ib_done:
	VZEROUPPER                                   // leave no dirty upper state for SSE code
	RET
