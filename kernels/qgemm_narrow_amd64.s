//go:build !purego

#include "textflag.h"

// Narrow VNNI micro-kernels for a packed B panel's last 16 or 24 columns (N = 16, 24, 48 …): the same loop as
// qgemmKernel8x32VNNI without the unused lanes. Zen 4 splits each zmm VPDPBUSD into two 256-bit halves, so a
// 24-column panel costs 3/4 and a 16-column one 1/2 of the full kernel's multiply-adds.

// func qgemmKernel8x16VNNI(kg int, a *uint8, kp int, b *int8, c *int32, ldc int, init *int32)
TEXT ·qgemmKernel8x16VNNI(SB), NOSPLIT, $0-56
	MOVQ kg+0(FP), CX                            // CX = groups of 4 k left
	MOVQ a+8(FP), SI                             // SI = row 0 of A at the current group
	MOVQ kp+16(FP), BX                           // BX = A row stride in bytes
	MOVQ b+24(FP), DI                            // DI = packed B panel (still 32 columns wide)
	MOVQ c+32(FP), DX                            // DX = row 0 of the 8×16 int32 output
	MOVQ ldc+40(FP), R8                          // R8 = output row stride in int32s …
	SHLQ $2, R8                                  // … in bytes
	MOVQ init+48(FP), AX                         // AX = the 16 starting values shared by every row
	LEAQ (BX)(BX*2), R9                          // R9 = 3·stride
	LEAQ (SI)(BX*4), R11                         // R11 = row 4 of A
	VMOVDQU32 (AX), Z0                           // row 0, columns 0–15 = init 0–15
	VMOVDQA32 Z0, Z1                             // row 1, columns 0–15
	VMOVDQA32 Z0, Z2                             // row 2, columns 0–15
	VMOVDQA32 Z0, Z3                             // row 3, columns 0–15
	VMOVDQA32 Z0, Z4                             // row 4, columns 0–15
	VMOVDQA32 Z0, Z5                             // row 5, columns 0–15
	VMOVDQA32 Z0, Z6                             // row 6, columns 0–15
	VMOVDQA32 Z0, Z7                             // row 7, columns 0–15
	TESTQ CX, CX                                 // K = 0: store the starting values
	JZ vnni16_store                              // skip the loop
vnni16_loop:
	VMOVDQU32 (DI), Z8                           // B columns 0–15, 4 k each (int8)
	VPBROADCASTD (SI), Z9                        // row 0's 4 uint8 of this group in every lane
	VPBROADCASTD (SI)(BX*1), Z10                 // row 1's 4 uint8 of this group in every lane
	VPBROADCASTD (SI)(BX*2), Z11                 // row 2's 4 uint8 of this group in every lane
	VPBROADCASTD (SI)(R9*1), Z12                 // row 3's 4 uint8 of this group in every lane
	VPBROADCASTD (R11), Z13                      // row 4's 4 uint8 of this group in every lane
	VPBROADCASTD (R11)(BX*1), Z14                // row 5's 4 uint8 of this group in every lane
	VPBROADCASTD (R11)(BX*2), Z15                // row 6's 4 uint8 of this group in every lane
	VPBROADCASTD (R11)(R9*1), Z25                // row 7's 4 uint8 of this group in every lane
	VPDPBUSD Z8, Z9, Z0                          // row 0, columns 0–15 += Σ4 a·b
	VPDPBUSD Z8, Z10, Z1                         // row 1, columns 0–15 += Σ4 a·b
	VPDPBUSD Z8, Z11, Z2                         // row 2, columns 0–15 += Σ4 a·b
	VPDPBUSD Z8, Z12, Z3                         // row 3, columns 0–15 += Σ4 a·b
	VPDPBUSD Z8, Z13, Z4                         // row 4, columns 0–15 += Σ4 a·b
	VPDPBUSD Z8, Z14, Z5                         // row 5, columns 0–15 += Σ4 a·b
	VPDPBUSD Z8, Z15, Z6                         // row 6, columns 0–15 += Σ4 a·b
	VPDPBUSD Z8, Z25, Z7                         // row 7, columns 0–15 += Σ4 a·b
	ADDQ $4, SI                                  // next group of A rows 0–3
	ADDQ $4, R11                                 // next group of A rows 4–7
	ADDQ $128, DI                                // next group of B (the panel's full 32-column group)
	DECQ CX                                      // one group done
	JNZ vnni16_loop                              // until none is left
