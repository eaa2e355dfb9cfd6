//go:build !purego

#include "textflag.h"
#include "qinterleave_amd64.h"

// QPW_SCALE turns one output channel's two accumulators (pixels 0–15 in LO, 16–31 in HI) into float32
// (sums + correction)·multiplier, with the channel's correction and multiplier at byte offset OFF of R8 and R9.
#define QPW_SCALE(LO, HI, OFF) \
	VPBROADCASTD OFF(R8), Z18      /* the channel's correction (bias − za·Σw) */ \
	VPBROADCASTD OFF(R9), Z19      /* the channel's multiplier */ \
	VPADDD Z18, LO, LO             /* sums + correction */ \
	VPADDD Z18, HI, HI \
	VCVTDQ2PS LO, LO               /* to float32 */ \
	VCVTDQ2PS HI, HI \
	VMULPS Z19, LO, LO             /* × multiplier */ \
	VMULPS Z19, HI, HI

// QPW_ROW requantizes one output channel's two accumulators (pixels 0–15 in LO, 16–31 in HI) with its correction
// and multiplier at byte offset OFF, stores its 32 bytes at DX and moves DX to the next channel's row; after the
// last of the rows asked for it leaves.
#define QPW_ROW(LO, HI, OFF) \
	QPW_SCALE(LO, HI, OFF)         /* (sums + correction) × multiplier */ \
	VMAXPS Z28, LO, LO             /* clamp below (a NaN becomes the bound) */ \
	VMAXPS Z28, HI, HI \
	VMINPS Z29, LO, LO             /* clamp above */ \
	VMINPS Z29, HI, HI \
	VCVTPS2DQ.RN_SAE LO, LO        /* round half to even */ \
	VCVTPS2DQ.RN_SAE HI, HI \
	VPADDD Z30, LO, LO             /* + zero point: now in [lo, hi] */ \
	VPADDD Z30, HI, HI \
	VPMOVDB LO, (DX)               /* pixels 0–15 (low byte of each lane) */ \
	VPMOVDB HI, 16(DX)             /* pixels 16–31 */ \
	ADDQ R10, DX                   /* next channel's row */ \
	DECQ R11                       /* one row stored */ \
	JZ qpw_done

// QPW_ARGS loads the pointwise kernels' shared arguments: CX groups, SI the panel, DI the weights, R8 the
// corrections, R9 the multipliers, DX the output, R10 its row stride (in elements) and R11 the rows to store.
#define QPW_ARGS \
	MOVQ kg+0(FP), CX              /* groups of 4 input channels left */ \
	MOVQ x+8(FP), SI               /* packed panel at the current group */ \
	MOVQ w+16(FP), DI              /* the block's weights at the current group */ \
	MOVQ corr+24(FP), R8           /* per-channel corrections */ \
	MOVQ scale+32(FP), R9          /* per-channel multipliers */ \
	MOVQ d+40(FP), DX              /* channel 0's 32 outputs */ \
	MOVQ ldd+48(FP), R10           /* elements from one channel's row to the next */ \
	MOVQ rows+56(FP), R11          /* channels to store (1–8) */

// QPW_ZERO clears the 16 accumulators (two per output channel).
#define QPW_ZERO \
	VPXORD Z0, Z0, Z0              /* channel 0, pixels 0–15 */ \
	VPXORD Z1, Z1, Z1              /* channel 0, pixels 16–31 */ \
	VPXORD Z2, Z2, Z2 \
	VPXORD Z3, Z3, Z3 \
	VPXORD Z4, Z4, Z4 \
	VPXORD Z5, Z5, Z5 \
	VPXORD Z6, Z6, Z6 \
	VPXORD Z7, Z7, Z7 \
	VPXORD Z8, Z8, Z8 \
	VPXORD Z9, Z9, Z9 \
	VPXORD Z10, Z10, Z10 \
	VPXORD Z11, Z11, Z11 \
	VPXORD Z12, Z12, Z12 \
	VPXORD Z13, Z13, Z13 \
	VPXORD Z14, Z14, Z14 \
	VPXORD Z15, Z15, Z15

