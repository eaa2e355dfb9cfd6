//go:build !purego

#include "textflag.h"

// func qquantizeAVX512(y *uint8, x *float32, n int, scale, flo, fhi float32, zp int32, nan int32, mode int, bias int32)
TEXT ·qquantizeAVX512(SB), NOSPLIT, $0-60
	MOVQ y+0(FP), DI                             // DI = output bytes
	MOVQ x+8(FP), SI                             // SI = input floats
	MOVQ n+16(FP), CX                            // CX = elements, a multiple of 16
	MOVL scale+24(FP), AX                        // scale, float32 bits
	VPBROADCASTD AX, Z27                         // … in every lane
	MOVL flo+28(FP), AX                          // lower clamp (lo − zp), float32 bits
	VPBROADCASTD AX, Z28                         // … in every lane
	MOVL fhi+32(FP), AX                          // upper clamp (hi − zp), float32 bits
	VPBROADCASTD AX, Z29                         // … in every lane
	MOVL zp+36(FP), AX                           // zero point
	VPBROADCASTD AX, Z30                         // … in every lane
	MOVL nan+40(FP), AX                          // the value a NaN quotient stores
	VPBROADCASTD AX, Z31                         // … in every lane
	MOVL bias+56(FP), AX                         // integer bias (mode 2)
	VPBROADCASTD AX, Z26                         // … in every lane
	MOVQ mode+48(FP), DX                         // DX = 0: divide, 1: multiply, 2: sums + bias, multiplied
	SHRQ $4, CX                                  // groups of 16
	JZ qq_done
	CMPQ DX, $1                                  // pick the loop once, outside it
	JEQ qq_mul
	JGT qq_sums
qq_div:
	VMOVUPS (SI), Z0                             // 16 inputs
	VDIVPS Z27, Z0, Z0                           // x / scale, rounded as float32 division
	VCMPPS $3, Z0, Z0, K1                        // K1 = lanes whose quotient is NaN (unordered)
	VMAXPS Z28, Z0, Z0                           // clamp below (a NaN lane takes the bound; fixed below)
	VMINPS Z29, Z0, Z0                           // clamp above
	VCVTPS2DQ.RN_SAE Z0, Z0                      // round half to even to int32
	VPADDD Z30, Z0, Z0                           // + zero point: now in [lo, hi]
	VMOVDQA32 Z31, K1, Z0                        // NaN lanes store the fixed value instead
	VPMOVDB Z0, (DI)                             // low byte of each lane: the uint8 or two's-complement int8
	ADDQ $64, SI                                 // next 16 inputs
	ADDQ $16, DI                                 // next 16 bytes
	DECQ CX
	JNZ qq_div
	JMP qq_done
qq_mul:
	VMOVUPS (SI), Z0                             // 16 inputs
	VMULPS Z27, Z0, Z0                           // x · multiplier
	VCMPPS $3, Z0, Z0, K1                        // K1 = lanes whose product is NaN (unordered)
	VMAXPS Z28, Z0, Z0                           // clamp below (a NaN lane takes the bound; fixed below)
	VMINPS Z29, Z0, Z0                           // clamp above
	VCVTPS2DQ.RN_SAE Z0, Z0                      // round half to even to int32
	VPADDD Z30, Z0, Z0                           // + zero point: now in [lo, hi]
	VMOVDQA32 Z31, K1, Z0                        // NaN lanes store the fixed value instead
	VPMOVDB Z0, (DI)                             // low byte of each lane
	ADDQ $64, SI                                 // next 16 inputs
	ADDQ $16, DI                                 // next 16 bytes
	DECQ CX
	JNZ qq_mul
	JMP qq_done
