//go:build !purego

#include "textflag.h"

// The AVX2 versions of the conversions in qconvert_amd64.s, for CPUs without AVX-512. AVX2 has no VPMOVDB, so
// 16 rounded quotients become bytes by two saturating packs: to int16 (exact: qconvWords keeps [lo − zp, hi − zp]
// inside (−32768, 32768)), then, with zp added and each word's low byte kept, to uint8 (exact again). A NaN quotient
// is found after the first pack: the clamps let it through, VCVTPS2DQ turns it into 0x80000000 and the pack into
// −32768, a word nothing else produces; that saves a compare per 8 lanes over testing the floats.

// qconvWordMin is −32768 in every word: the word a NaN quotient packs to.
DATA qconvWordMin<>+0(SB)/8, $0x8000800080008000
DATA qconvWordMin<>+8(SB)/8, $0x8000800080008000
DATA qconvWordMin<>+16(SB)/8, $0x8000800080008000
DATA qconvWordMin<>+24(SB)/8, $0x8000800080008000
GLOBL qconvWordMin<>(SB), RODATA|NOPTR, $32

// qconvLowByte is 0x00FF in every word: the mask that keeps each word's low byte.
DATA qconvLowByte<>+0(SB)/8, $0x00ff00ff00ff00ff
DATA qconvLowByte<>+8(SB)/8, $0x00ff00ff00ff00ff
DATA qconvLowByte<>+16(SB)/8, $0x00ff00ff00ff00ff
DATA qconvLowByte<>+24(SB)/8, $0x00ff00ff00ff00ff
GLOBL qconvLowByte<>(SB), RODATA|NOPTR, $32

// QQ2_STORE16 quantizes the 16 quotients in Y0 (elements 0–7) and Y1 (8–15) as qquantizeGeneric does and stores
// their 16 bytes at (DI), with Y14 = lower clamp, Y13 = upper clamp (floats), Y12 = zero point and Y11 = the NaN
// byte (words). Y2 is scratch.
#define QQ2_STORE16 \
	VMAXPS Y0, Y14, Y0             /* clamp below; MAXPS returns its second source, x, when it is NaN */ \
	VMAXPS Y1, Y14, Y1 \
	VMINPS Y0, Y13, Y0             /* clamp above, NaN again kept */ \
	VMINPS Y1, Y13, Y1 \
	VCVTPS2DQ Y0, Y0               /* round half to even (MXCSR's default) to int32; NaN → 0x80000000 */ \
	VCVTPS2DQ Y1, Y1 \
	VPACKSSDW Y1, Y0, Y0           /* to int16, per 128-bit lane: elements 0–3, 8–11 | 4–7, 12–15 */ \
	VPCMPEQW qconvWordMin<>(SB), Y0, Y2 /* Y2 = the NaN words (saturated to −32768) */ \
	VPADDW Y12, Y0, Y0             /* + zero point: now in [lo, hi] */ \
	VPBLENDVB Y2, Y11, Y0, Y0      /* NaN words take the fixed value */ \
	VPAND qconvLowByte<>(SB), Y0, Y0 /* each word's low byte: the uint8 or the two's-complement int8 */ \
	VPERMQ $0xD8, Y0, Y0           /* elements in order: 0–3, 4–7 | 8–11, 12–15 */ \
	VEXTRACTI128 $1, Y0, X1        /* elements 8–15 */ \
	VPACKUSWB X1, X0, X0           /* 16 bytes (every word is in [0, 255]: nothing saturates) */ \
	VMOVDQU X0, (DI)