// QPW_DOT adds one group of 4 input channels — pixels 0–15 in Z16, 16–31 in Z17 — times the 8 channels' weights
// at DI (4 int8 each, broadcast from memory) into the accumulators with VPDPBUSD.
#define QPW_DOT \
	VPDPBUSD.BCST 0(DI), Z16, Z0   /* channel 0, pixels 0–15 += Σ4 x·w */ \
	VPDPBUSD.BCST 0(DI), Z17, Z1   /* channel 0, pixels 16–31 */ \
	VPDPBUSD.BCST 4(DI), Z16, Z2   /* channel 1 */ \
	VPDPBUSD.BCST 4(DI), Z17, Z3 \
	VPDPBUSD.BCST 8(DI), Z16, Z4   /* channel 2 */ \
	VPDPBUSD.BCST 8(DI), Z17, Z5 \
	VPDPBUSD.BCST 12(DI), Z16, Z6  /* channel 3 */ \
	VPDPBUSD.BCST 12(DI), Z17, Z7 \
	VPDPBUSD.BCST 16(DI), Z16, Z8  /* channel 4 */ \
	VPDPBUSD.BCST 16(DI), Z17, Z9 \
	VPDPBUSD.BCST 20(DI), Z16, Z10 /* channel 5 */ \
	VPDPBUSD.BCST 20(DI), Z17, Z11 \
	VPDPBUSD.BCST 24(DI), Z16, Z12 /* channel 6 */ \
	VPDPBUSD.BCST 24(DI), Z17, Z13 \
	VPDPBUSD.BCST 28(DI), Z16, Z14 /* channel 7 */ \
	VPDPBUSD.BCST 28(DI), Z17, Z15

// QPW_SUMS clears the accumulators and adds the panel's kg groups (CX, consecutive 128-byte groups from SI) times
// the block's weights (DI) into them; it leaves at qpw_store.
#define QPW_SUMS \
	QPW_ZERO \
	TESTQ CX, CX                   /* no input channels: the corrections alone */ \
	JZ qpw_store \
qpw_loop: \
	VMOVDQU32 (SI), Z16            /* pixels 0–15, 4 input channels each (uint8) */ \
	VMOVDQU32 64(SI), Z17          /* pixels 16–31 */ \
	QPW_DOT \
	ADDQ $128, SI                  /* next group of the panel */ \
	ADDQ $32, DI                   /* next group of the weights */ \
	DECQ CX                        /* one group done */ \
	JNZ qpw_loop

// QPW_SUMS_OFFS is QPW_SUMS with each group at its own offset from SI, read from the table at R12 (QConvRows:
// a tap's 32 pixels of 4 channels in a packed input row).
#define QPW_SUMS_OFFS \
	QPW_ZERO \
	TESTQ CX, CX                   /* no groups: the corrections alone */ \
	JZ qpw_store \
qpwo_loop: \
	MOVQ (R12), R13                /* this group's offset */ \
	VMOVDQU32 (SI)(R13*1), Z16     /* pixels 0–15, 4 input channels each (uint8) */ \
	VMOVDQU32 64(SI)(R13*1), Z17   /* pixels 16–31 */ \
	QPW_DOT \
	ADDQ $8, R12                   /* next group's offset */ \
	ADDQ $32, DI                   /* next group of the weights */ \
	DECQ CX                        /* one group done */ \
	JNZ qpwo_loop

// QPW_CHANNELS applies a row epilogue (QPW_ROW or QPW_ROWF) to the 8 channels' accumulator pairs in order.
#define QPW_CHANNELS(ROW) \
	ROW(Z0, Z1, 0) \
	ROW(Z2, Z3, 4) \
	ROW(Z4, Z5, 8) \
	ROW(Z6, Z7, 12) \
	ROW(Z8, Z9, 16) \
	ROW(Z10, Z11, 20) \
	ROW(Z12, Z13, 24) \
	ROW(Z14, Z15, 28)

// QPW_REQ_ARGS broadcasts the requantizing kernels' clamps and zero point into Z28 (lo − zp), Z29 (hi − zp) and
// Z30 (zp), as QPW_ROW reads them.
#define QPW_REQ_ARGS \
	MOVL flo+64(FP), AX            /* lower clamp, float32 bits */ \
	VPBROADCASTD AX, Z28 \
	MOVL fhi+68(FP), AX            /* upper clamp, float32 bits */ \
	VPBROADCASTD AX, Z29 \
	MOVL zp+72(FP), AX             /* zero point */ \
	VPBROADCASTD AX, Z30

// func qpwKernelVNNI(kg int, x *uint8, w *int8, corr *int32, scale *float32, d *uint8, ldd, rows int, flo, fhi float32, zp int32)
TEXT ·qpwKernelVNNI(SB), NOSPLIT, $0-76
	QPW_ARGS                                     // the shared arguments (ldd in bytes)
	QPW_REQ_ARGS                                 // the requantization constants in Z28–Z30
	QPW_SUMS                                     // Σ x·w into Z0–Z15
qpw_store:
	QPW_CHANNELS(QPW_ROW)                        // each channel's two accumulators, stored
qpw_done:
	VZEROUPPER                                   // leave no dirty upper state for SSE code
	RET

// func qpwKernelOffsVNNI(kg int, x *uint8, w *int8, corr *int32, scale *float32, d *uint8, ldd, rows int, flo, fhi float32, zp int32, offs *int)
TEXT ·qpwKernelOffsVNNI(SB), NOSPLIT, $0-88
	QPW_ARGS                                     // the shared arguments (ldd in bytes)
	MOVQ offs+80(FP), R12                        // R12 = each group's offset from x
	QPW_REQ_ARGS                                 // the requantization constants in Z28–Z30
	QPW_SUMS_OFFS                                // Σ x·w into Z0–Z15