qq_sums:
	VMOVUPS (SI), Z0                             // 16 sums (integers below 2²⁴ held as float32)
	VCVTPS2DQ Z0, Z0                             // to int32 (exact in any rounding mode: they are integers)
	VPADDD Z26, Z0, Z0                           // + bias, in integers
	VCVTDQ2PS Z0, Z0                             // to float32 (rounded as float32(s) when |s| ≥ 2²⁴)
	VMULPS Z27, Z0, Z0                           // × multiplier
	VCMPPS $3, Z0, Z0, K1                        // K1 = NaN products (0·∞, a NaN multiplier): the twin's NaN byte
	VMAXPS Z28, Z0, Z0                           // clamp below
	VMINPS Z29, Z0, Z0                           // clamp above
	VCVTPS2DQ.RN_SAE Z0, Z0                      // round half to even to int32
	VPADDD Z30, Z0, Z0                           // + zero point: now in [lo, hi]
	VMOVDQA32 Z31, K1, Z0                        // NaN lanes store the fixed value instead
	VPMOVDB Z0, (DI)                             // low byte of each lane
	ADDQ $64, SI                                 // next 16 sums
	ADDQ $16, DI                                 // next 16 bytes
	DECQ CX
	JNZ qq_sums
qq_done:
	VZEROUPPER                                   // leave no dirty upper state for SSE code
	RET

// func qdequantizeAVX512(y *float32, x *uint8, n int, signed int, zp, scale float32)
TEXT ·qdequantizeAVX512(SB), NOSPLIT, $0-40
	MOVQ y+0(FP), DI                             // DI = output floats
	MOVQ x+8(FP), SI                             // SI = input bytes
	MOVQ n+16(FP), CX                            // CX = elements, a multiple of 16
	MOVQ signed+24(FP), DX                       // DX = 1: bytes are int8, 0: uint8
	MOVL zp+32(FP), AX                           // zero point as float32 bits
	VPBROADCASTD AX, Z28                         // … in every lane
	MOVL scale+36(FP), AX                        // scale, float32 bits
	VPBROADCASTD AX, Z29                         // … in every lane
	SHRQ $4, CX                                  // groups of 16
	JZ dq_done
	TESTQ DX, DX                                 // pick the loop once, outside it
	JZ dq_u8
dq_s8:
	VPMOVSXBD (SI), Z0                           // 16 int8 sign-extended to int32
	VCVTDQ2PS Z0, Z0                             // to float32 (exact)
	VSUBPS Z28, Z0, Z0                           // − zero point (exact: both small integers)
	VMULPS Z29, Z0, Z0                           // × scale, rounded as float32
	VMOVUPS Z0, (DI)                             // 16 outputs
	ADDQ $16, SI                                 // next 16 bytes
	ADDQ $64, DI                                 // next 16 floats
	DECQ CX
	JNZ dq_s8
	JMP dq_done
dq_u8:
	VPMOVZXBD (SI), Z0                           // 16 uint8 zero-extended to int32
	VCVTDQ2PS Z0, Z0                             // to float32 (exact)
	VSUBPS Z28, Z0, Z0                           // − zero point
	VMULPS Z29, Z0, Z0                           // × scale
	VMOVUPS Z0, (DI)                             // 16 outputs
	ADDQ $16, SI                                 // next 16 bytes
	ADDQ $64, DI                                 // next 16 floats
	DECQ CX
	JNZ dq_u8
dq_done:
	VZEROUPPER                                   // leave no dirty upper state for SSE code
	RET

// func qtoNHWCAVX512(dst *uint8, src *uint8, c int, stride int, nblk int, flip uint8)
TEXT ·qtoNHWCAVX512(SB), NOSPLIT, $0-41
	MOVQ dst+0(FP), DI                           // DI = pixel 0 of the block, channel 0 of the 16
	MOVQ src+8(FP), SI                           // SI = channel 0's plane at pixel 0
	MOVQ c+16(FP), R8                            // R8 = c: bytes from one output pixel to the next
	MOVQ stride+24(FP), BX                       // BX = bytes from one channel plane to the next
	MOVQ nblk+32(FP), CX                         // CX = blocks of 64 pixels left
	LEAQ (BX)(BX*2), R12                         // R12 = 3 planes
	LEAQ (SI)(BX*4), R13                         // R13 = channel 4's plane
	LEAQ (R13)(BX*4), R14                        // R14 = channel 8's plane
	LEAQ (R14)(BX*4), AX                         // AX = channel 12's plane
	LEAQ (R8)(R8*2), R9                          // R9 = 3 pixels of output
	LEAQ (R8)(R8*4), R10                         // R10 = 5 pixels
	LEAQ (R9)(R8*4), R11                         // R11 = 7 pixels
	TESTQ CX, CX                                 // no whole block: nothing to do
	JZ nhwc_done
