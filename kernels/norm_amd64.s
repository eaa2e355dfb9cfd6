//go:build !purego

#include "textflag.h"

// func meanVarAVX512(x *float32, n int) (mean, variance float64)
TEXT ·meanVarAVX512(SB), NOSPLIT, $0-32
	MOVQ x+0(FP), SI                             // values
	MOVQ n+8(FP), R8                             // how many (at least 1)
	VCVTSI2SDQ R8, X9, X9                        // n as float64, the divisor of both passes
	MOVQ R8, CX                                  // n …
	ANDQ $7, CX                                  // … mod 8: values after the last whole 8
	MOVL $1, AX                                  // 1 …
	SHLL CX, AX                                  // … << (n mod 8) …
	DECL AX                                      // … − 1: one bit per trailing value
	KMOVW AX, K1                                 // mask of the trailing values
	VXORPD Z0, Z0, Z0                            // Σx, accumulator 0 (8 float64 lanes)
	VXORPD Z1, Z1, Z1                            // accumulator 1
	VXORPD Z2, Z2, Z2                            // accumulator 2
	VXORPD Z3, Z3, Z3                            // accumulator 3: four chains hide the add latency
	MOVQ SI, DI                                  // cursor
	MOVQ R8, DX                                  // values left
mean_loop32:
	CMPQ DX, $32                                 // 32 left?
	JL mean_loop8                                // no: 8 at a time
	VCVTPS2PD (DI), Z4                           // values 0–7 widened to float64
	VCVTPS2PD 32(DI), Z5                         // values 8–15
	VCVTPS2PD 64(DI), Z6                         // values 16–23
	VCVTPS2PD 96(DI), Z7                         // values 24–31
	VADDPD Z4, Z0, Z0                            // accumulate
	VADDPD Z5, Z1, Z1                            // accumulate
	VADDPD Z6, Z2, Z2                            // accumulate
	VADDPD Z7, Z3, Z3                            // accumulate
	ADDQ $128, DI                                // next 32
	SUBQ $32, DX                                 // 32 done
	JMP mean_loop32                              // again
mean_loop8:
	CMPQ DX, $8                                  // 8 left?
	JL mean_tail                                 // no: the masked rest
	VCVTPS2PD (DI), Z4                           // 8 values widened
	VADDPD Z4, Z0, Z0                            // accumulate
	ADDQ $32, DI                                 // next 8
	SUBQ $8, DX                                  // 8 done
	JMP mean_loop8                               // again
mean_tail:
	VMOVUPS.Z (DI), K1, Z4                       // the last n mod 8 values, zeros after them (never read past x)
	VCVTPS2PD Y4, Z4                             // widened; the zeros add nothing
	VADDPD Z4, Z0, Z0                            // accumulate
	VADDPD Z1, Z0, Z0                            // fold the accumulators
	VADDPD Z3, Z2, Z2                            // fold the accumulators
	VADDPD Z2, Z0, Z0                            // 8 partial sums
	VEXTRACTF64X4 $1, Z0, Y1                     // upper 4
	VADDPD Y1, Y0, Y0                            // 4 partial sums
	VEXTRACTF128 $1, Y0, X1                      // upper 2
	VADDPD X1, X0, X0                            // 2 partial sums
	VPERMILPD $1, X0, X1                         // swap them
	VADDSD X1, X0, X0                            // Σx
	VDIVSD X9, X0, X0                            // mean = Σx / n
	VMOVSD X0, mean+16(FP)                       // return it
	VBROADCASTSD X0, Z8                          // mean in every lane
	VXORPD Z0, Z0, Z0                            // Σ(x−mean)², accumulator 0
	VXORPD Z1, Z1, Z1                            // accumulator 1
	VXORPD Z2, Z2, Z2                            // accumulator 2
	VXORPD Z3, Z3, Z3                            // accumulator 3
	MOVQ SI, DI                                  // cursor back at the start
	MOVQ R8, DX                                  // values left
