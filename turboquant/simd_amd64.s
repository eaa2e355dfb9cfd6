//go:build amd64 && !purego

#include "textflag.h"

// REDUCE16 leaves the sum of Z0's 16 lanes in X0 (clobbers Y1/X1).
#define REDUCE16 \
	VEXTRACTF64X4 $1, Z0, Y1 \ // upper 8 lanes
	VADDPS        Y1, Y0, Y0 \ // 8 partial sums
	VEXTRACTF128  $1, Y0, X1 \ // upper 4
	VADDPS        X1, X0, X0 \ // 4 partial sums
	VPERMILPS     $0x4e, X0, X1 \ // swap 64-bit halves
	VADDPS        X1, X0, X0 \ // 2 partial sums
	VPERMILPS     $0xb1, X0, X1 \ // swap neighbours
	VADDPS        X1, X0, X0     // total in lane 0

// func dotF32AVX512(a, b []float32) float32
TEXT ·dotF32AVX512(SB), NOSPLIT, $0-52
	MOVQ   a_base+0(FP), SI // a
	MOVQ   a_len+8(FP), CX  // n, a multiple of 16
	MOVQ   b_base+24(FP), DI // b
	VPXORD Z0, Z0, Z0       // four accumulators hide the FMA latency
	VPXORD Z1, Z1, Z1
	VPXORD Z2, Z2, Z2
	VPXORD Z3, Z3, Z3

dot64:
	CMPQ        CX, $64         // 64 floats left?
	JL          dot16
	VMOVUPS     (SI), Z4        // a[0:16]
	VMOVUPS     64(SI), Z5      // a[16:32]
	VMOVUPS     128(SI), Z6     // a[32:48]
	VMOVUPS     192(SI), Z7     // a[48:64]
	VFMADD231PS (DI), Z4, Z0    // acc0 += a·b
	VFMADD231PS 64(DI), Z5, Z1  // acc1 += a·b
	VFMADD231PS 128(DI), Z6, Z2 // acc2 += a·b
	VFMADD231PS 192(DI), Z7, Z3 // acc3 += a·b
	ADDQ        $256, SI        // advance a
	ADDQ        $256, DI        // advance b
	SUBQ        $64, CX         // 64 done
	JMP         dot64

dot16:
	CMPQ        CX, $16      // 16 floats left?
	JL          dotdone
	VMOVUPS     (SI), Z4     // a[0:16]
	VFMADD231PS (DI), Z4, Z0 // acc0 += a·b
	ADDQ        $64, SI      // advance a
	ADDQ        $64, DI      // advance b
	SUBQ        $16, CX      // 16 done
	JMP         dot16

dotdone:
	VADDPS Z1, Z0, Z0 // acc0 += acc1
	VADDPS Z3, Z2, Z2 // acc2 += acc3
	VADDPS Z2, Z0, Z0 // acc0 += acc2
	REDUCE16
	VMOVSS X0, ret+48(FP) // return the sum
	VZEROUPPER
	RET

// func axpyF32AVX512(y []float32, a float32, x []float32)
TEXT ·axpyF32AVX512(SB), NOSPLIT, $0-56
	MOVQ         y_base+0(FP), DI // y
	MOVQ         y_len+8(FP), CX  // n, a multiple of 16
	VBROADCASTSS a+24(FP), Z0     // a in every lane
	MOVQ         x_base+32(FP), SI // x

axpy16:
	CMPQ        CX, $16     // 16 floats left?
	JL          axpydone
	VMOVUPS     (DI), Z1    // y[0:16]
	VFMADD231PS (SI), Z0, Z1 // y += a·x
	VMOVUPS     Z1, (DI)    // store y
	ADDQ        $64, SI     // advance x
	ADDQ        $64, DI     // advance y
	SUBQ        $16, CX     // 16 done
	JMP         axpy16

axpydone:
	VZEROUPPER
	RET