// func qquantizeAVX2(y *uint8, x *float32, n int, scale, flo, fhi float32, zp int32, nan int32, mode int, bias int32)
TEXT ·qquantizeAVX2(SB), NOSPLIT, $0-60
	MOVQ y+0(FP), DI                             // DI = output bytes
	MOVQ x+8(FP), SI                             // SI = input floats
	MOVQ n+16(FP), CX                            // CX = elements, a multiple of 16
	VBROADCASTSS scale+24(FP), Y15               // scale (divisor or multiplier) in every lane
	VBROADCASTSS flo+28(FP), Y14                 // lower clamp (lo − zp)
	VBROADCASTSS fhi+32(FP), Y13                 // upper clamp (hi − zp)
	MOVL zp+36(FP), AX                           // zero point
	MOVQ AX, X12
	VPBROADCASTW X12, Y12                        // … in every word (the int32's low half, all the words add)
	MOVL nan+40(FP), AX                          // the value a NaN quotient stores
	MOVQ AX, X11
	VPBROADCASTW X11, Y11                        // … in every word
	MOVL bias+56(FP), AX                         // integer bias (mode 2)
	MOVQ AX, X10
	VPBROADCASTD X10, Y10                        // … in every lane
	MOVQ mode+48(FP), DX                         // DX = 0: divide, 1: multiply, 2: sums + bias, multiplied
	SHRQ $4, CX                                  // groups of 16
	JZ qq2_done
	CMPQ DX, $1                                  // pick the loop once, outside it
	JEQ qq2_mul
	JGT qq2_sums
qq2_div:
	VMOVUPS (SI), Y0                             // inputs 0–7
	VMOVUPS 32(SI), Y1                           // inputs 8–15
	VDIVPS Y15, Y0, Y0                           // x / scale, rounded as float32 division
	VDIVPS Y15, Y1, Y1
	QQ2_STORE16                                  // clamp, round, offset, 16 bytes out
	ADDQ $64, SI                                 // next 16 inputs
	ADDQ $16, DI                                 // next 16 bytes
	DECQ CX
	JNZ qq2_div
	JMP qq2_done
qq2_mul:
	VMOVUPS (SI), Y0                             // inputs 0–7
	VMOVUPS 32(SI), Y1                           // inputs 8–15
	VMULPS Y15, Y0, Y0                           // x · multiplier
	VMULPS Y15, Y1, Y1
	QQ2_STORE16                                  // clamp, round, offset, 16 bytes out
	ADDQ $64, SI                                 // next 16 inputs
	ADDQ $16, DI                                 // next 16 bytes
	DECQ CX
	JNZ qq2_mul
	JMP qq2_done
qq2_sums:
	VCVTPS2DQ (SI), Y0                           // sums 0–7 to int32 (exact: they are integers below 2²⁴)
	VCVTPS2DQ 32(SI), Y1                         // sums 8–15
	VPADDD Y10, Y0, Y0                           // + bias, in integers
	VPADDD Y10, Y1, Y1
	VCVTDQ2PS Y0, Y0                             // to float32 (rounded as float32(s) when |s| ≥ 2²⁴)
	VCVTDQ2PS Y1, Y1
	VMULPS Y15, Y0, Y0                           // × multiplier
	VMULPS Y15, Y1, Y1
	QQ2_STORE16                                  // clamp, round, offset, 16 bytes out
	ADDQ $64, SI                                 // next 16 sums
	ADDQ $16, DI                                 // next 16 bytes
	DECQ CX
	JNZ qq2_sums
qq2_done:
	VZEROUPPER                                   // leave no dirty upper state for SSE code
	RET

// func qdequantizeAVX2(y *float32, x *uint8, n int, signed int, zp, scale float32)
TEXT ·qdequantizeAVX2(SB), NOSPLIT, $0-40
	MOVQ y+0(FP), DI                             // DI = output floats
	MOVQ x+8(FP), SI                             // SI = input bytes
	MOVQ n+16(FP), CX                            // CX = elements, a multiple of 16
	MOVQ signed+24(FP), DX                       // DX = 1: bytes are int8, 0: uint8
	VBROADCASTSS zp+32(FP), Y14                  // zero point (float32) in every lane
	VBROADCASTSS scale+36(FP), Y15               // scale in every lane
	SHRQ $4, CX                                  // groups of 16
	JZ dq2_done
	TESTQ DX, DX                                 // pick the loop once, outside it
	JZ dq2_u8
dq2_s8:
	VPMOVSXBD (SI), Y0                           // bytes 0–7 sign-extended to int32
	VPMOVSXBD 8(SI), Y1                          // bytes 8–15
	VCVTDQ2PS Y0, Y0                             // to float32 (exact)
	VCVTDQ2PS Y1, Y1
	VSUBPS Y14, Y0, Y0                           // − zero point (exact: both small integers)
	VSUBPS Y14, Y1, Y1
	VMULPS Y15, Y0, Y0                           // × scale, rounded as float32 (no FMA: it would round once)
	VMULPS Y15, Y1, Y1
	VMOVUPS Y0, (DI)                             // outputs 0–7
	VMOVUPS Y1, 32(DI)                           // outputs 8–15
	ADDQ $16, SI                                 // next 16 bytes
	ADDQ $64, DI                                 // next 16 floats
	DECQ CX
	JNZ dq2_s8
	JMP dq2_done
