//go:build !purego

#include "textflag.h"

// func qlookupVBMI(y, x *uint8, n int, table *[256]uint8)
TEXT ·qlookupVBMI(SB), NOSPLIT, $0-32
	MOVQ y+0(FP), DI                             // DI = output bytes
	MOVQ x+8(FP), SI                             // SI = index bytes
	MOVQ n+16(FP), CX                            // CX = bytes, a multiple of 64
	MOVQ table+24(FP), AX                        // AX = the 256-byte table
	VMOVDQU8 (AX), Z0                            // entries 0–63
	VMOVDQU8 64(AX), Z1                          // entries 64–127
	VMOVDQU8 128(AX), Z2                         // entries 128–191
	VMOVDQU8 192(AX), Z3                         // entries 192–255
	SHRQ $6, CX                                  // groups of 64
	JZ lk_done
lk_loop:
	VMOVDQU8 (SI), Z4                            // 64 indices
	VMOVDQA64 Z4, Z5                             // indices for the lower half (VPERMI2B overwrites them)
	VMOVDQA64 Z4, Z6                             // indices for the upper half
	VPERMI2B Z1, Z0, Z5                          // Z5 = entries 0–127 at index bits 0–6
	VPERMI2B Z3, Z2, Z6                          // Z6 = entries 128–255 at index bits 0–6
	VPMOVB2M Z4, K1                              // K1 = indices with the top bit set
	VMOVDQU8 Z6, K1, Z5                          // those take the upper half's entry
	VMOVDQU8 Z5, (DI)                            // 64 results
	ADDQ $64, SI                                 // next 64 indices
	ADDQ $64, DI                                 // next 64 results
	DECQ CX
	JNZ lk_loop
lk_done:
	VZEROUPPER                                   // leave no dirty upper state for SSE code
	RET

// qlookupHigh is 0x80 in every byte: the index bit that picks the table's upper half.
DATA qlookupHigh<>+0(SB)/8, $0x8080808080808080
DATA qlookupHigh<>+8(SB)/8, $0x8080808080808080
DATA qlookupHigh<>+16(SB)/8, $0x8080808080808080
DATA qlookupHigh<>+24(SB)/8, $0x8080808080808080
GLOBL qlookupHigh<>(SB), RODATA|NOPTR, $32

// qlookupLowHigh is 0x8F in every byte: an index's low nibble (VPSHUFB's row position) and top bit.
DATA qlookupLowHigh<>+0(SB)/8, $0x8f8f8f8f8f8f8f8f
DATA qlookupLowHigh<>+8(SB)/8, $0x8f8f8f8f8f8f8f8f
DATA qlookupLowHigh<>+16(SB)/8, $0x8f8f8f8f8f8f8f8f
DATA qlookupLowHigh<>+24(SB)/8, $0x8f8f8f8f8f8f8f8f
GLOBL qlookupLowHigh<>(SB), RODATA|NOPTR, $32

// LK2_ROWS looks up row ROW (entries 16·ROW …) and row ROW + 8 of the table at AX into OUT: VPSHUFB returns 0 for
// an index with its top bit set, so Y1 (the index's low nibble and top bit) finds the lower row's entry and Y2
// (the same, top bit flipped) the upper row's, and the two OR together. TMP is scratch.
#define LK2_ROWS(ROW, OUT, TMP) \
	VBROADCASTI128 (16*ROW)(AX), OUT   /* row ROW in both 128-bit lanes */ \
	VPSHUFB Y1, OUT, OUT               /* its entry where the index is below 128, else 0 */ \
	VBROADCASTI128 (16*ROW+128)(AX), TMP /* row ROW + 8 */ \
	VPSHUFB Y2, TMP, TMP               /* its entry where the index is 128 or more */ \
	VPOR TMP, OUT, OUT

// func qlookupAVX2(y, x *uint8, n int, table *[256]uint8)
TEXT ·qlookupAVX2(SB), NOSPLIT, $0-32
	MOVQ y+0(FP), DI                             // DI = output bytes
	MOVQ x+8(FP), SI                             // SI = index bytes
	MOVQ n+16(FP), CX                            // CX = bytes, a multiple of 32
	MOVQ table+24(FP), AX                        // AX = the 256-byte table
	VMOVDQU qlookupLowHigh<>(SB), Y14            // 0x8F in every byte
	VMOVDQU qlookupHigh<>(SB), Y15               // 0x80 in every byte
	SHRQ $5, CX                                  // groups of 32
	JZ lk2_done
lk2_loop:
	VMOVDQU (SI), Y0                             // 32 indices
	VPAND Y14, Y0, Y1                            // Y1 = low nibble and top bit: rows 0–7 answer
	VPXOR Y15, Y1, Y2                            // Y2 = the same, top bit flipped: rows 8–15 answer
	VPSLLW $3, Y0, Y3                            // index bit 4 at each byte's top (VPBLENDVB's selector)
	VPSLLW $2, Y0, Y4                            // bit 5 (the word shifts carry nothing into a byte's top)
	VPSLLW $1, Y0, Y5                            // bit 6
	LK2_ROWS(0, Y6, Y7)                          // Y6 = rows 0 and 8
	LK2_ROWS(1, Y7, Y8)                          // Y7 = rows 1 and 9
	VPBLENDVB Y3, Y7, Y6, Y6                     // Y6 = by bit 4: rows 0–1, 8–9
	LK2_ROWS(2, Y7, Y8)                          // rows 2 and 10
	LK2_ROWS(3, Y8, Y9)                          // rows 3 and 11
	VPBLENDVB Y3, Y8, Y7, Y7                     // Y7 = by bit 4: rows 2–3, 10–11
	VPBLENDVB Y4, Y7, Y6, Y6                     // Y6 = by bit 5: rows 0–3, 8–11
	LK2_ROWS(4, Y7, Y8)                          // rows 4 and 12
	LK2_ROWS(5, Y8, Y9)                          // rows 5 and 13
	VPBLENDVB Y3, Y8, Y7, Y7                     // Y7 = by bit 4: rows 4–5, 12–13
	LK2_ROWS(6, Y8, Y9)                          // rows 6 and 14
	LK2_ROWS(7, Y9, Y10)                         // rows 7 and 15
	VPBLENDVB Y3, Y9, Y8, Y8                     // Y8 = by bit 4: rows 6–7, 14–15
	VPBLENDVB Y4, Y8, Y7, Y7                     // Y7 = by bit 5: rows 4–7, 12–15
	VPBLENDVB Y5, Y7, Y6, Y6                     // by bit 6: every row
	VMOVDQU Y6, (DI)                             // 32 results
	ADDQ $32, SI                                 // next 32 indices
	ADDQ $32, DI                                 // next 32 results
	DECQ CX
	JNZ lk2_loop
lk2_done:
	VZEROUPPER                                   // leave no dirty upper state for SSE code
	RET
