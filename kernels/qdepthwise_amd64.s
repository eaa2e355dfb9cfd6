//go:build !purego

#include "textflag.h"

// QDW_REQ requantizes the 16 sums in Z: + correction, × multiplier, clamp, round half to even, + zero point.
#define QDW_REQ(Z) \
	VPADDD Z29, Z, Z               /* + correction */ \
	VCVTDQ2PS Z, Z                 /* to float32 */ \
	VMULPS Z28, Z, Z               /* × multiplier */ \
	VMAXPS Z27, Z, Z               /* clamp below (a NaN becomes the bound) */ \
	VMINPS Z26, Z, Z               /* clamp above */ \
	VCVTPS2DQ.RN_SAE Z, Z          /* round half to even */ \
	VPADDD Z25, Z, Z               /* + zero point: now in [lo, hi] */

// func qdwVNNI(a *qdwArgs)
TEXT ·qdwVNNI(SB), NOSPLIT, $0-8
	MOVQ a+0(FP), AX                             // AX = the argument block (offsets in qdwArgs)
	VMOVDQU8 112(AX), Z31                        // VPERMB index: each output's 4 window bytes
	VPBROADCASTD 108(AX), Z30                    // flip byte in every byte
	VPBROADCASTD 88(AX), Z29                     // correction (bias − za·Σw)
	VPBROADCASTD 92(AX), Z28                     // multiplier
	VPBROADCASTD 96(AX), Z27                     // lower clamp (lo − zp)
	VPBROADCASTD 100(AX), Z26                    // upper clamp (hi − zp)
	VPBROADCASTD 104(AX), Z25                    // zero point
	MOVQ 56(AX), R14                             // R14 = input bytes per 16 outputs
	MOVQ 0(AX), R8                               // R8 = this output row's first window
	MOVQ 72(AX), R9                              // R9 = this output row
	MOVQ 24(AX), R12                             // R12 = output rows left
	TESTQ R12, R12                               // none: nothing to do
	JZ dw_done
dw_row:
	MOVQ R8, SI                                  // SI = the next outputs' first window
	MOVQ R9, DI                                  // DI = where they go
	MOVQ 64(AX), R13                             // R13 = outputs left in the row
dw_pair:
	CMPQ R13, $32                                // two whole vectors left?
	JL dw_vec
	VPXORD Z0, Z0, Z0                            // sums of outputs 0–15
	VPXORD Z2, Z2, Z2                            // sums of outputs 16–31
	MOVQ SI, R10                                 // R10 = kernel row 0 of the windows
	LEAQ 176(AX), R11                            // R11 = weights (in the block)
	MOVQ 32(AX), CX                              // CX = kernel rows left
dw_pkh:
	MOVQ R10, BX                                 // BX = this kernel row's next group of 4 taps
	MOVQ 40(AX), DX                              // DX = groups left in the kernel row
dw_pg:
	VPBROADCASTD (R11), Z5                       // the group's 4 weights in every lane
	VMOVDQU8 (BX), Z1                            // 64 input bytes from output 0's window group on
	VMOVDQU8 (BX)(R14*1), Z3                     // … from output 16's
	VPXORD Z30, Z1, Z1                           // as uint8
	VPXORD Z30, Z3, Z3                           // …
	VPERMB Z1, Z31, Z1                           // lane j = output j's 4 taps of this group
	VPERMB Z3, Z31, Z3                           // … output 16 + j's
	VPDPBUSD Z5, Z1, Z0                          // sums += Σ4 x·w
	VPDPBUSD Z5, Z3, Z2                          // …
	ADDQ $4, BX                                  // next group of taps
	ADDQ $4, R11                                 // its weights
	DECQ DX                                      // one group done
	JNZ dw_pg                                    // until the kernel row is done
	ADDQ 8(AX), R10                              // next kernel row: one padded row down
	DECQ CX                                      // one kernel row done
	JNZ dw_pkh                                   // until every kernel row is summed
	QDW_REQ(Z0)                                  // requantize outputs 0–15
	QDW_REQ(Z2)                                  // requantize outputs 16–31
	VPMOVDB Z0, (DI)                             // store them (low byte of each lane)
	VPMOVDB Z2, 16(DI)                           // …
	ADDQ $32, DI                                 // next outputs
	LEAQ (SI)(R14*2), SI                         // their first window: 32 strides on
	SUBQ $32, R13                                // 32 done
	JMP dw_pair
dw_vec:
	TESTQ R13, R13                               // outputs left in the row?
	JZ dw_next
	VPXORD Z0, Z0, Z0                            // the 16 sums
	MOVQ SI, R10                                 // R10 = kernel row 0 of the windows
	LEAQ 176(AX), R11                            // R11 = weights (in the block)
	MOVQ 32(AX), CX                              // CX = kernel rows left
dw_kh:
	MOVQ R10, BX                                 // BX = this kernel row's next group of 4 taps
	MOVQ 40(AX), DX                              // DX = groups left in the kernel row
dw_g:
	VMOVDQU8 (BX), Z1                            // 64 input bytes from the first window's group on
	VPXORD Z30, Z1, Z1                           // as uint8
	VPERMB Z1, Z31, Z1                           // lane j = output j's 4 taps of this group
	VPDPBUSD.BCST (R11), Z1, Z0                  // sums += Σ4 x·w (the group's 4 weights broadcast)
	ADDQ $4, BX                                  // next group of taps
	ADDQ $4, R11                                 // its weights
	DECQ DX                                      // one group done
	JNZ dw_g                                     // until the kernel row is done
	ADDQ 8(AX), R10                              // next kernel row: one padded row down
	DECQ CX                                      // one kernel row done
	JNZ dw_kh                                    // until every kernel row is summed
	QDW_REQ(Z0)                                  // requantize
	CMPQ R13, $16                                // a whole vector left?
	JL dw_tail
	VPMOVDB Z0, (DI)                             // store 16 outputs (low byte of each lane)
	ADDQ $16, DI                                 // next 16 outputs
	ADDQ R14, SI                                 // their first window: 16 strides on
	SUBQ $16, R13                                // 16 done
	JMP dw_vec
dw_tail:
	MOVQ R13, CX                                 // CX = outputs left (1–15)
	MOVL $1, BX                                  // mask = 2^left − 1 …
	SHLL CX, BX                                  // …
	DECL BX                                      // …
	KMOVW BX, K1                                 // … as the store mask
	VPMOVDB Z0, K1, (DI)                         // store the row's last outputs only
dw_next:
	ADDQ 16(AX), R8                              // next output row's windows
	ADDQ 80(AX), R9                              // next output row
	DECQ R12                                     // one row done
	JNZ dw_row                                   // until every row is done
dw_done:
	VZEROUPPER                                   // leave no dirty upper state for SSE code
	RET