nhwc_loop:
	VPBROADCASTB flip+40(FP), Z31                // the flip byte in every lane (Z31 is reused below)
	VPXORQ (SI), Z31, Z0                         // channel 0: 64 pixels, xor flip
	VPXORQ (SI)(BX*1), Z31, Z1                   // channel 1: 64 pixels, xor flip
	VPXORQ (SI)(BX*2), Z31, Z2                   // channel 2: 64 pixels, xor flip
	VPXORQ (SI)(R12*1), Z31, Z3                  // channel 3: 64 pixels, xor flip
	VPXORQ (R13), Z31, Z4                        // channel 4: 64 pixels, xor flip
	VPXORQ (R13)(BX*1), Z31, Z5                  // channel 5: 64 pixels, xor flip
	VPXORQ (R13)(BX*2), Z31, Z6                  // channel 6: 64 pixels, xor flip
	VPXORQ (R13)(R12*1), Z31, Z7                 // channel 7: 64 pixels, xor flip
	VPXORQ (R14), Z31, Z8                        // channel 8: 64 pixels, xor flip
	VPXORQ (R14)(BX*1), Z31, Z9                  // channel 9: 64 pixels, xor flip
	VPXORQ (R14)(BX*2), Z31, Z10                 // channel 10: 64 pixels, xor flip
	VPXORQ (R14)(R12*1), Z31, Z11                // channel 11: 64 pixels, xor flip
	VPXORQ (AX), Z31, Z12                        // channel 12: 64 pixels, xor flip
	VPXORQ (AX)(BX*1), Z31, Z13                  // channel 13: 64 pixels, xor flip
	VPXORQ (AX)(BX*2), Z31, Z14                  // channel 14: 64 pixels, xor flip
	VPXORQ (AX)(R12*1), Z31, Z15                 // channel 15: 64 pixels, xor flip
	VPUNPCKLBW Z1, Z0, Z16                       // channels 0,1 paired per pixel, pixels 0–7 of each lane
	VPUNPCKHBW Z1, Z0, Z17                       // pixels 8–15 of each lane
	VPUNPCKLBW Z3, Z2, Z18                       // channels 2,3 paired per pixel, pixels 0–7 of each lane
	VPUNPCKHBW Z3, Z2, Z19                       // pixels 8–15 of each lane
	VPUNPCKLBW Z5, Z4, Z20                       // channels 4,5 paired per pixel, pixels 0–7 of each lane
	VPUNPCKHBW Z5, Z4, Z21                       // pixels 8–15 of each lane
	VPUNPCKLBW Z7, Z6, Z22                       // channels 6,7 paired per pixel, pixels 0–7 of each lane
	VPUNPCKHBW Z7, Z6, Z23                       // pixels 8–15 of each lane
	VPUNPCKLBW Z9, Z8, Z24                       // channels 8,9 paired per pixel, pixels 0–7 of each lane
	VPUNPCKHBW Z9, Z8, Z25                       // pixels 8–15 of each lane
	VPUNPCKLBW Z11, Z10, Z26                     // channels 10,11 paired per pixel, pixels 0–7 of each lane
	VPUNPCKHBW Z11, Z10, Z27                     // pixels 8–15 of each lane
	VPUNPCKLBW Z13, Z12, Z28                     // channels 12,13 paired per pixel, pixels 0–7 of each lane
	VPUNPCKHBW Z13, Z12, Z29                     // pixels 8–15 of each lane
	VPUNPCKLBW Z15, Z14, Z30                     // channels 14,15 paired per pixel, pixels 0–7 of each lane
	VPUNPCKHBW Z15, Z14, Z31                     // pixels 8–15 of each lane
	VPUNPCKLWD Z18, Z16, Z0                      // channels 0–3 per pixel, pixels 0–3 of each lane
	VPUNPCKHWD Z18, Z16, Z1                      // pixels 4–7
	VPUNPCKLWD Z19, Z17, Z2                      // channels 0–3 per pixel, pixels 8–11 of each lane
	VPUNPCKHWD Z19, Z17, Z3                      // pixels 12–15
	VPUNPCKLWD Z22, Z20, Z4                      // channels 4–7 per pixel, pixels 0–3 of each lane
	VPUNPCKHWD Z22, Z20, Z5                      // pixels 4–7
	VPUNPCKLWD Z23, Z21, Z6                      // channels 4–7 per pixel, pixels 8–11 of each lane
	VPUNPCKHWD Z23, Z21, Z7                      // pixels 12–15
	VPUNPCKLWD Z26, Z24, Z8                      // channels 8–11 per pixel, pixels 0–3 of each lane
	VPUNPCKHWD Z26, Z24, Z9                      // pixels 4–7
	VPUNPCKLWD Z27, Z25, Z10                     // channels 8–11 per pixel, pixels 8–11 of each lane
	VPUNPCKHWD Z27, Z25, Z11                     // pixels 12–15
	VPUNPCKLWD Z30, Z28, Z12                     // channels 12–15 per pixel, pixels 0–3 of each lane
	VPUNPCKHWD Z30, Z28, Z13                     // pixels 4–7
	VPUNPCKLWD Z31, Z29, Z14                     // channels 12–15 per pixel, pixels 8–11 of each lane
	VPUNPCKHWD Z31, Z29, Z15                     // pixels 12–15
	VPUNPCKLDQ Z4, Z0, Z16                       // channels 0–7 per pixel, pixels 0,1 of each lane
	VPUNPCKHDQ Z4, Z0, Z17                       // pixels 2,3
	VPUNPCKLDQ Z5, Z1, Z18                       // channels 0–7 per pixel, pixels 4,5 of each lane
	VPUNPCKHDQ Z5, Z1, Z19                       // pixels 6,7
	VPUNPCKLDQ Z6, Z2, Z20                       // channels 0–7 per pixel, pixels 8,9 of each lane
	VPUNPCKHDQ Z6, Z2, Z21                       // pixels 10,11
	VPUNPCKLDQ Z7, Z3, Z22                       // channels 0–7 per pixel, pixels 12,13 of each lane
	VPUNPCKHDQ Z7, Z3, Z23                       // pixels 14,15
	VPUNPCKLDQ Z12, Z8, Z24                      // channels 8–15 per pixel, pixels 0,1 of each lane
	VPUNPCKHDQ Z12, Z8, Z25                      // pixels 2,3
	VPUNPCKLDQ Z13, Z9, Z26                      // channels 8–15 per pixel, pixels 4,5 of each lane
	VPUNPCKHDQ Z13, Z9, Z27                      // pixels 6,7
	VPUNPCKLDQ Z14, Z10, Z28                     // channels 8–15 per pixel, pixels 8,9 of each lane
	VPUNPCKHDQ Z14, Z10, Z29                     // pixels 10,11
	VPUNPCKLDQ Z15, Z11, Z30                     // channels 8–15 per pixel, pixels 12,13 of each lane
	VPUNPCKHDQ Z15, Z11, Z31                     // pixels 14,15
	VPUNPCKLQDQ Z24, Z16, Z0                     // channels 0–15 of pixel 0 of each lane
	VPUNPCKHQDQ Z24, Z16, Z1                     // pixel 1
	VPUNPCKLQDQ Z25, Z17, Z2                     // channels 0–15 of pixel 2 of each lane
	VPUNPCKHQDQ Z25, Z17, Z3                     // pixel 3
	VPUNPCKLQDQ Z26, Z18, Z4                     // channels 0–15 of pixel 4 of each lane
	VPUNPCKHQDQ Z26, Z18, Z5                     // pixel 5
	VPUNPCKLQDQ Z27, Z19, Z6                     // channels 0–15 of pixel 6 of each lane
	VPUNPCKHQDQ Z27, Z19, Z7                     // pixel 7
	VPUNPCKLQDQ Z28, Z20, Z8                     // channels 0–15 of pixel 8 of each lane
	VPUNPCKHQDQ Z28, Z20, Z9                     // pixel 9
	VPUNPCKLQDQ Z29, Z21, Z10                    // channels 0–15 of pixel 10 of each lane
	VPUNPCKHQDQ Z29, Z21, Z11                    // pixel 11
	VPUNPCKLQDQ Z30, Z22, Z12                    // channels 0–15 of pixel 12 of each lane
	VPUNPCKHQDQ Z30, Z22, Z13                    // pixel 13
	VPUNPCKLQDQ Z31, Z23, Z14                    // channels 0–15 of pixel 14 of each lane
	VPUNPCKHQDQ Z31, Z23, Z15                    // pixel 15
	MOVQ DI, DX                                  // DX = the output of pixel 0
	VMOVDQU X0, (DX)                             // pixel 0's 16 channels
	VMOVDQU X1, (DX)(R8*1)                       // pixel 1's 16 channels
	VMOVDQU X2, (DX)(R8*2)                       // pixel 2's 16 channels
	VMOVDQU X3, (DX)(R9*1)                       // pixel 3's 16 channels
	VMOVDQU X4, (DX)(R8*4)                       // pixel 4's 16 channels
	VMOVDQU X5, (DX)(R10*1)                      // pixel 5's 16 channels
	VMOVDQU X6, (DX)(R9*2)                       // pixel 6's 16 channels
	VMOVDQU X7, (DX)(R11*1)                      // pixel 7's 16 channels
	LEAQ (DX)(R8*8), DX                          // 8 pixels on
	VMOVDQU X8, (DX)                             // pixel 8's 16 channels
	VMOVDQU X9, (DX)(R8*1)                       // pixel 9's 16 channels
	VMOVDQU X10, (DX)(R8*2)                      // pixel 10's 16 channels
	VMOVDQU X11, (DX)(R9*1)                      // pixel 11's 16 channels
	VMOVDQU X12, (DX)(R8*4)                      // pixel 12's 16 channels
	VMOVDQU X13, (DX)(R10*1)                     // pixel 13's 16 channels
	VMOVDQU X14, (DX)(R9*2)                      // pixel 14's 16 channels
	VMOVDQU X15, (DX)(R11*1)                     // pixel 15's 16 channels
	LEAQ (DX)(R8*8), DX                          // 8 pixels on
	VEXTRACTI32X4 $1, Z0, (DX)                   // pixel 16's 16 channels
	VEXTRACTI32X4 $1, Z1, (DX)(R8*1)             // pixel 17's 16 channels
	VEXTRACTI32X4 $1, Z2, (DX)(R8*2)             // pixel 18's 16 channels
	VEXTRACTI32X4 $1, Z3, (DX)(R9*1)             // pixel 19's 16 channels
	VEXTRACTI32X4 $1, Z4, (DX)(R8*4)             // pixel 20's 16 channels
	VEXTRACTI32X4 $1, Z5, (DX)(R10*1)            // pixel 21's 16 channels
	VEXTRACTI32X4 $1, Z6, (DX)(R9*2)             // pixel 22's 16 channels
	VEXTRACTI32X4 $1, Z7, (DX)(R11*1)            // pixel 23's 16 channels
	LEAQ (DX)(R8*8), DX                          // 8 pixels on
	VEXTRACTI32X4 $1, Z8, (DX)                   // pixel 24's 16 channels
	VEXTRACTI32X4 $1, Z9, (DX)(R8*1)             // pixel 25's 16 channels
	VEXTRACTI32X4 $1, Z10, (DX)(R8*2)            // pixel 26's 16 channels
	VEXTRACTI32X4 $1, Z11, (DX)(R9*1)            // pixel 27's 16 channels
	VEXTRACTI32X4 $1, Z12, (DX)(R8*4)            // pixel 28's 16 channels
	VEXTRACTI32X4 $1, Z13, (DX)(R10*1)           // pixel 29's 16 channels
	VEXTRACTI32X4 $1, Z14, (DX)(R9*2)            // pixel 30's 16 channels
	VEXTRACTI32X4 $1, Z15, (DX)(R11*1)           // pixel 31's 16 channels
	LEAQ (DX)(R8*8), DX                          // 8 pixels on
	VEXTRACTI32X4 $2, Z0, (DX)                   // pixel 32's 16 channels
	VEXTRACTI32X4 $2, Z1, (DX)(R8*1)             // pixel 33's 16 channels
	VEXTRACTI32X4 $2, Z2, (DX)(R8*2)             // pixel 34's 16 channels
	VEXTRACTI32X4 $2, Z3, (DX)(R9*1)             // pixel 35's 16 channels
	VEXTRACTI32X4 $2, Z4, (DX)(R8*4)             // pixel 36's 16 channels
	VEXTRACTI32X4 $2, Z5, (DX)(R10*1)            // pixel 37's 16 channels
	VEXTRACTI32X4 $2, Z6, (DX)(R9*2)             // pixel 38's 16 channels
	VEXTRACTI32X4 $2, Z7, (DX)(R11*1)            // pixel 39's 16 channels
	LEAQ (DX)(R8*8), DX                          // 8 pixels on
	VEXTRACTI32X4 $2, Z8, (DX)                   // pixel 40's 16 channels
	VEXTRACTI32X4 $2, Z9, (DX)(R8*1)             // pixel 41's 16 channels
	VEXTRACTI32X4 $2, Z10, (DX)(R8*2)            // pixel 42's 16 channels
	VEXTRACTI32X4 $2, Z11, (DX)(R9*1)            // pixel 43's 16 channels
	VEXTRACTI32X4 $2, Z12, (DX)(R8*4)            // pixel 44's 16 channels
	VEXTRACTI32X4 $2, Z13, (DX)(R10*1)           // pixel 45's 16 channels
	VEXTRACTI32X4 $2, Z14, (DX)(R9*2)            // pixel 46's 16 channels
	VEXTRACTI32X4 $2, Z15, (DX)(R11*1)           // pixel 47's 16 channels
	LEAQ (DX)(R8*8), DX                          // 8 pixels on
	VEXTRACTI32X4 $3, Z0, (DX)                   // pixel 48's 16 channels
	VEXTRACTI32X4 $3, Z1, (DX)(R8*1)             // pixel 49's 16 channels
	VEXTRACTI32X4 $3, Z2, (DX)(R8*2)             // pixel 50's 16 channels
	VEXTRACTI32X4 $3, Z3, (DX)(R9*1)             // pixel 51's 16 channels
	VEXTRACTI32X4 $3, Z4, (DX)(R8*4)             // pixel 52's 16 channels
	VEXTRACTI32X4 $3, Z5, (DX)(R10*1)            // pixel 53's 16 channels
	VEXTRACTI32X4 $3, Z6, (DX)(R9*2)             // pixel 54's 16 channels
	VEXTRACTI32X4 $3, Z7, (DX)(R11*1)            // pixel 55's 16 channels
	LEAQ (DX)(R8*8), DX                          // 8 pixels on
	VEXTRACTI32X4 $3, Z8, (DX)                   // pixel 56's 16 channels
	VEXTRACTI32X4 $3, Z9, (DX)(R8*1)             // pixel 57's 16 channels
	VEXTRACTI32X4 $3, Z10, (DX)(R8*2)            // pixel 58's 16 channels
	VEXTRACTI32X4 $3, Z11, (DX)(R9*1)            // pixel 59's 16 channels
	VEXTRACTI32X4 $3, Z12, (DX)(R8*4)            // pixel 60's 16 channels
	VEXTRACTI32X4 $3, Z13, (DX)(R10*1)           // pixel 61's 16 channels
	VEXTRACTI32X4 $3, Z14, (DX)(R9*2)            // pixel 62's 16 channels
	VEXTRACTI32X4 $3, Z15, (DX)(R11*1)           // pixel 63's 16 channels
	LEAQ (DX)(R8*8), DX                          // 8 pixels on
	MOVQ DX, DI                                  // the next block's output
	ADDQ $64, SI                                 // the next 64 pixels of 4 planes
	ADDQ $64, R13                                // the next 64 pixels of 4 planes
	ADDQ $64, R14                                // the next 64 pixels of 4 planes
	ADDQ $64, AX                                 // the next 64 pixels of 4 planes
	DECQ CX                                      // one block done
	JNZ nhwc_loop                                // until none is left
