//go:build !purego

#include "textflag.h"

// maxPoolEven<> picks the even lanes of two vectors (lo lanes 0,2,…,14 then hi lanes 0,2,…,14) for VPERMT2PS.
DATA maxPoolEven<>+0(SB)/4, $0
DATA maxPoolEven<>+4(SB)/4, $2
DATA maxPoolEven<>+8(SB)/4, $4
DATA maxPoolEven<>+12(SB)/4, $6
DATA maxPoolEven<>+16(SB)/4, $8
DATA maxPoolEven<>+20(SB)/4, $10
DATA maxPoolEven<>+24(SB)/4, $12
DATA maxPoolEven<>+28(SB)/4, $14
DATA maxPoolEven<>+32(SB)/4, $16
DATA maxPoolEven<>+36(SB)/4, $18
DATA maxPoolEven<>+40(SB)/4, $20
DATA maxPoolEven<>+44(SB)/4, $22
DATA maxPoolEven<>+48(SB)/4, $24
DATA maxPoolEven<>+52(SB)/4, $26
DATA maxPoolEven<>+56(SB)/4, $28
DATA maxPoolEven<>+60(SB)/4, $30
GLOBL maxPoolEven<>(SB), RODATA|NOPTR, $64

// func maxPoolRowS1AVX512(dst, src *float32, n, k int)
TEXT ·maxPoolRowS1AVX512(SB), NOSPLIT, $0-32
	MOVQ dst+0(FP), DI              // destination
	MOVQ src+8(FP), SI              // window start of the current 16 outputs
	MOVQ n+16(FP), CX               // outputs left (a multiple of 16)
	MOVQ k+24(FP), DX               // taps per window
s1_block:
	TESTQ CX, CX                    // outputs left?
	JZ s1_done                      // no
	VMOVUPS (SI), Z0                // tap 0 seeds the maximum
	MOVQ SI, R8                     // tap pointer
	MOVQ DX, R9                     // taps left, counting the seed
s1_tap:
	DECQ R9                         // one more tap done
	JZ s1_store                     // all taps folded in
	ADDQ $4, R8                     // next tap: one value right
	VMOVUPS (R8), Z1                // load the tap for 16 outputs
	VMAXPS Z0, Z1, Z0               // tap > best ? tap : best (NaN keeps best)
	JMP s1_tap                      // next tap
s1_store:
	VMOVUPS Z0, (DI)                // store 16 outputs
	ADDQ $64, SI                    // advance 16 windows
	ADDQ $64, DI                    // advance 16 outputs
	SUBQ $16, CX                    // outputs done
	JMP s1_block                    // next block
s1_done:
	VZEROUPPER                      // avoid AVX/SSE transition stalls
	RET                             // return

// func maxPoolRowS2AVX512(dst, src *float32, n, k int)
//
// Lane j of the 32-lane running maximum holds the window starting at src[j]; the even lanes are the outputs.
TEXT ·maxPoolRowS2AVX512(SB), NOSPLIT, $0-32
	MOVQ dst+0(FP), DI              // destination
	MOVQ src+8(FP), SI              // window start of the current 16 outputs
	MOVQ n+16(FP), CX               // outputs left (a multiple of 16)
	MOVQ k+24(FP), DX               // taps per window
	VMOVDQU32 maxPoolEven<>(SB), Z7 // even-lane permutation
s2_block:
	TESTQ CX, CX                    // outputs left?
	JZ s2_done                      // no
	VMOVUPS (SI), Z0                // tap 0, windows 0-15
	VMOVUPS 64(SI), Z2              // tap 0, windows 16-31
	MOVQ SI, R8                     // tap pointer
	MOVQ DX, R9                     // taps left, counting the seed
s2_tap:
	DECQ R9                         // one more tap done
	JZ s2_store                     // all taps folded in
	ADDQ $4, R8                     // next tap: one value right
	VMOVUPS (R8), Z1                // tap, windows 0-15
	VMOVUPS 64(R8), Z3              // tap, windows 16-31
	VMAXPS Z0, Z1, Z0               // tap > best ? tap : best (NaN keeps best)
	VMAXPS Z2, Z3, Z2               // same for the upper windows
	JMP s2_tap                      // next tap
s2_store:
	VPERMT2PS Z2, Z7, Z0            // keep the even windows: the 16 stride-2 outputs
	VMOVUPS Z0, (DI)                // store 16 outputs
	ADDQ $128, SI                   // advance 32 values (16 windows of stride 2)
	ADDQ $64, DI                    // advance 16 outputs
	SUBQ $16, CX                    // outputs done
	JMP s2_block                    // next block
s2_done:
	VZEROUPPER                      // avoid AVX/SSE transition stalls
	RET                             // return

// func anyNaNAVX512(x *float32, n int) bool
TEXT ·anyNaNAVX512(SB), NOSPLIT, $0-17
	MOVQ x+0(FP), SI                // values
	MOVQ n+8(FP), CX                // values left (a multiple of 16)
	KXORW K1, K1, K1                // no NaN seen yet
nan_loop:
	TESTQ CX, CX                    // values left?
	JZ nan_done                     // no
	VMOVUPS (SI), Z0                // load 16 values
	VCMPPS $3, Z0, Z0, K2           // unordered with itself: NaN lanes
	KORW K2, K1, K1                 // remember them
	ADDQ $64, SI                    // advance 16 values
	SUBQ $16, CX                    // values done
	JMP nan_loop                    // next vector
