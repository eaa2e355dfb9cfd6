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

// DEC(m) sets Z17 to the centroids of one group of 16 coordinates whose bit planes start at m, with GFNI instead
// of per-plane masks. The 8 bytes at m (planes 0–3, low byte = lanes 0–7, high byte = lanes 8–15; bytes past the
// group's planes are ignored) are broadcast as an 8×8 bit matrix and multiplied by the unit byte 1<<(l mod 8) placed
// in dword lane l (Z27): byte 4l then holds bit l mod 8 of every plane byte, a bit transposition. A second constant
// matrix (Z28: low-byte planes for lanes 0–7, high-byte planes for 8–15, zero rows past the bit width) moves the
// lane's own bits into index order, and VPERMPS looks the indices up in the table held in Z31.
#define DEC(m) \
	VGF2P8AFFINEQB.BCST $0, m, Z27, Z16 \ // byte 4l: bit l mod 8 of each plane byte
	VGF2P8AFFINEQB      $0, Z28, Z16, Z16 \ // dword l: lane l's index
	VPERMPS             Z31, Z16, Z17       // table[idx]

// CONSTS loads the kernel constants pointed to by AX: the table into Z31, the bit selectors into Z28; and the unit
// bytes into Z27.
#define CONSTS \
	VMOVUPS (AX), Z31        \ // centroid table
	VMOVUPS 64(AX), Z28      \ // index-assembly matrices
	VMOVUPS unitbytes<>(SB), Z27 // dword l = 1 << (l mod 8)

DATA unitbytes<>+0(SB)/8, $0x0000000200000001
DATA unitbytes<>+8(SB)/8, $0x0000000800000004
DATA unitbytes<>+16(SB)/8, $0x0000002000000010
DATA unitbytes<>+24(SB)/8, $0x0000008000000040
DATA unitbytes<>+32(SB)/8, $0x0000000200000001
DATA unitbytes<>+40(SB)/8, $0x0000000800000004
DATA unitbytes<>+48(SB)/8, $0x0000002000000010
DATA unitbytes<>+56(SB)/8, $0x0000008000000040
GLOBL unitbytes<>(SB), RODATA|NOPTR, $64

// HSUM2(op, a, b, dst) folds a and b so that dst holds half of each one's lanes, summed: op picks the halves
// (VSHUFF32X4 for 256- and 128-bit halves, VSHUFPS for pairs and singles within each 128-bit lane).
#define HSUM2(op, lo, hi, a, b, dst) \
	op     lo, b, a, Z16 \ // a's first halves beside b's
	op     hi, b, a, Z17 \ // a's second halves beside b's
	VADDPS Z17, Z16, dst   // pairwise sums

// order16 undoes the transposition's lane order: lane 4k+m of the reduced vector holds token k+4m.
DATA order16<>+0(SB)/4, $0
DATA order16<>+4(SB)/4, $4
DATA order16<>+8(SB)/4, $8
DATA order16<>+12(SB)/4, $12
DATA order16<>+16(SB)/4, $1
DATA order16<>+20(SB)/4, $5
DATA order16<>+24(SB)/4, $9
DATA order16<>+28(SB)/4, $13
DATA order16<>+32(SB)/4, $2
DATA order16<>+36(SB)/4, $6
DATA order16<>+40(SB)/4, $10
DATA order16<>+44(SB)/4, $14
DATA order16<>+48(SB)/4, $3
DATA order16<>+52(SB)/4, $7
DATA order16<>+56(SB)/4, $11
DATA order16<>+60(SB)/4, $15
GLOBL order16<>(SB), RODATA|NOPTR, $64

// func scoreBlocksAVX512(out, q []float32, codes []uint16, norms []float32, groups, bits int, c *codeConsts)
//
// Sixteen tokens at a time, one accumulator register each: for every group the query's 16 floats are loaded once
// and the 16 tokens' codes decoded against them, so there is no per-token loop and no per-token horizontal sum;
// the 16 accumulators are reduced together by a transposition (45 shuffles and adds for 16 sums).
TEXT ·scoreBlocksAVX512(SB), NOSPLIT, $0-120
	MOVQ out_base+0(FP), DI    // out
	MOVQ out_len+8(FP), CX     // tokens, a multiple of 16 (≥ 16)
	SHRQ $4, CX                // blocks of 16
	MOVQ q_base+24(FP), R8     // q, groups·16 floats
	MOVQ codes_base+48(FP), SI // codes, groups·bits words per token
	MOVQ norms_base+72(FP), R9 // norms
	MOVQ groups+96(FP), R10    // groups (≥ 1)
	MOVQ bits+104(FP), R11     // bits (1…4)
	MOVQ c+112(FP), AX         // constants
	CONSTS
	VMOVUPS order16<>(SB), Z26 // lane order of the reduction
	MOVQ    R10, BX
	IMULQ   R11, BX            // words per token
	SHLQ    $1, BX             // BX = stride s in bytes
	SHLQ    $1, R11            // R11 = bytes per group's planes
	SHLQ    $6, R10
	ADDQ    R8, R10            // R10 = end of q
	LEAQ    (BX)(BX*2), DX     // DX = 3s
	LEAQ    (BX)(BX*4), R12    // R12 = 5s
	LEAQ    (DX)(BX*4), R13    // R13 = 7s