var_loop32:
	CMPQ DX, $32                                 // 32 left?
	JL var_loop8                                 // no: 8 at a time
	VCVTPS2PD (DI), Z4                           // values 0–7 widened to float64
	VCVTPS2PD 32(DI), Z5                         // values 8–15
	VCVTPS2PD 64(DI), Z6                         // values 16–23
	VCVTPS2PD 96(DI), Z7                         // values 24–31
	VSUBPD Z8, Z4, Z4                            // deviations from the mean
	VSUBPD Z8, Z5, Z5                            // deviations
	VSUBPD Z8, Z6, Z6                            // deviations
	VSUBPD Z8, Z7, Z7                            // deviations
	VFMADD231PD Z4, Z4, Z0                       // accumulate d·d (fused: within float64 rounding)
	VFMADD231PD Z5, Z5, Z1                       // accumulate d·d
	VFMADD231PD Z6, Z6, Z2                       // accumulate d·d
	VFMADD231PD Z7, Z7, Z3                       // accumulate d·d
	ADDQ $128, DI                                // next 32
	SUBQ $32, DX                                 // 32 done
	JMP var_loop32                               // again
var_loop8:
	CMPQ DX, $8                                  // 8 left?
	JL var_tail                                  // no: the masked rest
	VCVTPS2PD (DI), Z4                           // 8 values widened
	VSUBPD Z8, Z4, Z4                            // deviations
	VFMADD231PD Z4, Z4, Z0                       // accumulate d·d
	ADDQ $32, DI                                 // next 8
	SUBQ $8, DX                                  // 8 done
	JMP var_loop8                                // again
var_tail:
	VMOVUPS.Z (DI), K1, Z4                       // the last n mod 8 values
	VCVTPS2PD Y4, Z4                             // widened
	VSUBPD.Z Z8, Z4, K1, Z4                      // deviations, zero past the values (not −mean)
	VFMADD231PD Z4, Z4, Z0                       // accumulate d·d
	VADDPD Z1, Z0, Z0                            // fold the accumulators
	VADDPD Z3, Z2, Z2                            // fold the accumulators
	VADDPD Z2, Z0, Z0                            // 8 partial sums
	VEXTRACTF64X4 $1, Z0, Y1                     // upper 4
	VADDPD Y1, Y0, Y0                            // 4 partial sums
	VEXTRACTF128 $1, Y0, X1                      // upper 2
	VADDPD X1, X0, X0                            // 2 partial sums
	VPERMILPD $1, X0, X1                         // swap them
	VADDSD X1, X0, X0                            // Σ(x−mean)²
	VDIVSD X9, X0, X0                            // variance = Σ(x−mean)² / n
	VMOVSD X0, variance+24(FP)                   // return it
	VZEROUPPER                                   // avoid AVX/SSE transition stalls
	RET

// func meanVarAVX2(x *float32, n int) (mean, variance float64)
TEXT ·meanVarAVX2(SB), NOSPLIT, $0-32
	MOVQ x+0(FP), SI                             // values
	MOVQ n+8(FP), R8                             // how many (at least 1)
	VCVTSI2SDQ R8, X9, X9                        // n as float64, the divisor of both passes
	VXORPD Y0, Y0, Y0                            // Σx, accumulator 0 (4 float64 lanes)
	VXORPD Y1, Y1, Y1                            // accumulator 1
	VXORPD Y2, Y2, Y2                            // accumulator 2
	VXORPD Y3, Y3, Y3                            // accumulator 3: four chains hide the add latency
	MOVQ SI, DI                                  // cursor
	MOVQ R8, DX                                  // values left
mean_loop16:
	CMPQ DX, $16                                 // 16 left?
	JL mean_loop4                                // no: 4 at a time
	VCVTPS2PD (DI), Y4                           // values 0–3 widened to float64
	VCVTPS2PD 16(DI), Y5                         // values 4–7
	VCVTPS2PD 32(DI), Y6                         // values 8–11
	VCVTPS2PD 48(DI), Y7                         // values 12–15
	VADDPD Y4, Y0, Y0                            // accumulate
	VADDPD Y5, Y1, Y1                            // accumulate
	VADDPD Y6, Y2, Y2                            // accumulate
	VADDPD Y7, Y3, Y3                            // accumulate
	ADDQ $64, DI                                 // next 16
	SUBQ $16, DX                                 // 16 done
	JMP mean_loop16                              // again
mean_loop4:
	CMPQ DX, $4                                  // 4 left?
	JL mean_fold                                 // no: fold, then one at a time
	VCVTPS2PD (DI), Y4                           // 4 values widened
	VADDPD Y4, Y0, Y0                            // accumulate
	ADDQ $16, DI                                 // next 4
	SUBQ $4, DX                                  // 4 done
	JMP mean_loop4                               // again