dq2_u8:
	VPMOVZXBD (SI), Y0                           // bytes 0–7 zero-extended to int32
	VPMOVZXBD 8(SI), Y1                          // bytes 8–15
	VCVTDQ2PS Y0, Y0                             // to float32 (exact)
	VCVTDQ2PS Y1, Y1
	VSUBPS Y14, Y0, Y0                           // − zero point
	VSUBPS Y14, Y1, Y1
	VMULPS Y15, Y0, Y0                           // × scale
	VMULPS Y15, Y1, Y1
	VMOVUPS Y0, (DI)                             // outputs 0–7
	VMOVUPS Y1, 32(DI)                           // outputs 8–15
	ADDQ $16, SI                                 // next 16 bytes
	ADDQ $64, DI                                 // next 16 floats
	DECQ CX
	JNZ dq2_u8
dq2_done:
	VZEROUPPER                                   // leave no dirty upper state for SSE code
	RET

// QB2_OPERAND dequantizes 16 bytes at PTR, xor-ed with FLIP, into LO (elements 0–7) and HI (8–15) as
// (float32(v ^ flip) − ZERO)·SCALE, DequantizeLinear's value.
#define QB2_OPERAND(PTR, FLIP, ZERO, SCALE, LO, HI) \
	VPMOVZXBD (PTR), LO            /* bytes 0–7 widened to int32 */ \
	VPMOVZXBD 8(PTR), HI           /* bytes 8–15 */ \
	VPXOR FLIP, LO, LO             /* read as uint8: an int8 byte flips its top bit */ \
	VPXOR FLIP, HI, HI \
	VCVTDQ2PS LO, LO               /* to float32 (exact) */ \
	VCVTDQ2PS HI, HI \
	VSUBPS ZERO, LO, LO            /* − zero point, moved with the flip (exact) */ \
	VSUBPS ZERO, HI, HI \
	VMULPS SCALE, LO, LO           /* × scale */ \
	VMULPS SCALE, HI, HI

// func qbinaryAVX2(y, a, b *uint8, n int, fa, fb uint8, za, sa, zb, sb, sc, flo, fhi float32, zc, nan int32, mul int)
TEXT ·qbinaryAVX2(SB), NOSPLIT, $0-80
	MOVQ y+0(FP), DI                             // DI = output bytes
	MOVQ a+8(FP), SI                             // SI = A's bytes
	MOVQ b+16(FP), R8                            // R8 = B's bytes
	MOVQ n+24(FP), CX                            // CX = elements, a multiple of 16
	MOVBLZX fa+32(FP), AX                        // A's flip byte (0 or 0x80) …
	MOVQ AX, X4
	VPBROADCASTD X4, Y4                          // … in every int32 lane
	MOVBLZX fb+33(FP), AX                        // B's flip byte …
	MOVQ AX, X5
	VPBROADCASTD X5, Y5                          // … in every int32 lane
	VBROADCASTSS za+36(FP), Y6                   // A's zero point (moved with the flip)
	VBROADCASTSS sa+40(FP), Y7                   // A's scale
	VBROADCASTSS zb+44(FP), Y8                   // B's zero point
	VBROADCASTSS sb+48(FP), Y9                   // B's scale
	VBROADCASTSS sc+52(FP), Y10                  // the output's scale
	VBROADCASTSS flo+56(FP), Y14                 // lower clamp (lo − zc)
	VBROADCASTSS fhi+60(FP), Y13                 // upper clamp (hi − zc)
	MOVL zc+64(FP), AX                           // the output's zero point
	MOVQ AX, X12
	VPBROADCASTW X12, Y12                        // … in every word
	MOVL nan+68(FP), AX                          // the value a NaN quotient stores
	MOVQ AX, X11
	VPBROADCASTW X11, Y11                        // … in every word
	MOVQ mul+72(FP), DX                          // DX = 0: sum, 1: product
	SHRQ $4, CX                                  // groups of 16
	JZ qb2_done
	TESTQ DX, DX                                 // pick the loop once, outside it
	JNZ qb2_mul