nan_done:
	KORTESTW K1, K1                 // any NaN lane? (ZF clear if so)
	SETNE ret+16(FP)                // return it
	VZEROUPPER                      // avoid AVX/SSE transition stalls
	RET                             // return

// MAXBYTES defines a byte-maximum loop over n bytes (a multiple of 32), dst[i] = max(dst[i], src[i]), with MAX the
// VPMAXUB or VPMAXSB that compares them unsigned or signed. (Labels are local to each TEXT block.)
#define MAXBYTES(NAME, MAX) \
TEXT NAME(SB), NOSPLIT, $0-24 \
	MOVQ dst+0(FP), DI   /* running maxima */ \
	MOVQ src+8(FP), SI   /* bytes to fold in */ \
	MOVQ n+16(FP), CX    /* bytes left (a multiple of 32) */ \
loop: \
	TESTQ CX, CX         /* bytes left? */ \
	JZ done \
	VMOVDQU (SI), Y0     /* 32 source bytes */ \
	MAX (DI), Y0, Y0     /* maximum with the running maxima */ \
	VMOVDQU Y0, (DI)     /* store them back */ \
	ADDQ $32, SI \
	ADDQ $32, DI \
	SUBQ $32, CX \
	JMP loop \
done: \
	VZEROUPPER           /* avoid AVX/SSE transition stalls */ \
	RET

// func maxBytesU8AVX2(dst, src *byte, n int)
MAXBYTES(·maxBytesU8AVX2, VPMAXUB)

// func maxBytesI8AVX2(dst, src *byte, n int)
MAXBYTES(·maxBytesI8AVX2, VPMAXSB)

// func evenBytesAVX2(dst, src *byte, n int)
TEXT ·evenBytesAVX2(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI              // outputs
	MOVQ src+8(FP), SI              // inputs, two per output
	MOVQ n+16(FP), CX               // outputs left (a multiple of 32)
	MOVQ $0x0E0C0A0806040200, AX    // VPSHUFB index: the even bytes of a 16-byte lane to its low 8
	MOVQ AX, X2                     // … low qword
	VPINSRQ $1, AX, X2, X2          // … high qword (its result is not used)
	VINSERTI128 $1, X2, Y2, Y2      // … for both lanes
even_loop:
	VMOVDQU (SI), Y0                // source bytes 0–31
	VMOVDQU 32(SI), Y1              // source bytes 32–63
	VPSHUFB Y2, Y0, Y0              // evens of 0–15 | 16–31, each in its lane's low qword
	VPSHUFB Y2, Y1, Y1              // evens of 32–47 | 48–63
	VPUNPCKLQDQ Y1, Y0, Y0          // outputs 0–7, 16–23 | 8–15, 24–31
	VPERMQ $0xD8, Y0, Y0            // outputs 0–31 in order
	VMOVDQU Y0, (DI)                // store them
	ADDQ $64, SI                    // next 64 source bytes
	ADDQ $32, DI                    // next 32 outputs
	SUBQ $32, CX                    // 32 done
	JNZ even_loop                   // until none is left
	VZEROUPPER                      // avoid AVX/SSE transition stalls
	RET

// func sumBytesAVX2(b *byte, n int, flip byte) uint64
TEXT ·sumBytesAVX2(SB), NOSPLIT, $0-32
	MOVQ b+0(FP), SI                // bytes
	MOVQ n+8(FP), CX                // bytes left (a multiple of 32)
	MOVBLZX flip+16(FP), AX         // 0x80 for int8, 0 for uint8
	MOVQ AX, X3                     // … into a vector
	VPBROADCASTB X3, Y3             // … in every byte
	VPXOR Y2, Y2, Y2                // zeros, for VPSADBW
	VPXOR Y0, Y0, Y0                // 4 running sums (one per 8 bytes of each 32)
	VPXOR Y1, Y1, Y1                // 4 more (two blocks per round)
	CMPQ CX, $64                    // two blocks left?
	JL sum_one
sum_two:
	VPXOR (SI), Y3, Y4              // 32 bytes as uint8
	VPXOR 32(SI), Y3, Y5            // the next 32
	VPSADBW Y2, Y4, Y4              // each 8 bytes summed into a qword
	VPSADBW Y2, Y5, Y5              // …
	VPADDQ Y4, Y0, Y0               // accumulate
	VPADDQ Y5, Y1, Y1               // …
	ADDQ $64, SI                    // next 64 bytes
	SUBQ $64, CX                    // 64 done
	CMPQ CX, $64                    // two blocks left?
	JGE sum_two
sum_one:
	TESTQ CX, CX                    // one block left?
	JZ sum_done
	VPXOR (SI), Y3, Y4              // 32 bytes as uint8
	VPSADBW Y2, Y4, Y4              // each 8 bytes summed into a qword
	VPADDQ Y4, Y0, Y0               // accumulate
sum_done:
	VPADDQ Y1, Y0, Y0               // 4 sums
	VEXTRACTI128 $1, Y0, X1         // upper 2
	VPADDQ X1, X0, X0               // 2 sums
	VPSHUFD $0x4E, X0, X1           // swap them
	VPADDQ X1, X0, X0               // the sum
	MOVQ X0, ret+24(FP)             // return it
	VZEROUPPER                      // avoid AVX/SSE transition stalls
	RET
