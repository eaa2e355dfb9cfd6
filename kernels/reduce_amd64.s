//go:build !purego

#include "textflag.h"

// MinMax works on the floats' bit patterns as integers (see minMaxFromBits in reduce_amd64.go): VPMAXSD, VPMINUD
// and VPMAXUD order −0 below +0 as Go's min and max do, where VMINPS/VMAXPS return whichever operand is second,
// and a NaN shows up in the extremes, so no compare is needed.

// MINMAX_ACC folds the values in V into the running int32 maxima SMAX and uint32 minima UMIN and maxima UMAX.
#define MINMAX_ACC(V, SMAX, UMIN, UMAX) \
	VPMAXSD V, SMAX, SMAX          /* int32 maxima */ \
	VPMINUD V, UMIN, UMIN          /* uint32 minima */ \
	VPMAXUD V, UMAX, UMAX          /* uint32 maxima */

// MINMAX_FOLD_X folds S into the int32 maxima X0, U into the uint32 minima X1 and W into the uint32 maxima X2:
// one step of the horizontal reduction, S–W holding the other halves.
#define MINMAX_FOLD_X(S, U, W) \
	VPMAXSD S, X0, X0              /* int32 maxima */ \
	VPMINUD U, X1, X1              /* uint32 minima */ \
	VPMAXUD W, X2, X2              /* uint32 maxima */

// MINMAX_FOLD_RET reduces the 8 lanes of Y0 (int32 maxima), Y1 (uint32 minima) and Y2 (uint32 maxima) to one
// each and returns them; Y3–Y5 are scratch.
#define MINMAX_FOLD_RET \
	VEXTRACTI128 $1, Y0, X3        /* upper 4 int32 maxima */ \
	VEXTRACTI128 $1, Y1, X4        /* upper 4 uint32 minima */ \
	VEXTRACTI128 $1, Y2, X5        /* upper 4 uint32 maxima */ \
	MINMAX_FOLD_X(X3, X4, X5)        /* 4 of each */ \
	VPSHUFD $0x4E, X0, X3          /* int32 maxima, pairs swapped */ \
	VPSHUFD $0x4E, X1, X4          /* uint32 minima, pairs swapped */ \
	VPSHUFD $0x4E, X2, X5          /* uint32 maxima, pairs swapped */ \
	MINMAX_FOLD_X(X3, X4, X5)        /* 2 of each */ \
	VPSHUFD $0xB1, X0, X3          /* int32 maxima, swapped within the pair */ \
	VPSHUFD $0xB1, X1, X4          /* uint32 minima, swapped within the pair */ \
	VPSHUFD $0xB1, X2, X5          /* uint32 maxima, swapped within the pair */ \
	MINMAX_FOLD_X(X3, X4, X5)        /* 1 of each, in lane 0 */ \
	VMOVD X0, smax+16(FP)          /* return the int32 maximum */ \
	VMOVD X1, umin+20(FP)          /* the uint32 minimum */ \
	VMOVD X2, umax+24(FP)          /* the uint32 maximum */ \
	VZEROUPPER                     /* avoid AVX/SSE transition stalls */ \
	RET

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

// func sumAVX2(x *float32, n int) float64
TEXT ·sumAVX2(SB), NOSPLIT, $0-24
	MOVQ x+0(FP), SI                             // values
	MOVQ n+8(FP), CX                             // values left (a multiple of 16)
	VXORPD Y0, Y0, Y0                            // sums of values 0–3 of each 16, float64
	VXORPD Y1, Y1, Y1                            // sums of values 4–7
	VXORPD Y2, Y2, Y2                            // sums of values 8–11
	VXORPD Y3, Y3, Y3                            // sums of values 12–15