// func scoreCodesAVX512(out, q []float32, codes []uint16, norms []float32, groups, bits int, table *[16]float32)
TEXT ·scoreCodesAVX512(SB), NOSPLIT, $0-120
	MOVQ         out_base+0(FP), DI   // out
	MOVQ         out_len+8(FP), CX    // number of vectors (≥ 1)
	MOVQ         q_base+24(FP), R8    // q, groups·16 floats
	MOVQ         codes_base+48(FP), SI // codes, groups·bits words per vector
	MOVQ         norms_base+72(FP), R9 // norms
	MOVQ         groups+96(FP), R10   // groups (≥ 1)
	MOVQ         bits+104(FP), R11    // bits (1…4)
	MOVQ         table+112(FP), AX    // centroid table
	VMOVUPS      (AX), Z31            // Z31 = table, indexed by VPERMPS
	MOVL         $1, AX
	VPBROADCASTD AX, Z30              // Z30 = 1 in every lane

svec:
	VPXORD Z0, Z0, Z0 // acc = 0
	MOVQ   R8, R12    // q cursor
	MOVQ   R10, R13   // groups left

sgroup:
	VPXORD Z1, Z1, Z1          // idx = 0
	MOVQ   R11, R14            // p = bits

splane:
	DECQ   R14                 // p--
	VPADDD Z1, Z1, Z1          // idx <<= 1
	KMOVW  (SI)(R14*2), K1     // lanes whose bit p is set
	VPADDD Z30, Z1, K1, Z1     // idx += 1 in those lanes
	TESTQ  R14, R14            // planes left?
	JNZ    splane
	LEAQ        (SI)(R11*2), SI  // next group's planes
	VPERMPS     Z31, Z1, Z2      // centroid of each lane: table[idx]
	VFMADD231PS (R12), Z2, Z0    // acc += q·centroid
	ADDQ        $64, R12         // next 16 query floats
	DECQ        R13              // one group done
	JNZ         sgroup
	REDUCE16
	VMULSS      (R9), X0, X0     // scale by the vector's norm
	VMOVSS      X0, (DI)         // out[i]
	ADDQ        $4, R9           // next norm
	ADDQ        $4, DI           // next output
	DECQ        CX               // one vector done
	JNZ         svec
	VZEROUPPER
	RET

// func accumCodesAVX512(acc, w []float32, codes []uint16, groups, bits int, table *[16]float32)
TEXT ·accumCodesAVX512(SB), NOSPLIT, $0-96
	MOVQ         acc_base+0(FP), R8   // acc, groups·16 floats
	MOVQ         w_base+24(FP), R9    // weights
	MOVQ         w_len+32(FP), CX     // number of vectors (≥ 1)
	MOVQ         codes_base+48(FP), SI // codes
	MOVQ         groups+72(FP), R10   // groups (≥ 1)
	MOVQ         bits+80(FP), R11     // bits (1…4)
	MOVQ         table+88(FP), AX     // centroid table
	VMOVUPS      (AX), Z31            // Z31 = table
	MOVL         $1, AX
	VPBROADCASTD AX, Z30              // Z30 = 1 in every lane

avec:
	VBROADCASTSS (R9), Z3 // w[i] in every lane
	MOVQ         R8, R12  // acc cursor
	MOVQ         R10, R13 // groups left

agroup:
	VPXORD Z1, Z1, Z1          // idx = 0
	MOVQ   R11, R14            // p = bits

aplane:
	DECQ   R14                 // p--
	VPADDD Z1, Z1, Z1          // idx <<= 1
	KMOVW  (SI)(R14*2), K1     // lanes whose bit p is set
	VPADDD Z30, Z1, K1, Z1     // idx += 1 in those lanes
	TESTQ  R14, R14            // planes left?
	JNZ    aplane
	LEAQ        (SI)(R11*2), SI // next group's planes
	VPERMPS     Z31, Z1, Z2     // table[idx]
	VMOVUPS     (R12), Z4       // acc[g]
	VFMADD231PS Z2, Z3, Z4      // acc += w·centroid
	VMOVUPS     Z4, (R12)       // store acc[g]
	ADDQ        $64, R12        // next group of acc
	DECQ        R13             // one group done
	JNZ         agroup
	ADDQ        $4, R9          // next weight
	DECQ        CX              // one vector done
	JNZ         avec
	VZEROUPPER
	RET