qpw_store:
	QPW_CHANNELS(QPW_ROW)                        // each channel's two accumulators, stored
qpw_done:
	VZEROUPPER                                   // leave no dirty upper state for SSE code
	RET

// QPW_ROWF converts one output channel's two accumulators (pixels 0–15 in LO, 16–31 in HI) to float32 with
// its correction and multiplier at byte offset OFF, stores its 32 floats at DX and moves DX to the next
// channel's row; after the last of the rows asked for it leaves.
#define QPW_ROWF(LO, HI, OFF) \
	QPW_SCALE(LO, HI, OFF)         /* (sums + correction) × multiplier */ \
	VMOVUPS LO, (DX)               /* pixels 0–15 */ \
	VMOVUPS HI, 64(DX)             /* pixels 16–31 */ \
	ADDQ R10, DX                   /* next channel's row */ \
	DECQ R11                       /* one row stored */ \
	JZ qpwf_done

// func qpwKernelF32VNNI(kg int, x *uint8, w *int8, corr *int32, scale *float32, d *float32, ldd, rows int)
TEXT ·qpwKernelF32VNNI(SB), NOSPLIT, $0-64
	QPW_ARGS                                     // the shared arguments
	SHLQ $2, R10                                 // the output row stride in bytes
	QPW_SUMS                                     // Σ x·w into Z0–Z15
qpw_store:
	QPW_CHANNELS(QPW_ROWF)                       // each channel's two accumulators, stored
qpwf_done:
	VZEROUPPER                                   // leave no dirty upper state for SSE code
	RET

// QPW_ROWFB is QPW_ROWF with the channel's float bias at byte offset OFF of R12 added after the scaling (each
// operation rounded in turn, as the Mul and the Add it replaces round).
#define QPW_ROWFB(LO, HI, OFF) \
	QPW_SCALE(LO, HI, OFF)         /* (sums + correction) × multiplier */ \
	VBROADCASTSS OFF(R12), Z20     /* the channel's float bias */ \
	VADDPS Z20, LO, LO             /* + bias */ \
	VADDPS Z20, HI, HI \
	VMOVUPS LO, (DX)               /* pixels 0–15 */ \
	VMOVUPS HI, 64(DX)             /* pixels 16–31 */ \
	ADDQ R10, DX                   /* next channel's row */ \
	DECQ R11                       /* one row stored */ \
	JZ qpwf_done

// func qpwKernelF32BiasVNNI(kg int, x *uint8, w *int8, corr *int32, scale *float32, d *float32, ldd, rows int, fbias *float32)
TEXT ·qpwKernelF32BiasVNNI(SB), NOSPLIT, $0-72
	QPW_ARGS                                     // the shared arguments
	MOVQ fbias+64(FP), R12                       // R12 = per-channel float biases
	SHLQ $2, R10                                 // the output row stride in bytes
	QPW_SUMS                                     // Σ x·w into Z0–Z15
qpw_store:
	QPW_CHANNELS(QPW_ROWFB)                      // each channel's two accumulators, stored
qpwf_done:
	VZEROUPPER                                   // leave no dirty upper state for SSE code
	RET

// func qpwPackAVX2(dst, x *uint8, plane, blocks, step int, flip uint8)
TEXT ·qpwPackAVX2(SB), NOSPLIT, $0-41
	MOVQ dst+0(FP), DI                           // DI = packed block at the current one
	MOVQ x+8(FP), SI                             // SI = the block's first channel at its first pixel
	MOVQ plane+16(FP), BX                        // BX = bytes from one channel's plane to the next
	MOVQ blocks+24(FP), CX                       // CX = 128-byte blocks left (at least 1)
	MOVQ step+32(FP), DX                         // DX = source bytes from one block to the next
	MOVBLZX flip+40(FP), AX                      // 0x80 for int8 input, 0 for uint8
	MOVQ AX, X15                                 // … into a vector
	VPBROADCASTB X15, Y15                        // … in every byte
	LEAQ (BX)(BX*2), R9                          // R9 = 3 planes
pack_loop:
	VPXOR (SI), Y15, Y0                          // channel 0 of the group, pixels 0–31, as uint8
	VPXOR (SI)(BX*1), Y15, Y1                    // channel 1
	VPXOR (SI)(BX*2), Y15, Y2                    // channel 2
	VPXOR (SI)(R9*1), Y15, Y3                    // channel 3
	QPW_INTERLEAVE4(Y0, Y1, Y2, Y3, Y4, Y5, Y6, Y7) // 4 channels per pixel, stored
	ADDQ DX, SI                                  // next block's source: 4 planes on, or 32 pixels on
	ADDQ $128, DI                                // next block
	DECQ CX                                      // one block done
	JNZ pack_loop                                // until none is left
	VZEROUPPER                                   // leave no dirty upper state for SSE code
	RET