sblock:
	VPXORD Z0, Z0, Z0 // sixteen accumulators, one per token
	VPXORD Z1, Z1, Z1
	VPXORD Z2, Z2, Z2
	VPXORD Z3, Z3, Z3
	VPXORD Z4, Z4, Z4
	VPXORD Z5, Z5, Z5
	VPXORD Z6, Z6, Z6
	VPXORD Z7, Z7, Z7
	VPXORD Z8, Z8, Z8
	VPXORD Z9, Z9, Z9
	VPXORD Z10, Z10, Z10
	VPXORD Z11, Z11, Z11
	VPXORD Z12, Z12, Z12
	VPXORD Z13, Z13, Z13
	VPXORD Z14, Z14, Z14
	VPXORD Z15, Z15, Z15
	MOVQ   SI, AX // AX = token 0's planes of this group
	MOVQ   R8, R15 // query cursor

sgroup:
	VMOVUPS (R15), Z18       // this group's 16 query floats
	LEAQ    (AX)(BX*8), R14  // R14 = token 9's planes: tokens 9, 11, 13, 15 are addressed from it
	ADDQ    BX, R14
	DEC((AX)) // token 0: Z17 = centroids
	VFMADD231PS Z18, Z17, Z0 // acc0 += q·centroid
	DEC((AX)(BX*1)) // token 1: Z17 = centroids
	VFMADD231PS Z18, Z17, Z1 // acc1 += q·centroid
	DEC((AX)(BX*2)) // token 2: Z17 = centroids
	VFMADD231PS Z18, Z17, Z2 // acc2 += q·centroid
	DEC((AX)(DX*1)) // token 3: Z17 = centroids
	VFMADD231PS Z18, Z17, Z3 // acc3 += q·centroid
	DEC((AX)(BX*4)) // token 4: Z17 = centroids
	VFMADD231PS Z18, Z17, Z4 // acc4 += q·centroid
	DEC((AX)(R12*1)) // token 5: Z17 = centroids
	VFMADD231PS Z18, Z17, Z5 // acc5 += q·centroid
	DEC((AX)(DX*2)) // token 6: Z17 = centroids
	VFMADD231PS Z18, Z17, Z6 // acc6 += q·centroid
	DEC((AX)(R13*1)) // token 7: Z17 = centroids
	VFMADD231PS Z18, Z17, Z7 // acc7 += q·centroid
	DEC((AX)(BX*8)) // token 8: Z17 = centroids
	VFMADD231PS Z18, Z17, Z8 // acc8 += q·centroid
	DEC((R14)) // token 9: Z17 = centroids
	VFMADD231PS Z18, Z17, Z9 // acc9 += q·centroid
	DEC((AX)(R12*2)) // token 10: Z17 = centroids
	VFMADD231PS Z18, Z17, Z10 // acc10 += q·centroid
	DEC((R14)(BX*2)) // token 11: Z17 = centroids
	VFMADD231PS Z18, Z17, Z11 // acc11 += q·centroid
	DEC((AX)(DX*4)) // token 12: Z17 = centroids
	VFMADD231PS Z18, Z17, Z12 // acc12 += q·centroid
	DEC((R14)(BX*4)) // token 13: Z17 = centroids
	VFMADD231PS Z18, Z17, Z13 // acc13 += q·centroid
	DEC((AX)(R13*2)) // token 14: Z17 = centroids
	VFMADD231PS Z18, Z17, Z14 // acc14 += q·centroid
	DEC((R14)(DX*2)) // token 15: Z17 = centroids
	VFMADD231PS Z18, Z17, Z15 // acc15 += q·centroid

