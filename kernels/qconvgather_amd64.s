//go:build !purego

#include "textflag.h"
#include "qinterleave_amd64.h"

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
	QPW_INTERLEAVE4(Y4, Y5, Y6, Y7, Y8, Y9, Y10, Y11) // 4 taps per pixel, stored
	ADDQ $128, DI                                // next group of the panel
	DECQ CX                                      // one group done
	JNZ cg_loop                                  // until none is left
	VZEROUPPER                                   // leave no dirty upper state for SSE code
	RET