mean_fold:
	VADDPD Y1, Y0, Y0                            // fold the accumulators
	VADDPD Y3, Y2, Y2                            // fold the accumulators
	VADDPD Y2, Y0, Y0                            // 4 partial sums
	VEXTRACTF128 $1, Y0, X1                      // upper 2
	VADDPD X1, X0, X0                            // 2 partial sums
	VPERMILPD $1, X0, X1                         // swap them
	VADDSD X1, X0, X0                            // Σ of the whole 4s (scalar ops below clear the upper lanes)
mean_tail:
	TESTQ DX, DX                                 // any left?
	JZ mean_done                                 // no
	VCVTSS2SD (DI), X4, X4                       // one value widened
	VADDSD X4, X0, X0                            // accumulate
	ADDQ $4, DI                                  // next value
	DECQ DX                                      // one done
	JMP mean_tail                                // again
mean_done:
	VDIVSD X9, X0, X0                            // mean = Σx / n
	VMOVSD X0, mean+16(FP)                       // return it
	VBROADCASTSD X0, Y8                          // mean in every lane
	VXORPD Y0, Y0, Y0                            // Σ(x−mean)², accumulator 0
	VXORPD Y1, Y1, Y1                            // accumulator 1
	VXORPD Y2, Y2, Y2                            // accumulator 2
	VXORPD Y3, Y3, Y3                            // accumulator 3
	MOVQ SI, DI                                  // cursor back at the start
	MOVQ R8, DX                                  // values left
var_loop16:
	CMPQ DX, $16                                 // 16 left?
	JL var_loop4                                 // no: 4 at a time
	VCVTPS2PD (DI), Y4                           // values 0–3 widened to float64
	VCVTPS2PD 16(DI), Y5                         // values 4–7
	VCVTPS2PD 32(DI), Y6                         // values 8–11
	VCVTPS2PD 48(DI), Y7                         // values 12–15
	VSUBPD Y8, Y4, Y4                            // deviations from the mean
	VSUBPD Y8, Y5, Y5                            // deviations
	VSUBPD Y8, Y6, Y6                            // deviations
	VSUBPD Y8, Y7, Y7                            // deviations
	VFMADD231PD Y4, Y4, Y0                       // accumulate d·d (fused: within float64 rounding)
	VFMADD231PD Y5, Y5, Y1                       // accumulate d·d
	VFMADD231PD Y6, Y6, Y2                       // accumulate d·d
	VFMADD231PD Y7, Y7, Y3                       // accumulate d·d
	ADDQ $64, DI                                 // next 16
	SUBQ $16, DX                                 // 16 done
	JMP var_loop16                               // again
var_loop4:
	CMPQ DX, $4                                  // 4 left?
	JL var_fold                                  // no: fold, then one at a time
	VCVTPS2PD (DI), Y4                           // 4 values widened
	VSUBPD Y8, Y4, Y4                            // deviations
	VFMADD231PD Y4, Y4, Y0                       // accumulate d·d
	ADDQ $16, DI                                 // next 4
	SUBQ $4, DX                                  // 4 done
	JMP var_loop4                                // again
var_fold:
	VADDPD Y1, Y0, Y0                            // fold the accumulators
	VADDPD Y3, Y2, Y2                            // fold the accumulators
	VADDPD Y2, Y0, Y0                            // 4 partial sums
	VEXTRACTF128 $1, Y0, X1                      // upper 2
	VADDPD X1, X0, X0                            // 2 partial sums
	VPERMILPD $1, X0, X1                         // swap them
	VADDSD X1, X0, X0                            // Σ over the whole 4s
var_tail:
	TESTQ DX, DX                                 // any left?
	JZ var_done                                  // no
	VCVTSS2SD (DI), X4, X4                       // one value widened
	VSUBSD X8, X4, X4                            // its deviation
	VFMADD231SD X4, X4, X0                       // accumulate d·d
	ADDQ $4, DI                                  // next value
	DECQ DX                                      // one done
	JMP var_tail                                 // again
var_done:
	VDIVSD X9, X0, X0                            // variance = Σ(x−mean)² / n
	VMOVSD X0, variance+24(FP)                   // return it
	VZEROUPPER                                   // avoid AVX/SSE transition stalls
	RET

// func normalizeScaleBiasAVX512(dst, x, scale, bias *float32, n int, inv, shift float32)
TEXT ·normalizeScaleBiasAVX512(SB), NOSPLIT, $0-48
	MOVQ dst+0(FP), DI                           // destination
	MOVQ x+8(FP), SI                             // source
	MOVQ scale+16(FP), R8                        // per-element scale
	MOVQ bias+24(FP), DX                         // per-element bias, or nil
	MOVQ n+32(FP), CX                            // elements left (at least 1)
	VBROADCASTSS inv+40(FP), Z15                 // inv in every lane
	VBROADCASTSS shift+44(FP), Z14               // shift in every lane
	XORQ BX, BX                                  // byte offset