nhwc_done:
	VZEROUPPER                                   // leave no dirty upper state for SSE code
	RET

// func qbinaryAVX512(y, a, b *uint8, n int, fa, fb uint8, za, sa, zb, sb, sc, flo, fhi float32, zc, nan int32, mul int)
TEXT ·qbinaryAVX512(SB), NOSPLIT, $0-80
	MOVQ y+0(FP), DI                             // DI = output bytes
	MOVQ a+8(FP), SI                             // SI = A's bytes
	MOVQ b+16(FP), R8                            // R8 = B's bytes
	MOVQ n+24(FP), CX                            // CX = elements, a multiple of 16
	MOVBLZX fa+32(FP), AX                        // A's flip byte (0 or 0x80) …
	VPBROADCASTB AX, X20                         // … in every byte
	MOVBLZX fb+33(FP), AX                        // B's flip byte …
	VPBROADCASTB AX, X21                         // … in every byte
	MOVL za+36(FP), AX                           // A's zero point (moved with the flip), float32 bits
	VPBROADCASTD AX, Z22
	MOVL sa+40(FP), AX                           // A's scale
	VPBROADCASTD AX, Z23
	MOVL zb+44(FP), AX                           // B's zero point
	VPBROADCASTD AX, Z24
	MOVL sb+48(FP), AX                           // B's scale
	VPBROADCASTD AX, Z25
	MOVL sc+52(FP), AX                           // the output's scale
	VPBROADCASTD AX, Z27
	MOVL flo+56(FP), AX                          // lower clamp (lo − zp)
	VPBROADCASTD AX, Z28
	MOVL fhi+60(FP), AX                          // upper clamp (hi − zp)
	VPBROADCASTD AX, Z29
	MOVL zc+64(FP), AX                           // the output's zero point
	VPBROADCASTD AX, Z30
	MOVL nan+68(FP), AX                          // the value a NaN quotient stores
	VPBROADCASTD AX, Z31
	MOVQ mul+72(FP), DX                          // DX = 0: sum, 1: product
	SHRQ $4, CX                                  // groups of 16
	JZ qb_done
	TESTQ DX, DX                                 // pick the loop once, outside it
	JNZ qb_mul
