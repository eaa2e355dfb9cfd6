//go:build !purego

#include "textflag.h"

// func sumAVX512(x *float32, n int) float64
TEXT ·sumAVX512(SB), NOSPLIT, $0-24
	MOVQ x+0(FP), SI                             // values
	MOVQ n+8(FP), CX                             // values left (a multiple of 16)
	VXORPD Z0, Z0, Z0                            // sums of values 0–7 of each 16, float64
	VXORPD Z1, Z1, Z1                            // sums of values 8–15
sum_loop:
	VCVTPS2PD (SI), Z2                           // values 0–7 widened to float64
	VCVTPS2PD 32(SI), Z3                         // values 8–15
	VADDPD Z2, Z0, Z0                            // accumulate
	VADDPD Z3, Z1, Z1                            // accumulate
	ADDQ $64, SI                                 // next 16
	SUBQ $16, CX                                 // 16 done
	JNZ sum_loop                                 // until none is left
	VADDPD Z1, Z0, Z0                            // 8 partial sums
	VEXTRACTF64X4 $1, Z0, Y1                     // upper 4
	VADDPD Y1, Y0, Y0                            // 4 partial sums
	VEXTRACTF128 $1, Y0, X1                      // upper 2
	VADDPD X1, X0, X0                            // 2 partial sums
	VPERMILPD $1, X0, X1                         // swap them
	VADDSD X1, X0, X0                            // the sum
	MOVSD X0, ret+16(FP)                         // return it
	VZEROUPPER                                   // avoid AVX/SSE transition stalls
	RET

// func maxValueAVX512(x *float32, n int) (m float32, nan bool)
TEXT ·maxValueAVX512(SB), NOSPLIT, $0-21
	MOVQ x+0(FP), SI                             // values
	MOVQ n+8(FP), CX                             // values left (a multiple of 16, at least 16)
	VMOVUPS (SI), Z0                             // running maxima: the first 16
	VCMPPS $3, Z0, Z0, K1                        // lanes holding a NaN (unordered with itself)
	ADDQ $64, SI                                 // next 16
	SUBQ $16, CX                                 // 16 done
	JZ max_fold
max_loop:
	VMOVUPS (SI), Z1                             // 16 values
	VCMPPS $3, Z1, Z1, K2                        // their NaNs …
	KORW K2, K1, K1                              // … joined to the others
	VMAXPS Z1, Z0, Z0                            // running maxima
	ADDQ $64, SI                                 // next 16
	SUBQ $16, CX                                 // 16 done
	JNZ max_loop                                 // until none is left
max_fold:
	VEXTRACTF64X4 $1, Z0, Y1                     // upper 8 maxima
	VMAXPS Y1, Y0, Y0                            // 8 maxima
	VEXTRACTF128 $1, Y0, X1                      // upper 4
	VMAXPS X1, X0, X0                            // 4 maxima
	VPERMILPS $0x4E, X0, X1                      // swap the pairs
	VMAXPS X1, X0, X0                            // 2 maxima
	VPERMILPS $0xB1, X0, X1                      // swap within the pair
	VMAXPS X1, X0, X0                            // the maximum
	MOVSS X0, m+16(FP)                           // return it
	KORTESTW K1, K1                              // any NaN? (ZF clear if so)
	SETNE nan+20(FP)                             // return it
	VZEROUPPER                                   // avoid AVX/SSE transition stalls
	RET