nsb512_loop:
	CMPQ CX, $16                                 // a whole vector left?
	JL nsb512_tail                               // no: the masked rest
	VMOVUPS (SI)(BX*1), Z0                       // load x
	VFMADD213PS Z14, Z15, Z0                     // x·inv + shift, one rounding (as MulAddScalar)
	VMULPS (R8)(BX*1), Z0, Z0                    // ·scale, rounded (as Mul)
	TESTQ DX, DX                                 // a bias?
	JZ nsb512_store                              // no
	VADDPS (DX)(BX*1), Z0, Z0                    // + bias, rounded (as Add)
nsb512_store:
	VMOVUPS Z0, (DI)(BX*1)                       // store
	ADDQ $64, BX                                 // advance one vector
	SUBQ $16, CX                                 // elements done
	JMP nsb512_loop                              // next vector
nsb512_tail:
	TESTQ CX, CX                                 // any left?
	JZ nsb512_done                               // no
	MOVL $1, AX                                  // 1 …
	SHLL CX, AX                                  // … << left …
	DECL AX                                      // … − 1: one bit per element left
	KMOVW AX, K1                                 // mask of the elements left
	VMOVUPS.Z (SI)(BX*1), K1, Z0                 // load them (never past x)
	VFMADD213PS Z14, Z15, Z0                     // x·inv + shift, fused like the whole vectors
	VMULPS.Z (R8)(BX*1), Z0, K1, Z0              // ·scale (masked: never past scale)
	TESTQ DX, DX                                 // a bias?
	JZ nsb512_tailstore                          // no
	VADDPS.Z (DX)(BX*1), Z0, K1, Z0              // + bias (masked: never past bias)
nsb512_tailstore:
	VMOVUPS Z0, K1, (DI)(BX*1)                   // store the elements left only
nsb512_done:
	VZEROUPPER                                   // avoid AVX/SSE transition stalls
	RET

// func normalizeScaleBiasAVX2(dst, x, scale, bias *float32, n int, inv, shift float32)
TEXT ·normalizeScaleBiasAVX2(SB), NOSPLIT, $0-48
	MOVQ dst+0(FP), DI                           // destination
	MOVQ x+8(FP), SI                             // source
	MOVQ scale+16(FP), R8                        // per-element scale
	MOVQ bias+24(FP), DX                         // per-element bias, or nil
	MOVQ n+32(FP), CX                            // elements left (at least 1)
	VBROADCASTSS inv+40(FP), Y15                 // inv in every lane
	VBROADCASTSS shift+44(FP), Y14               // shift in every lane
	XORQ BX, BX                                  // byte offset
nsb2_loop:
	CMPQ CX, $8                                  // a whole vector left?
	JL nsb2_tail                                 // no: one at a time
	VMOVUPS (SI)(BX*1), Y0                       // load x
	VFMADD213PS Y14, Y15, Y0                     // x·inv + shift, one rounding (as MulAddScalar)
	VMULPS (R8)(BX*1), Y0, Y0                    // ·scale, rounded (as Mul)
	TESTQ DX, DX                                 // a bias?
	JZ nsb2_store                                // no
	VADDPS (DX)(BX*1), Y0, Y0                    // + bias, rounded (as Add)
nsb2_store:
	VMOVUPS Y0, (DI)(BX*1)                       // store
	ADDQ $32, BX                                 // advance one vector
	SUBQ $8, CX                                  // elements done
	JMP nsb2_loop                                // next vector
nsb2_tail:
	TESTQ CX, CX                                 // any left?
	JZ nsb2_done                                 // no
	VMOVSS (SI)(BX*1), X0                        // load one x
	VFMADD213SS X14, X15, X0                     // x·inv + shift, fused like the whole vectors (and MulAddScalar's tail)
	VMULSS (R8)(BX*1), X0, X0                    // ·scale
	TESTQ DX, DX                                 // a bias?
	JZ nsb2_tailstore                            // no
	VADDSS (DX)(BX*1), X0, X0                    // + bias
nsb2_tailstore:
	VMOVSS X0, (DI)(BX*1)                        // store it
	ADDQ $4, BX                                  // next element
	DECQ CX                                      // one done
	JMP nsb2_tail                                // again
nsb2_done:
	VZEROUPPER                                   // avoid AVX/SSE transition stalls
	RET
