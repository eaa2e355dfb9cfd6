//go:build !amd64 || purego

package turboquant

func dotF32Impl(a, b []float32) float32 { return dotF32Generic(a, b) }

func axpyF32Impl(y []float32, a float32, x []float32) { axpyF32Generic(y, a, x) }

func scoreCodesImpl(out, q []float32, codes []uint16, norms []float32, groups, bits int, t *codeTable) {
	scoreCodesGeneric(out, q, codes, norms, groups, bits, t)
}

func scoreCodesPadded(out, q []float32, codes []uint16, norms []float32, groups, bits int, t *codeTable) {
	scoreCodesGeneric(out, q, codes, norms, groups, bits, t)
}

func accumCodesImpl(acc, w []float32, codes []uint16, groups, bits int, t *codeTable) {
	accumCodesGeneric(acc, w, codes, groups, bits, t)
}

var useAVX512 = false