vnni16_store:
	LEAQ (R8)(R8*2), R9                          // R9 = 3 output rows in bytes
	LEAQ (DX)(R8*4), R10                         // R10 = output row 4
	VMOVDQU32 Z0, (DX)                           // row 0, columns 0–15
	VMOVDQU32 Z1, (DX)(R8*1)                     // row 1, columns 0–15
	VMOVDQU32 Z2, (DX)(R8*2)                     // row 2, columns 0–15
	VMOVDQU32 Z3, (DX)(R9*1)                     // row 3, columns 0–15
	VMOVDQU32 Z4, (R10)                          // row 4, columns 0–15
	VMOVDQU32 Z5, (R10)(R8*1)                    // row 5, columns 0–15
	VMOVDQU32 Z6, (R10)(R8*2)                    // row 6, columns 0–15
	VMOVDQU32 Z7, (R10)(R9*1)                    // row 7, columns 0–15
	VZEROUPPER                                   // leave no dirty upper state for SSE code
	RET

// func qgemmKernel8x24VNNI(kg int, a *uint8, kp int, b *int8, c *int32, ldc int, init *int32)
TEXT ·qgemmKernel8x24VNNI(SB), NOSPLIT, $0-56
	MOVQ kg+0(FP), CX                            // CX = groups of 4 k left
	MOVQ a+8(FP), SI                             // SI = row 0 of A at the current group
	MOVQ kp+16(FP), BX                           // BX = A row stride in bytes
	MOVQ b+24(FP), DI                            // DI = packed B panel (still 32 columns wide)
	MOVQ c+32(FP), DX                            // DX = row 0 of the 8×24 int32 output
	MOVQ ldc+40(FP), R8                          // R8 = output row stride in int32s …
	SHLQ $2, R8                                  // … in bytes
	MOVQ init+48(FP), AX                         // AX = the 24 starting values shared by every row
	LEAQ (BX)(BX*2), R9                          // R9 = 3·stride
	LEAQ (SI)(BX*4), R11                         // R11 = row 4 of A
	VMOVDQU32 (AX), Z0                           // row 0, columns 0–15 = init 0–15
	VMOVDQA32 Z0, Z1                             // row 1, columns 0–15
	VMOVDQA32 Z0, Z2                             // row 2, columns 0–15
	VMOVDQA32 Z0, Z3                             // row 3, columns 0–15
	VMOVDQA32 Z0, Z4                             // row 4, columns 0–15
	VMOVDQA32 Z0, Z5                             // row 5, columns 0–15
	VMOVDQA32 Z0, Z6                             // row 6, columns 0–15
	VMOVDQA32 Z0, Z7                             // row 7, columns 0–15
	VMOVDQU32 64(AX), Y16                        // row 0, columns 16–23 = init 16–23 (Y16+: EVEX, AVX512VL)
	VMOVDQA32 Y16, Y17                           // row 1, columns 16–23
	VMOVDQA32 Y16, Y18                           // row 2, columns 16–23
	VMOVDQA32 Y16, Y19                           // row 3, columns 16–23
	VMOVDQA32 Y16, Y20                           // row 4, columns 16–23
	VMOVDQA32 Y16, Y21                           // row 5, columns 16–23
	VMOVDQA32 Y16, Y22                           // row 6, columns 16–23
	VMOVDQA32 Y16, Y23                           // row 7, columns 16–23
	TESTQ CX, CX                                 // K = 0: store the starting values
	JZ vnni24_store                              // skip the loop
