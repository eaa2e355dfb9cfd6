//go:build !purego

#include "textflag.h"

// The AVX2 depthwise kernels compute 16 outputs at a time from 16-bit values: for each pair of taps t, t+1 the
// input bytes are widened to int16, interleaved into (x_t, x_t+1) pairs and multiplied-and-added against the
// pair's two weights with VPMADDWD, which is exact where VPMADDUBSW's int16 pair sums would saturate. The
// interleave works within 128-bit lanes, so Y0 holds outputs 0–3 and 8–11 and Y6 outputs 4–7 and 12–15;
// VPACKSSDW puts them back in order.

// QDWA_SETUP loads the constants: Y13 correction, Y12 multiplier, Y11/Y10 clamps, Y9 zero point, Y14 0x00FF in
// every word, Y15 the flip byte in every byte; R14 input bytes per 16 outputs, R15 the weight bytes to skip
// from a kernel row's last pair to the next row's first.
#define QDWA_SETUP \
	MOVQ a+0(FP), AX                 /* AX = the argument block (offsets in qdwArgs) */ \
	VPBROADCASTD 88(AX), Y13         /* correction (bias − za·Σw) */ \
	VPBROADCASTD 92(AX), Y12         /* multiplier */ \
	VPBROADCASTD 96(AX), Y11         /* lower clamp (lo − zp) */ \
	VPBROADCASTD 100(AX), Y10        /* upper clamp (hi − zp) */ \
	VPBROADCASTD 104(AX), Y9         /* zero point */ \
	VPBROADCASTD 108(AX), Y15        /* flip byte in every byte */ \
	VPCMPEQW Y14, Y14, Y14           /* all ones … */ \
	VPSRLW $8, Y14, Y14              /* … 0x00FF in every word */ \
	MOVQ 56(AX), R14                 /* R14 = input bytes per 16 outputs */ \
	MOVQ 40(AX), R15                 /* R15 = groups of 4 taps per kernel row … */ \
	SHLQ $3, R15                     /* … as int16 weight bytes per row */ \
	MOVQ 48(AX), BX                  /* pairs per row … */ \
	SHLQ $2, BX                      /* … as weight bytes */ \
	SUBQ BX, R15                     /* R15 = bytes to skip after a row's pairs */

// QDWA_PAIR accumulates one tap pair given its widened values in Y1 (tap t) and Y2 (tap t+1).
#define QDWA_PAIR \
	VPBROADCASTD (R11), Y3           /* the pair's two int16 weights in every lane */ \
	VPUNPCKLWD Y2, Y1, Y4            /* (x_t, x_t+1) of outputs 0–3 and 8–11 */ \
	VPUNPCKHWD Y2, Y1, Y5            /* … of outputs 4–7 and 12–15 */ \
	VPMADDWD Y3, Y4, Y4              /* x_t·w_t + x_t+1·w_t+1 */ \
	VPMADDWD Y3, Y5, Y5              /* … */ \
	VPADDD Y4, Y0, Y0                /* sums of outputs 0–3, 8–11 */ \
	VPADDD Y5, Y6, Y6                /* sums of outputs 4–7, 12–15 */ \
	ADDQ $4, R11                     /* next pair's weights */

// QDWA_REQ requantizes the 8 sums in Y: + correction, × multiplier, clamp, round half to even (MXCSR's
// default), + zero point.
#define QDWA_REQ(Y) \
	VPADDD Y13, Y, Y \
	VCVTDQ2PS Y, Y \
	VMULPS Y12, Y, Y \
	VMAXPS Y11, Y, Y                 /* a NaN becomes the lower bound, as in the twin */ \
	VMINPS Y10, Y, Y \
	VCVTPS2DQ Y, Y \
	VPADDD Y9, Y, Y

// QDWA_PACK requantizes Y0 and Y6 and leaves the 16 output bytes in order in X0.
#define QDWA_PACK \
	QDWA_REQ(Y0) \
	QDWA_REQ(Y6) \
	VPACKSSDW Y6, Y0, Y0             /* words: outputs 0–7 | 8–15 (values in [−128, 255]) */ \
	VPAND Y14, Y0, Y0                /* each value's low byte */ \
	VEXTRACTI128 $1, Y0, X1          /* outputs 8–15 */ \
	VPACKUSWB X1, X0, X0             /* 16 bytes in order */

// QDWA_TAIL stores the low R13 (1–15) bytes of X0 at DI.
#define QDWA_TAIL(l8, l4, l2, done) \
	TESTQ $8, R13 \
	JZ l8 \
	VMOVQ X0, (DI) \
	VPSRLDQ $8, X0, X0 \
	ADDQ $8, DI \
l8: \
	VMOVQ X0, R10 \
	TESTQ $4, R13 \
	JZ l4 \
	MOVL R10, (DI) \
	SHRQ $32, R10 \
	ADDQ $4, DI \