qb_add:
	VPXORD (SI), X20, X0                         // 16 bytes of A, read as uint8
	VPMOVZXBD X0, Z0                             // widened to int32
	VCVTDQ2PS Z0, Z0                             // to float32 (exact)
	VSUBPS Z22, Z0, Z0                           // − zero point (exact)
	VMULPS Z23, Z0, Z0                           // × scale: DequantizeLinear's value
	VPXORD (R8), X21, X1                         // the same for B
	VPMOVZXBD X1, Z1
	VCVTDQ2PS Z1, Z1
	VSUBPS Z24, Z1, Z1
	VMULPS Z25, Z1, Z1
	VADDPS Z1, Z0, Z0                            // the float32 sum
	VDIVPS Z27, Z0, Z0                           // / output scale, as QuantizeLinear divides
	VCMPPS $3, Z0, Z0, K1                        // K1 = NaN lanes
	VMAXPS Z28, Z0, Z0                           // clamp below
	VMINPS Z29, Z0, Z0                           // clamp above
	VCVTPS2DQ.RN_SAE Z0, Z0                      // round half to even
	VPADDD Z30, Z0, Z0                           // + zero point
	VMOVDQA32 Z31, K1, Z0                        // NaN lanes store the fixed value
	VPMOVDB Z0, (DI)                             // low byte of each lane
	ADDQ $16, SI
	ADDQ $16, R8
	ADDQ $16, DI
	DECQ CX
	JNZ qb_add
	JMP qb_done
qb_mul:
	VPXORD (SI), X20, X0                         // as qb_add, with the product
	VPMOVZXBD X0, Z0
	VCVTDQ2PS Z0, Z0
	VSUBPS Z22, Z0, Z0
	VMULPS Z23, Z0, Z0
	VPXORD (R8), X21, X1
	VPMOVZXBD X1, Z1
	VCVTDQ2PS Z1, Z1
	VSUBPS Z24, Z1, Z1
	VMULPS Z25, Z1, Z1
	VMULPS Z1, Z0, Z0                            // the float32 product
	VDIVPS Z27, Z0, Z0
	VCMPPS $3, Z0, Z0, K1
	VMAXPS Z28, Z0, Z0
	VMINPS Z29, Z0, Z0
	VCVTPS2DQ.RN_SAE Z0, Z0
	VPADDD Z30, Z0, Z0
	VMOVDQA32 Z31, K1, Z0
	VPMOVDB Z0, (DI)
	ADDQ $16, SI
	ADDQ $16, R8
	ADDQ $16, DI
	DECQ CX
	JNZ qb_mul
qb_done:
	VZEROUPPER
	RET
