//go:build !purego

package kernels

// qdwFast: the VNNI kernel needs VPERMB (AVX512_VBMI), VPDPBUSD (AVX512_VNNI) and AVX512BW's byte loads.
var qdwFast = X86.AVX512F && X86.AVX512BW && X86.AVX512VBMI && X86.AVX512VNNI

// qdwMax is the best depthwise kernel this CPU runs.
var qdwMax = func() qdwImpl {
	switch {
	case qdwFast:
		return qdwVNNI512
	case X86.AVX2:
		return qdwAVX2
	}
	return qdwGeneric
}()

// qdwLevel is the kernel qdwRun runs (tests switch it to compare each with the twin).
var qdwLevel = qdwMax

// qdwVNNI is the AVX-512 depthwise kernel: qdwGenericRun with VPERMB windows and VPDPBUSD, one vector of 16 outputs
// at a time, the last of a row stored under a mask.
//
//go:noescape
func qdwVNNI(a *qdwArgs)

// qdwS1AVX2 and qdwS2AVX2 are qdwGenericRun for horizontal strides 1 and 2 with AVX2: 16 outputs at a time, each
// pair of taps widened to int16 and summed with VPMADDWD against a.w16; a row's last outputs are stored byte-
// exact, so nothing past the row is written.
//
//go:noescape
func qdwS1AVX2(a *qdwArgs)

//go:noescape
func qdwS2AVX2(a *qdwArgs)

func qdwSIMD(sw int) bool {
	return qdwLevel == qdwVNNI512 && sw <= 4 || qdwLevel == qdwAVX2 && sw <= 2
}

func qdwRun(a *qdwArgs, x, d []uint8) {
	sw := a.step / 16
	if !qdwSIMD(sw) {
		qdwGenericRun(a, x, d)
		return
	}
	a.x, a.d = &x[0], &d[0]
	switch {
	case qdwLevel == qdwVNNI512:
		qdwVNNI(a)
	case sw == 1:
		for i := range a.kh * a.gk * 4 {
			a.w16[i] = int16(a.w[i])
		}
		qdwS1AVX2(a)
	default:
		for i := range a.kh * a.gk * 4 {
			a.w16[i] = int16(a.w[i])
		}
		qdwS2AVX2(a)
	}
	a.x, a.d = nil, nil
}