sum2_loop:
	VCVTPS2PD (SI), Y4                           // values 0–3 widened to float64
	VCVTPS2PD 16(SI), Y5                         // values 4–7
	VCVTPS2PD 32(SI), Y6                         // values 8–11
	VCVTPS2PD 48(SI), Y7                         // values 12–15
	VADDPD Y4, Y0, Y0                            // accumulate
	VADDPD Y5, Y1, Y1                            // accumulate
	VADDPD Y6, Y2, Y2                            // accumulate
	VADDPD Y7, Y3, Y3                            // accumulate
	ADDQ $64, SI                                 // next 16
	SUBQ $16, CX                                 // 16 done
	JNZ sum2_loop                                // until none is left
	VADDPD Y2, Y0, Y0                            // lanes 0–3 + 8–11, as sumAVX512's first fold …
	VADDPD Y3, Y1, Y1                            // … and 4–7 + 12–15
	VADDPD Y1, Y0, Y0                            // 4 partial sums (its second fold)
	VEXTRACTF128 $1, Y0, X1                      // upper 2
	VADDPD X1, X0, X0                            // 2 partial sums
	VPERMILPD $1, X0, X1                         // swap them
	VADDSD X1, X0, X0                            // the sum
	VMOVSD X0, ret+16(FP)                        // return it
	VZEROUPPER                                   // avoid AVX/SSE transition stalls
	RET

// func minMaxAVX512(x *float32, n int) (smax int32, umin, umax uint32)
TEXT ·minMaxAVX512(SB), NOSPLIT, $0-28
	MOVQ x+0(FP), SI                             // values
	MOVQ n+8(FP), CX                             // values left (a multiple of 16, at least 16)
	VMOVDQU32 (SI), Z0                           // int32 maxima: the first 16
	VMOVDQA32 Z0, Z1                             // uint32 minima: the same
	VMOVDQA32 Z0, Z2                             // uint32 maxima: the same
	ADDQ $64, SI                                 // next 16
	SUBQ $16, CX                                 // 16 done
	JZ mm_fold                                   // only one vector
mm_loop:
	VMOVDQU32 (SI), Z3                           // 16 values
	MINMAX_ACC(Z3, Z0, Z1, Z2)                   // into the extremes
	ADDQ $64, SI                                 // next 16
	SUBQ $16, CX                                 // 16 done
	JNZ mm_loop                                  // until none is left
mm_fold:
	VEXTRACTI64X4 $1, Z0, Y3                     // upper 8 int32 maxima
	VEXTRACTI64X4 $1, Z1, Y4                     // upper 8 uint32 minima
	VEXTRACTI64X4 $1, Z2, Y5                     // upper 8 uint32 maxima
	VPMAXSD Y3, Y0, Y0                           // 8 int32 maxima
	VPMINUD Y4, Y1, Y1                           // 8 uint32 minima
	VPMAXUD Y5, Y2, Y2                           // 8 uint32 maxima
	MINMAX_FOLD_RET                              // down to one each, returned

// func minMaxAVX2(x *float32, n int) (smax int32, umin, umax uint32)
TEXT ·minMaxAVX2(SB), NOSPLIT, $0-28
	MOVQ x+0(FP), SI                             // values
	MOVQ n+8(FP), CX                             // values left (a multiple of 8, at least 8)
	VMOVDQU (SI), Y0                             // int32 maxima: the first 8
	VMOVDQA Y0, Y1                               // uint32 minima: the same
	VMOVDQA Y0, Y2                               // uint32 maxima: the same
	ADDQ $32, SI                                 // next 8
	SUBQ $8, CX                                  // 8 done
	JZ mm2_fold                                  // only one vector
mm2_loop:
	VMOVDQU (SI), Y3                             // 8 values
	MINMAX_ACC(Y3, Y0, Y1, Y2)                   // into the extremes
	ADDQ $32, SI                                 // next 8
	SUBQ $8, CX                                  // 8 done
	JNZ mm2_loop                                 // until none is left
mm2_fold:
	MINMAX_FOLD_RET                              // down to one each, returned