qb2_add:
	QB2_OPERAND(SI, Y4, Y6, Y7, Y0, Y1)          // A's 16 values
	QB2_OPERAND(R8, Y5, Y8, Y9, Y2, Y3)          // B's 16 values
	VADDPS Y2, Y0, Y0                            // the float32 sums
	VADDPS Y3, Y1, Y1
	VDIVPS Y10, Y0, Y0                           // / output scale, as QuantizeLinear divides
	VDIVPS Y10, Y1, Y1
	QQ2_STORE16                                  // clamp, round, offset, 16 bytes out
	ADDQ $16, SI                                 // next 16 of A
	ADDQ $16, R8                                 // next 16 of B
	ADDQ $16, DI                                 // next 16 outputs
	DECQ CX
	JNZ qb2_add
	JMP qb2_done
qb2_mul:
	QB2_OPERAND(SI, Y4, Y6, Y7, Y0, Y1)          // A's 16 values
	QB2_OPERAND(R8, Y5, Y8, Y9, Y2, Y3)          // B's 16 values
	VMULPS Y2, Y0, Y0                            // the float32 products
	VMULPS Y3, Y1, Y1
	VDIVPS Y10, Y0, Y0                           // / output scale
	VDIVPS Y10, Y1, Y1
	QQ2_STORE16                                  // clamp, round, offset, 16 bytes out
	ADDQ $16, SI                                 // next 16 of A
	ADDQ $16, R8                                 // next 16 of B
	ADDQ $16, DI                                 // next 16 outputs
	DECQ CX
	JNZ qb2_mul
qb2_done:
	VZEROUPPER                                   // leave no dirty upper state for SSE code
	RET

// NHWC2_GROUP8 loads channels BASE … BASE+7 planes (stride BX, R12 = 3·stride) at 32 pixels, xor-ed with Y15 (the
// flip), and transposes them by three rounds of unpacks within each 128-bit lane: Y9, Y10, Y11, Y12, Y13, Y14, Y0,
// Y1 end up holding the 8 channels of pixels (0, 1), (2, 3), … (14, 15) of each lane, a quadword per pixel. R14 is
// scratch.
#define NHWC2_GROUP8(BASE) \
	LEAQ (BASE)(BX*4), R14         /* the group's channel 4 */ \
	VPXOR (BASE), Y15, Y0          /* channel 0: 32 pixels, xor flip */ \
	VPXOR (BASE)(BX*1), Y15, Y1    /* channel 1 */ \
	VPXOR (BASE)(BX*2), Y15, Y2    /* channel 2 */ \
	VPXOR (BASE)(R12*1), Y15, Y3   /* channel 3 */ \
	VPXOR (R14), Y15, Y4           /* channel 4 */ \
	VPXOR (R14)(BX*1), Y15, Y5     /* channel 5 */ \
	VPXOR (R14)(BX*2), Y15, Y6     /* channel 6 */ \
	VPXOR (R14)(R12*1), Y15, Y7    /* channel 7 */ \
	VPUNPCKLBW Y1, Y0, Y8          /* channels 0,1 paired per pixel, pixels 0–7 of each lane */ \
	VPUNPCKHBW Y1, Y0, Y9          /* pixels 8–15 */ \
	VPUNPCKLBW Y3, Y2, Y10         /* channels 2,3, pixels 0–7 */ \
	VPUNPCKHBW Y3, Y2, Y11         /* pixels 8–15 */ \
	VPUNPCKLBW Y5, Y4, Y12         /* channels 4,5, pixels 0–7 */ \
	VPUNPCKHBW Y5, Y4, Y13         /* pixels 8–15 */ \
	VPUNPCKLBW Y7, Y6, Y14         /* channels 6,7, pixels 0–7 */ \
	VPUNPCKHBW Y7, Y6, Y0          /* pixels 8–15 */ \
	VPUNPCKLWD Y10, Y8, Y1         /* channels 0–3 per pixel, pixels 0–3 of each lane */ \
	VPUNPCKHWD Y10, Y8, Y2         /* pixels 4–7 */ \
	VPUNPCKLWD Y11, Y9, Y3         /* pixels 8–11 */ \
	VPUNPCKHWD Y11, Y9, Y4         /* pixels 12–15 */ \
	VPUNPCKLWD Y14, Y12, Y5        /* channels 4–7 per pixel, pixels 0–3 */ \
	VPUNPCKHWD Y14, Y12, Y6        /* pixels 4–7 */ \
	VPUNPCKLWD Y0, Y13, Y7         /* pixels 8–11 */ \
	VPUNPCKHWD Y0, Y13, Y8         /* pixels 12–15 */ \
	VPUNPCKLDQ Y5, Y1, Y9          /* channels 0–7 per pixel, pixels 0,1 of each lane */ \
	VPUNPCKHDQ Y5, Y1, Y10         /* pixels 2,3 */ \
	VPUNPCKLDQ Y6, Y2, Y11         /* pixels 4,5 */ \
	VPUNPCKHDQ Y6, Y2, Y12         /* pixels 6,7 */ \
	VPUNPCKLDQ Y7, Y3, Y13         /* pixels 8,9 */ \
	VPUNPCKHDQ Y7, Y3, Y14         /* pixels 10,11 */ \
	VPUNPCKLDQ Y8, Y4, Y0          /* pixels 12,13 */ \
	VPUNPCKHDQ Y8, Y4, Y1          /* pixels 14,15 */

