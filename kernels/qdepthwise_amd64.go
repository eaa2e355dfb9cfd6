//go:build !purego

package kernels

// qdwFast: the kernel needs VPERMB (AVX512_VBMI), VPDPBUSD (AVX512_VNNI) and AVX512BW's byte loads.
var qdwFast = X86.AVX512F && X86.AVX512BW && X86.AVX512VBMI && X86.AVX512VNNI

// qdwVNNI is the AVX-512 depthwise kernel: qdwGeneric with VPERMB windows and VPDPBUSD, one vector of 16 outputs
// at a time, the last of a row stored under a mask.
//
//go:noescape
func qdwVNNI(a *qdwArgs)

// qdwUseAsm selects the kernel qdwRun runs (tests switch it to compare with the twin).
var qdwUseAsm = qdwFast

func qdwRun(a *qdwArgs, x, d []uint8) {
	if !qdwUseAsm {
		qdwGeneric(a, x, d)
		return
	}
	a.x, a.d = &x[0], &d[0]
	qdwVNNI(a)
	a.x, a.d = nil, nil
}
