//go:build amd64 && !purego

#include "textflag.h"

// func maxF32AVX512(x []float32) float32
TEXT ·maxF32AVX512(SB), NOSPLIT, $0-28
	MOVQ    x_base+0(FP), SI // x
	MOVQ    x_len+8(FP), CX  // n, a positive multiple of 16
	VMOVUPS (SI), Z0         // running maximum starts at x[0:16]
	ADDQ    $64, SI          // advance x
	SUBQ    $16, CX          // 16 done

max16:
	CMPQ   CX, $16      // 16 floats left?
	JL     maxdone
	VMAXPS (SI), Z0, Z0 // lane-wise maximum
	ADDQ   $64, SI      // advance x
	SUBQ   $16, CX      // 16 done
	JMP    max16

maxdone:
	VEXTRACTF64X4 $1, Z0, Y1    // upper 8 lanes
	VMAXPS        Y1, Y0, Y0    // 8 maxima
	VEXTRACTF128  $1, Y0, X1    // upper 4
	VMAXPS        X1, X0, X0    // 4 maxima
	VPERMILPS     $0x4e, X0, X1 // swap 64-bit halves
	VMAXPS        X1, X0, X0    // 2 maxima
	VPERMILPS     $0xb1, X0, X1 // swap neighbours
	VMAXPS        X1, X0, X0    // maximum in lane 0
	VMOVSS        X0, ret+24(FP) // return it
	VZEROUPPER
	RET

// expc holds expShiftAVX512's constants: the clamp, log2(e), ln 2 split into a 9-bit high part (so n·hi is exact
// for any n reached) and the float32 remainder, and the Taylor coefficients of e^r from degree 6 down to 0.
DATA expc<>+0(SB)/4, $0xc2dc0000  // −110: e^−110 is below the smallest subnormal, and −Inf becomes finite
DATA expc<>+4(SB)/4, $0x3fb8aa3b  // log2(e)
DATA expc<>+8(SB)/4, $0x3f318000  // ln 2 high part, 0.693359375
DATA expc<>+12(SB)/4, $0xb95e8083 // ln 2 − high part
DATA expc<>+16(SB)/4, $0x3ab60b61 // 1/720
DATA expc<>+20(SB)/4, $0x3c088889 // 1/120
DATA expc<>+24(SB)/4, $0x3d2aaaab // 1/24
DATA expc<>+28(SB)/4, $0x3e2aaaab // 1/6
DATA expc<>+32(SB)/4, $0x3f000000 // 1/2
DATA expc<>+36(SB)/4, $0x3f800000 // 1
GLOBL expc<>(SB), RODATA|NOPTR, $40

// func expShiftAVX512(x []float32, m, scale float32) float32
//
// Per lane: z = max((x−m)·scale, −110), n = round(z·log2 e), r = z − n·ln 2 in two steps (|r| ≤ ln2/2), e^r by
// Horner, times 2^n by VSCALEFPS. The remainder of the degree-6 series is below 1.7e-7 relative.
TEXT ·expShiftAVX512(SB), NOSPLIT, $0-36
	MOVQ         x_base+0(FP), DI  // x, overwritten in place
	MOVQ         x_len+8(FP), CX   // n, a multiple of 16
	VBROADCASTSS m+24(FP), Z20     // m
	VBROADCASTSS scale+28(FP), Z21 // scale
	VBROADCASTSS expc<>+0(SB), Z22 // clamp
	VBROADCASTSS expc<>+4(SB), Z23 // log2(e)
	VBROADCASTSS expc<>+8(SB), Z24 // ln 2 high
	VBROADCASTSS expc<>+12(SB), Z25 // ln 2 low
	VBROADCASTSS expc<>+16(SB), Z26 // 1/720
	VBROADCASTSS expc<>+20(SB), Z27 // 1/120
	VBROADCASTSS expc<>+24(SB), Z28 // 1/24
	VBROADCASTSS expc<>+28(SB), Z29 // 1/6
	VBROADCASTSS expc<>+32(SB), Z30 // 1/2
	VBROADCASTSS expc<>+36(SB), Z31 // 1
	VPXORD       Z0, Z0, Z0        // running sum, one per lane

exp16:
	CMPQ         CX, $16       // 16 floats left?
	JL           expdone
	VMOVUPS      (DI), Z1      // x[0:16]
	VSUBPS       Z20, Z1, Z1   // x − m
	VMULPS       Z21, Z1, Z1   // z = (x − m)·scale
	VMAXPS       Z1, Z22, Z1   // max(clamp, z); a NaN z is the second source and passes through
	VMULPS       Z23, Z1, Z2   // z·log2(e)
	VRNDSCALEPS  $0, Z2, Z2    // n, rounded to nearest
	VFNMADD231PS Z24, Z2, Z1   // r = z − n·ln2 high (exact product)
	VFNMADD231PS Z25, Z2, Z1   // r −= n·ln2 low
	VMOVAPS      Z26, Z3       // p = 1/720
	VFMADD213PS  Z27, Z1, Z3   // p = p·r + 1/120
	VFMADD213PS  Z28, Z1, Z3   // p = p·r + 1/24
	VFMADD213PS  Z29, Z1, Z3   // p = p·r + 1/6
	VFMADD213PS  Z30, Z1, Z3   // p = p·r + 1/2
	VFMADD213PS  Z31, Z1, Z3   // p = p·r + 1
	VFMADD213PS  Z31, Z1, Z3   // p = p·r + 1 = e^r
	VSCALEFPS    Z2, Z3, Z3    // e^r·2^n
	VMOVUPS      Z3, (DI)      // store the weights
	VADDPS       Z3, Z0, Z0    // sum += weights
	ADDQ         $64, DI       // advance x
	SUBQ         $16, CX       // 16 done
	JMP          exp16

expdone:
	VEXTRACTF64X4 $1, Z0, Y1    // upper 8 lanes
	VADDPS        Y1, Y0, Y0    // 8 partial sums
	VEXTRACTF128  $1, Y0, X1    // upper 4
	VADDPS        X1, X0, X0    // 4 partial sums
	VPERMILPS     $0x4e, X0, X1 // swap 64-bit halves
	VADDPS        X1, X0, X0    // 2 partial sums
	VPERMILPS     $0xb1, X0, X1 // swap neighbours
	VADDPS        X1, X0, X0    // total in lane 0
	VMOVSS        X0, ret+32(FP) // return the sum
	VZEROUPPER
	RET