snext:
	ADDQ R11, AX  // next group's planes
	ADDQ $64, R15 // next group's query floats
	CMPQ R15, R10 // all groups done?
	JNE  sgroup
	HSUM2(VSHUFF32X4, $0x44, $0xee, Z0, Z1, Z0) // level 1: 256-bit halves, tokens (0,1)
	HSUM2(VSHUFF32X4, $0x44, $0xee, Z2, Z3, Z1) // (2,3)
	HSUM2(VSHUFF32X4, $0x44, $0xee, Z4, Z5, Z2) // (4,5)
	HSUM2(VSHUFF32X4, $0x44, $0xee, Z6, Z7, Z3) // (6,7)
	HSUM2(VSHUFF32X4, $0x44, $0xee, Z8, Z9, Z4) // (8,9)
	HSUM2(VSHUFF32X4, $0x44, $0xee, Z10, Z11, Z5) // (10,11)
	HSUM2(VSHUFF32X4, $0x44, $0xee, Z12, Z13, Z6) // (12,13)
	HSUM2(VSHUFF32X4, $0x44, $0xee, Z14, Z15, Z7) // (14,15)
	HSUM2(VSHUFF32X4, $0x88, $0xdd, Z0, Z1, Z0) // level 2: 128-bit lanes, tokens 0–3 one per lane
	HSUM2(VSHUFF32X4, $0x88, $0xdd, Z2, Z3, Z1) // tokens 4–7
	HSUM2(VSHUFF32X4, $0x88, $0xdd, Z4, Z5, Z2) // tokens 8–11
	HSUM2(VSHUFF32X4, $0x88, $0xdd, Z6, Z7, Z3) // tokens 12–15
	HSUM2(VSHUFPS, $0x44, $0xee, Z0, Z1, Z0) // level 3: pairs within each lane, tokens k and 4+k in lane k
	HSUM2(VSHUFPS, $0x44, $0xee, Z2, Z3, Z1) // tokens 8+k and 12+k in lane k
	HSUM2(VSHUFPS, $0x88, $0xdd, Z0, Z1, Z0) // level 4: lane k holds tokens k, 4+k, 8+k, 12+k
	VPERMPS Z0, Z26, Z0         // token order
	VMULPS  (R9), Z0, Z0        // times the norms
	VMOVUPS Z0, (DI)            // 16 scores
	ADDQ    $64, DI             // next outputs
	ADDQ    $64, R9             // next norms
	LEAQ    (SI)(BX*8), SI      // next block: 16 tokens on
	LEAQ    (SI)(BX*8), SI
	DECQ    CX                  // one block done
	JNZ     sblock
	VZEROUPPER
	RET

// func accumBlocksAVX512(acc, w []float32, codes []uint16, groups, bits int, c *codeConsts)
//
// Tokens in blocks of 64 (their codes stay in L1); within a block each group is one register accumulated over the
// block's tokens, four at a time into four registers to hide the FMA latency, and added to acc once per block.
TEXT ·accumBlocksAVX512(SB), NOSPLIT, $0-96
	MOVQ acc_base+0(FP), R8    // acc, groups·16 floats
	MOVQ w_base+24(FP), R9     // weights
	MOVQ w_len+32(FP), CX      // tokens (≥ 1)
	LEAQ (R9)(CX*4), CX        // CX = end of weights
	MOVQ codes_base+48(FP), SI // codes
	MOVQ groups+72(FP), R10    // groups (≥ 1)
	MOVQ bits+80(FP), R11      // bits (1…4)
	MOVQ c+88(FP), AX          // constants
	CONSTS
	MOVQ  R10, BX
	IMULQ R11, BX              // words per token
	SHLQ  $1, BX               // BX = stride s in bytes
	SHLQ  $1, R11              // R11 = bytes per group's planes
	SHLQ  $6, R10
	ADDQ  R8, R10              // R10 = end of acc
	LEAQ  (BX)(BX*2), DX       // DX = 3s

ablock:
	LEAQ  256(R9), R12 // block end: 64 weights on …
	CMPQ  R12, CX
	CMOVQGT CX, R12    // … or the last weight
	MOVQ  SI, AX       // AX = first token's planes of this group
	MOVQ  R8, R13      // acc cursor

agroup:
	VPXORD Z0, Z0, Z0 // four partial sums
	VPXORD Z1, Z1, Z1
	VPXORD Z2, Z2, Z2
	VPXORD Z3, Z3, Z3
	MOVQ   AX, R15    // token cursor
	MOVQ   R9, DI     // weight cursor
aquad:
	LEAQ 12(DI), R14 // four weights left?
	CMPQ R14, R12
	JGE  aone
	DEC((R15)) // token +0
	VFMADD231PS.BCST (DI), Z17, Z0 // sum0 += w·centroid
	DEC((R15)(BX*1)) // token +1
	VFMADD231PS.BCST 4(DI), Z17, Z1 // sum1 += w·centroid
	DEC((R15)(BX*2)) // token +2
	VFMADD231PS.BCST 8(DI), Z17, Z2 // sum2 += w·centroid
	DEC((R15)(DX*1)) // token +3
	VFMADD231PS.BCST 12(DI), Z17, Z3 // sum3 += w·centroid
	LEAQ (R15)(BX*4), R15 // four tokens on
	ADDQ $16, DI
	JMP  aquad

aone:
	CMPQ DI, R12 // a weight left?
	JGE  anext
	DEC((R15)) // one token
	VFMADD231PS.BCST (DI), Z17, Z0 // sum0 += w·centroid
	ADDQ BX, R15 // next token
	ADDQ $4, DI
	JMP  aone

anext:
	VADDPS  Z1, Z0, Z0  // fold the partial sums
	VADDPS  Z3, Z2, Z2
	VADDPS  Z2, Z0, Z0
	VADDPS  (R13), Z0, Z0 // into acc
	VMOVUPS Z0, (R13)
	ADDQ    $64, R13    // next group of acc
	ADDQ    R11, AX     // next group's planes
	CMPQ    R13, R10    // all groups done?
	JNE     agroup
	MOVQ    BX, R14
	SHLQ    $6, R14
	ADDQ    R14, SI     // next block's codes: 64 tokens on
	MOVQ    R12, R9     // next block's weights
	CMPQ    R9, CX      // all tokens done?
	JLT     ablock
	VZEROUPPER
	RET
