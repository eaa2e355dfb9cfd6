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
	VMAXPS Z28, Z0, Z0                           // clamp below
	VMINPS Z29, Z0, Z0                           // clamp above
	VCVTPS2DQ.RN_SAE Z0, Z0                      // round half to even to int32
	VPADDD Z30, Z0, Z0                           // + zero point: now in [lo, hi]
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
