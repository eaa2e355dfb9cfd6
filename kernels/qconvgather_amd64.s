//go:build !purego

#include "textflag.h"

// QCG_TAP gathers one tap's 32 pixel bytes into ZD: 128 bytes from SI plus the tap's offset (the next entry of
// R8) form the table, and the index in Z31 picks every sw-th byte.
#define QCG_TAP(ZT, ZD) \
	MOVQ (R8), R9                  /* the tap's offset */ \
	ADDQ $8, R8                    /* next tap */ \
	VMOVDQU8 (SI)(R9*1), ZT        /* table bytes 0–63 */ \
	VMOVDQA64 Z31, ZD              /* the index … */ \
	VPERMI2B 64(SI)(R9*1), ZT, ZD  /* … becomes the gathered bytes (table bytes 64–127 from memory) */ \
	VPXORD Z30, ZD, ZD             /* as uint8 */

// func qcgPackVBMI(dst, x *uint8, offs *int, groups int, idx *[64]uint8, flip uint8)
TEXT ·qcgPackVBMI(SB), NOSPLIT, $0-41
	MOVQ dst+0(FP), DI                           // DI = packed panel at the current group
	MOVQ x+8(FP), SI                             // SI = the panel's first window in the planes
	MOVQ offs+16(FP), R8                         // R8 = the taps' offsets from it
	MOVQ groups+24(FP), CX                       // CX = groups of 4 taps left (at least 1)
	MOVQ idx+32(FP), AX                          // the gather index
	VMOVDQU8 (AX), Z31                           // … in Z31
	MOVBLZX flip+40(FP), AX                      // 0x80 for int8 input, 0 for uint8
	VPBROADCASTB AX, Z30                         // … in every byte
cg_loop:
	QCG_TAP(Z0, Z4)                              // tap 4g: pixels 0–31 in Y4
	QCG_TAP(Z1, Z5)                              // tap 4g+1 in Y5
	QCG_TAP(Z2, Z6)                              // tap 4g+2 in Y6
	QCG_TAP(Z3, Z7)                              // tap 4g+3 in Y7
	VPUNPCKLBW Y5, Y4, Y8                        // taps 0,1 paired: pixels 0–7 | 16–23
	VPUNPCKHBW Y5, Y4, Y9                        // pixels 8–15 | 24–31
	VPUNPCKLBW Y7, Y6, Y10                       // taps 2,3 paired: pixels 0–7 | 16–23
	VPUNPCKHBW Y7, Y6, Y11                       // pixels 8–15 | 24–31
	VPUNPCKLWD Y10, Y8, Y0                       // 4 taps per pixel: pixels 0–3 | 16–19
	VPUNPCKHWD Y10, Y8, Y1                       // pixels 4–7 | 20–23
	VPUNPCKLWD Y11, Y9, Y2                       // pixels 8–11 | 24–27
	VPUNPCKHWD Y11, Y9, Y3                       // pixels 12–15 | 28–31
	VPERM2I128 $0x20, Y1, Y0, Y8                 // pixels 0–7
	VPERM2I128 $0x20, Y3, Y2, Y9                 // pixels 8–15
	VPERM2I128 $0x31, Y1, Y0, Y10                // pixels 16–23
	VPERM2I128 $0x31, Y3, Y2, Y11                // pixels 24–31
	VMOVDQU Y8, (DI)                             // store the group's 128 bytes
	VMOVDQU Y9, 32(DI)                           // …
	VMOVDQU Y10, 64(DI)                          // …
	VMOVDQU Y11, 96(DI)                          // …
	ADDQ $128, DI                                // next group of the panel
	DECQ CX                                      // one group done
	JNZ cg_loop                                  // until none is left
	VZEROUPPER                                   // leave no dirty upper state for SSE code
	RET
