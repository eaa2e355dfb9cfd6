// QPW_INTERLEAVE4 stores the 128-byte packed group of QPointwise's panels at DI: A, B, C and D hold 32 pixels'
// bytes of 4 consecutive channels (or taps), and pixel p's 4 bytes land at DI + 4p in that order. T0–T3 are
// scratch; A–D are overwritten.
#define QPW_INTERLEAVE4(A, B, C, D, T0, T1, T2, T3) \
	VPUNPCKLBW B, A, T0            /* channels 0,1 paired: pixels 0–7 | 16–23 */ \
	VPUNPCKHBW B, A, T1            /* pixels 8–15 | 24–31 */ \
	VPUNPCKLBW D, C, T2            /* channels 2,3 paired: pixels 0–7 | 16–23 */ \
	VPUNPCKHBW D, C, T3            /* pixels 8–15 | 24–31 */ \
	VPUNPCKLWD T2, T0, A           /* 4 channels per pixel: pixels 0–3 | 16–19 */ \
	VPUNPCKHWD T2, T0, B           /* pixels 4–7 | 20–23 */ \
	VPUNPCKLWD T3, T1, C           /* pixels 8–11 | 24–27 */ \
	VPUNPCKHWD T3, T1, D           /* pixels 12–15 | 28–31 */ \
	VPERM2I128 $0x20, B, A, T0     /* pixels 0–7 */ \
	VPERM2I128 $0x20, D, C, T1     /* pixels 8–15 */ \
	VPERM2I128 $0x31, B, A, T2     /* pixels 16–23 */ \
	VPERM2I128 $0x31, D, C, T3     /* pixels 24–31 */ \
	VMOVDQU T0, (DI)               /* store the group's 128 bytes */ \
	VMOVDQU T1, 32(DI) \
	VMOVDQU T2, 64(DI) \
	VMOVDQU T3, 96(DI)