// func qtoNHWCAVX2(dst *uint8, src *uint8, c int, stride int, nblk int, flip uint8)
TEXT ·qtoNHWCAVX2(SB), NOSPLIT, $256-41
	MOVQ dst+0(FP), DI                           // DI = pixel 0 of the block, channel 0 of the 16
	MOVQ src+8(FP), SI                           // SI = channel 0's plane at pixel 0
	MOVQ c+16(FP), R8                            // R8 = c: bytes from one output pixel to the next
	MOVQ stride+24(FP), BX                       // BX = bytes from one channel plane to the next
	MOVQ nblk+32(FP), CX                         // CX = blocks of 32 pixels left
	LEAQ (BX)(BX*2), R12                         // R12 = 3 planes
	LEAQ (R8)(R8*2), R9                          // R9 = 3 pixels of output
	LEAQ (R8)(R8*4), R10                         // R10 = 5 pixels
	LEAQ (R9)(R8*4), R11                         // R11 = 7 pixels
	TESTQ CX, CX                                 // no whole block: nothing to do
	JZ nhwc2_done
nhwc2_loop:
	VPBROADCASTB flip+40(FP), Y15                // the flip byte in every lane (Y15 is reused below)
	LEAQ (SI)(BX*8), R13                         // channel 8's plane
	NHWC2_GROUP8(R13)                            // channels 8–15, as quadwords per pixel …
	VMOVDQU Y9, 0(SP)                            // … wait in the frame: pixels 0,1
	VMOVDQU Y10, 32(SP)                          // pixels 2,3
	VMOVDQU Y11, 64(SP)                          // pixels 4,5
	VMOVDQU Y12, 96(SP)                          // pixels 6,7
	VMOVDQU Y13, 128(SP)                         // pixels 8,9
	VMOVDQU Y14, 160(SP)                         // pixels 10,11
	VMOVDQU Y0, 192(SP)                          // pixels 12,13
	VMOVDQU Y1, 224(SP)                          // pixels 14,15
	NHWC2_GROUP8(SI)                             // channels 0–7, as quadwords per pixel
	LEAQ (DI)(R8*8), DX                          // DX = the output of pixel 8
	LEAQ (DX)(R8*8), AX                          // AX = pixel 16
	LEAQ (AX)(R8*8), R14                         // R14 = pixel 24
	VPUNPCKLQDQ 0(SP), Y9, Y2                    // channels 0–15 of pixel 0 (lane 0) and 16 (lane 1)
	VPUNPCKHQDQ 0(SP), Y9, Y3                    // pixels 1 and 17
	VMOVDQU X2, (DI)                             // pixel 0's 16 channels
	VMOVDQU X3, (DI)(R8*1)                       // pixel 1's
	VEXTRACTI128 $1, Y2, (AX)                    // pixel 16's
	VEXTRACTI128 $1, Y3, (AX)(R8*1)              // pixel 17's
	VPUNPCKLQDQ 32(SP), Y10, Y4                  // channels 0–15 of pixel 2 (lane 0) and 18 (lane 1)
	VPUNPCKHQDQ 32(SP), Y10, Y5                  // pixels 3 and 19
	VMOVDQU X4, (DI)(R8*2)                       // pixel 2's 16 channels
	VMOVDQU X5, (DI)(R9*1)                       // pixel 3's
	VEXTRACTI128 $1, Y4, (AX)(R8*2)              // pixel 18's
	VEXTRACTI128 $1, Y5, (AX)(R9*1)              // pixel 19's
	VPUNPCKLQDQ 64(SP), Y11, Y6                  // channels 0–15 of pixel 4 (lane 0) and 20 (lane 1)
	VPUNPCKHQDQ 64(SP), Y11, Y7                  // pixels 5 and 21
	VMOVDQU X6, (DI)(R8*4)                       // pixel 4's 16 channels
	VMOVDQU X7, (DI)(R10*1)                      // pixel 5's
	VEXTRACTI128 $1, Y6, (AX)(R8*4)              // pixel 20's
	VEXTRACTI128 $1, Y7, (AX)(R10*1)             // pixel 21's
	VPUNPCKLQDQ 96(SP), Y12, Y8                  // channels 0–15 of pixel 6 (lane 0) and 22 (lane 1)
	VPUNPCKHQDQ 96(SP), Y12, Y15                 // pixels 7 and 23
	VMOVDQU X8, (DI)(R9*2)                       // pixel 6's 16 channels
	VMOVDQU X15, (DI)(R11*1)                     // pixel 7's
	VEXTRACTI128 $1, Y8, (AX)(R9*2)              // pixel 22's
	VEXTRACTI128 $1, Y15, (AX)(R11*1)            // pixel 23's
	VPUNPCKLQDQ 128(SP), Y13, Y2                 // channels 0–15 of pixel 8 (lane 0) and 24 (lane 1)
	VPUNPCKHQDQ 128(SP), Y13, Y3                 // pixels 9 and 25
	VMOVDQU X2, (DX)                             // pixel 8's 16 channels
	VMOVDQU X3, (DX)(R8*1)                       // pixel 9's
	VEXTRACTI128 $1, Y2, (R14)                   // pixel 24's
	VEXTRACTI128 $1, Y3, (R14)(R8*1)             // pixel 25's
	VPUNPCKLQDQ 160(SP), Y14, Y4                 // channels 0–15 of pixel 10 (lane 0) and 26 (lane 1)
	VPUNPCKHQDQ 160(SP), Y14, Y5                 // pixels 11 and 27
	VMOVDQU X4, (DX)(R8*2)                       // pixel 10's 16 channels
	VMOVDQU X5, (DX)(R9*1)                       // pixel 11's
	VEXTRACTI128 $1, Y4, (R14)(R8*2)             // pixel 26's
	VEXTRACTI128 $1, Y5, (R14)(R9*1)             // pixel 27's
	VPUNPCKLQDQ 192(SP), Y0, Y6                  // channels 0–15 of pixel 12 (lane 0) and 28 (lane 1)
	VPUNPCKHQDQ 192(SP), Y0, Y7                  // pixels 13 and 29
	VMOVDQU X6, (DX)(R8*4)                       // pixel 12's 16 channels
	VMOVDQU X7, (DX)(R10*1)                      // pixel 13's
	VEXTRACTI128 $1, Y6, (R14)(R8*4)             // pixel 28's
	VEXTRACTI128 $1, Y7, (R14)(R10*1)            // pixel 29's
	VPUNPCKLQDQ 224(SP), Y1, Y8                  // channels 0–15 of pixel 14 (lane 0) and 30 (lane 1)
	VPUNPCKHQDQ 224(SP), Y1, Y15                 // pixels 15 and 31
	VMOVDQU X8, (DX)(R9*2)                       // pixel 14's 16 channels
	VMOVDQU X15, (DX)(R11*1)                     // pixel 15's
	VEXTRACTI128 $1, Y8, (R14)(R9*2)             // pixel 30's
	VEXTRACTI128 $1, Y15, (R14)(R11*1)           // pixel 31's
	LEAQ (R14)(R8*8), DI                         // the next block's output: pixel 32
	ADDQ $32, SI                                 // the next 32 pixels of the planes
	DECQ CX                                      // one block done
	JNZ nhwc2_loop                               // until none is left
nhwc2_done:
	VZEROUPPER                                   // leave no dirty upper state for SSE code
	RET
