//go:build !purego

package kernels

import (
	"math/rand/v2"
	"testing"
)

// TestQConvertAVX512Subsets checks the routines whose AVX-512 version needs more than AVX-512F (QToNHWC: BW,
// QLookup: VBMI, ScatterRows: BW and BMI2) on a CPU with AVX-512 but without that subset, as Cascade Lake lacks
// VBMI: the dispatcher must fall back to the AVX2 version, which must match the definition and the twin there too.
func TestQConvertAVX512Subsets(t *testing.T) {
	if qmaxImpl != qimplVNNI || maxImpl != implAVX512 {
		t.Skip("no AVX-512 level on this CPU")
	}
	r := rand.New(rand.NewPCG(71, 72))
	defer setQImpl(qimplVNNI)()
	defer setImpl(implAVX512)()
	bw, vbmi, scatter := qhasBW, qlookupHasVBMI, scatterAVX512
	defer func() { qhasBW, qlookupHasVBMI, scatterAVX512 = bw, vbmi, scatter }()
	qhasBW, qlookupHasVBMI, scatterAVX512 = false, false, false
	qcheckToNHWCShapes(t, r, "avx512vnni-noBW")
	qcheckLookup(t, r, "avx512vnni-noVBMI")
	scatterCheck(t, r, "avx512-noBW")
}