vnni24_loop:
	VMOVDQU32 (DI), Z8                           // B columns 0–15, 4 k each (int8)
	VMOVDQU32 64(DI), Y24                        // B columns 16–23
	VPBROADCASTD (SI), Z9                        // row 0's 4 uint8 of this group in every lane
	VPBROADCASTD (SI)(BX*1), Z10                 // row 1's 4 uint8 of this group in every lane
	VPBROADCASTD (SI)(BX*2), Z11                 // row 2's 4 uint8 of this group in every lane
	VPBROADCASTD (SI)(R9*1), Z12                 // row 3's 4 uint8 of this group in every lane
	VPBROADCASTD (R11), Z13                      // row 4's 4 uint8 of this group in every lane
	VPBROADCASTD (R11)(BX*1), Z14                // row 5's 4 uint8 of this group in every lane
	VPBROADCASTD (R11)(BX*2), Z15                // row 6's 4 uint8 of this group in every lane
	VPBROADCASTD (R11)(R9*1), Z25                // row 7's 4 uint8 of this group in every lane
	VPDPBUSD Z8, Z9, Z0                          // row 0, columns 0–15 += Σ4 a·b
	VPDPBUSD Y24, Y9, Y16                        // row 0, columns 16–23
	VPDPBUSD Z8, Z10, Z1                         // row 1, columns 0–15 += Σ4 a·b
	VPDPBUSD Y24, Y10, Y17                       // row 1, columns 16–23
	VPDPBUSD Z8, Z11, Z2                         // row 2, columns 0–15 += Σ4 a·b
	VPDPBUSD Y24, Y11, Y18                       // row 2, columns 16–23
	VPDPBUSD Z8, Z12, Z3                         // row 3, columns 0–15 += Σ4 a·b
	VPDPBUSD Y24, Y12, Y19                       // row 3, columns 16–23
	VPDPBUSD Z8, Z13, Z4                         // row 4, columns 0–15 += Σ4 a·b
	VPDPBUSD Y24, Y13, Y20                       // row 4, columns 16–23
	VPDPBUSD Z8, Z14, Z5                         // row 5, columns 0–15 += Σ4 a·b
	VPDPBUSD Y24, Y14, Y21                       // row 5, columns 16–23
	VPDPBUSD Z8, Z15, Z6                         // row 6, columns 0–15 += Σ4 a·b
	VPDPBUSD Y24, Y15, Y22                       // row 6, columns 16–23
	VPDPBUSD Z8, Z25, Z7                         // row 7, columns 0–15 += Σ4 a·b
	VPDPBUSD Y24, Y25, Y23                       // row 7, columns 16–23
	ADDQ $4, SI                                  // next group of A rows 0–3
	ADDQ $4, R11                                 // next group of A rows 4–7
	ADDQ $128, DI                                // next group of B (the panel's full 32-column group)
	DECQ CX                                      // one group done
	JNZ vnni24_loop                              // until none is left
vnni24_store:
	LEAQ (R8)(R8*2), R9                          // R9 = 3 output rows in bytes
	LEAQ (DX)(R8*4), R10                         // R10 = output row 4
	VMOVDQU32 Z0, (DX)                           // row 0, columns 0–15
	VMOVDQU32 Y16, 64(DX)                        // row 0, columns 16–23
	VMOVDQU32 Z1, (DX)(R8*1)                     // row 1, columns 0–15
	VMOVDQU32 Y17, 64(DX)(R8*1)                  // row 1, columns 16–23
	VMOVDQU32 Z2, (DX)(R8*2)                     // row 2, columns 0–15
	VMOVDQU32 Y18, 64(DX)(R8*2)                  // row 2, columns 16–23
	VMOVDQU32 Z3, (DX)(R9*1)                     // row 3, columns 0–15
	VMOVDQU32 Y19, 64(DX)(R9*1)                  // row 3, columns 16–23
	VMOVDQU32 Z4, (R10)                          // row 4, columns 0–15
	VMOVDQU32 Y20, 64(R10)                       // row 4, columns 16–23
	VMOVDQU32 Z5, (R10)(R8*1)                    // row 5, columns 0–15
	VMOVDQU32 Y21, 64(R10)(R8*1)                 // row 5, columns 16–23
	VMOVDQU32 Z6, (R10)(R8*2)                    // row 6, columns 0–15
	VMOVDQU32 Y22, 64(R10)(R8*2)                 // row 6, columns 16–23
	VMOVDQU32 Z7, (R10)(R9*1)                    // row 7, columns 0–15
	VMOVDQU32 Y23, 64(R10)(R9*1)                 // row 7, columns 16–23
	VZEROUPPER                                   // leave no dirty upper state for SSE code
	RET