l4: \
	TESTQ $2, R13 \
	JZ l2 \
	MOVW R10, (DI) \
	SHRQ $16, R10 \
	ADDQ $2, DI \
l2: \
	TESTQ $1, R13 \
	JZ done \
	MOVB R10, (DI)

// func qdwS1AVX2(a *qdwArgs)
TEXT ·qdwS1AVX2(SB), NOSPLIT, $0-8
	QDWA_SETUP
	VPAND Y14, Y15, Y15                          // flip as 0x0080 in every word (applied after widening)
	MOVQ 0(AX), R8                               // R8 = this output row's first window
	MOVQ 72(AX), R9                              // R9 = this output row
	MOVQ 24(AX), R12                             // R12 = output rows left
	TESTQ R12, R12
	JZ s1_done
s1_row:
	MOVQ R8, SI                                  // SI = the next outputs' first window
	MOVQ R9, DI                                  // DI = where they go
	MOVQ 64(AX), R13                             // R13 = outputs left in the row
s1_vec:
	TESTQ R13, R13
	JZ s1_next
	VPXOR Y0, Y0, Y0
	VPXOR Y6, Y6, Y6
	MOVQ SI, R10                                 // R10 = kernel row 0 of the windows
	LEAQ 432(AX), R11                            // R11 = the int16 weight pairs
	MOVQ 32(AX), CX                              // CX = kernel rows left
s1_kh:
	MOVQ R10, BX                                 // BX = this kernel row's next tap pair
	MOVQ 48(AX), DX                              // DX = pairs left in the row
s1_pair:
	VPMOVZXBW (BX), Y1                           // 16 outputs' tap t, as uint16
	VPMOVZXBW 1(BX), Y2                          // … tap t+1
	VPXOR Y15, Y1, Y1                            // int8 data read as uint8 (x ^ 0x80)
	VPXOR Y15, Y2, Y2
	QDWA_PAIR
	ADDQ $2, BX                                  // next pair of taps
	DECQ DX
	JNZ s1_pair
	ADDQ R15, R11                                // next kernel row's weights
	ADDQ 8(AX), R10                              // next kernel row: one padded row down
	DECQ CX
	JNZ s1_kh
	QDWA_PACK
	CMPQ R13, $16                                // a whole vector left?
	JL s1_tail
	VMOVDQU X0, (DI)                             // store 16 outputs
	ADDQ $16, DI
	ADDQ R14, SI                                 // their first window: 16 strides on
	SUBQ $16, R13
	JMP s1_vec
s1_tail:
	QDWA_TAIL(s1_t8, s1_t4, s1_t2, s1_next)
s1_next:
	ADDQ 16(AX), R8                              // next output row's windows
	ADDQ 80(AX), R9                              // next output row
	DECQ R12
	JNZ s1_row
s1_done:
	VZEROUPPER
	RET

// func qdwS2AVX2(a *qdwArgs)
TEXT ·qdwS2AVX2(SB), NOSPLIT, $0-8
	QDWA_SETUP
	MOVQ 0(AX), R8                               // R8 = this output row's first window
	MOVQ 72(AX), R9                              // R9 = this output row
	MOVQ 24(AX), R12                             // R12 = output rows left
	TESTQ R12, R12
	JZ s2_done
s2_row:
	MOVQ R8, SI
	MOVQ R9, DI
	MOVQ 64(AX), R13
s2_vec:
	TESTQ R13, R13
	JZ s2_next
	VPXOR Y0, Y0, Y0
	VPXOR Y6, Y6, Y6
	MOVQ SI, R10
	LEAQ 432(AX), R11
	MOVQ 32(AX), CX
s2_kh:
	MOVQ R10, BX
	MOVQ 48(AX), DX
s2_pair:
	VMOVDQU (BX), Y2                             // 32 bytes: output j's taps t, t+1 are bytes 2j, 2j+1
	VPXOR Y15, Y2, Y2                            // int8 data read as uint8
	VPAND Y14, Y2, Y1                            // tap t of each output, as uint16
	VPSRLW $8, Y2, Y2                            // tap t+1
	QDWA_PAIR
	ADDQ $2, BX
	DECQ DX
	JNZ s2_pair
	ADDQ R15, R11
	ADDQ 8(AX), R10
	DECQ CX
	JNZ s2_kh
	QDWA_PACK
	CMPQ R13, $16
	JL s2_tail
	VMOVDQU X0, (DI)
	ADDQ $16, DI
	ADDQ R14, SI                                 // 32 bytes on
	SUBQ $16, R13
	JMP s2_vec
s2_tail:
	QDWA_TAIL(s2_t8, s2_t4, s2_t2, s2_next)
s2_next:
	ADDQ 16(AX), R8
	ADDQ 80(AX), R9
	DECQ R12
	JNZ s2_row
s2_done:
	VZEROUPPER
	RET
