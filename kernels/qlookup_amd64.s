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
