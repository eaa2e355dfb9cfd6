package kernels

import "runtime"

// Epilogue is applied to each output element of a GEMM/convolution after accumulation:
// out = act(acc + bias), where bias is indexed by row (BiasPerRow, e.g. conv output channels) or by column.
type Epilogue struct {
	Bias       []float32
	BiasPerRow bool
	Act        Activation
}

// PackedB is a constant k×n right-hand matrix laid out for the GEMM micro-kernel (weights of Gemm/MatMul):
// nr-column panels over the full K, the last one zero-padded.
type PackedB struct {
	K, N int
	kern *ukernel // the micro-kernel whose nr the panels were cut for
	data []float32
}

// PackB packs op(B) (k×n) once so repeated products skip the packing work.
func PackB(transB bool, k, n int, b []float32, ldb int) *PackedB {
	kern := kernelFor(level)
	p := &PackedB{K: k, N: n, kern: kern, data: make([]float32, k*roundUp(n, kern.nr))}
	if k > 0 && n > 0 {
		packB(b, ldb, transB, 0, k, 0, n, kern.nr, p.data)
	}
	return p
}

// SgemmPackedB computes C = op(A)·B (+ epilogue) with a pre-packed B; op(A) is m×k, C is m×n with stride ldc.
// C's old contents are overwritten.
func SgemmPackedB(r Runner, transA bool, m int, a []float32, lda int, pb *PackedB, c []float32, ldc int, ep *Epilogue) {
	if m == 1 && (!transA || lda == 1) && pb.kern.row != nil && pb.K > 0 {
		gemv(r, pb, a[:pb.K], c[:pb.N], ep)
		return
	}
	as := aSource{a: a, lda: lda, trans: transA, alpha: 1}
	bs := bSource{packed: pb.data}
	gemm(r, pb.kern, m, pb.N, pb.K, &as, &bs, 0, c, ldc, ep)
}

// PackedA is a constant m×k left-hand matrix laid out for the micro-kernel (convolution weights):
// mr-row panels over the full K, the last one zero-padded.
type PackedA struct {
	M, K int
	kern *ukernel
	data []float32
}

// PackA packs op(A) (m×k) once.
func PackA(transA bool, m, k int, a []float32, lda int) *PackedA {
	kern := kernelFor(level)
	p := &PackedA{M: m, K: k, kern: kern, data: make([]float32, k*roundUp(m, kern.mr))}
	if k > 0 && m > 0 {
		packA(a, lda, transA, 1, 0, m, 0, k, kern.mr, p.data)
	}
	return p
}

// SgemmPackedA computes C = A·B (+ epilogue) with a pre-packed A; B is k×n row-major with stride ldb, C is m×n.
// C's old contents are overwritten.
func SgemmPackedA(r Runner, pa *PackedA, n int, b []float32, ldb int, c []float32, ldc int, ep *Epilogue) {
	as := aSource{packed: pa.data}
	bs := bSource{b: b, ldb: ldb}
	gemm(r, pa.kern, pa.M, n, pa.K, &as, &bs, 0, c, ldc, ep)
}

// gemv is SgemmPackedB for a single row of A (a batch-1 fully connected layer). The general path would pad that
// row to a full mr-row panel and multiply mr times the flops; here each packed B panel is streamed once through
// the one-row kernel, so the product runs at the speed memory delivers B. Panels are split between tasks so
// both threads stream at once; each task needs at least 128 KiB of B to be worth its hand-off.
func gemv(r Runner, pb *PackedB, a, c []float32, ep *Epilogue) {
	kern, k, n := pb.kern, pb.K, pb.N
	nr := kern.nr
	panels := ceilDiv(n, nr)
	tasks := 1
	if r != nil {
		tasks = min(panels, 2*runtime.GOMAXPROCS(0), max(1, k*n>>15))
	}
	chunk := ceilDiv(panels, tasks)
	r.Run(ceilDiv(panels, chunk), func(t int) {
		for jp := t * chunk; jp < min(panels, (t+1)*chunk); jp++ {
			j := jp * nr
			nn := min(nr, n-j)
			bp := pb.data[jp*k*nr : (jp+1)*k*nr]
			if nn == nr {
				kern.row(k, a, bp, c[j:j+nr], nr, false, nil)
			} else {
				// Last, partial panel: the kernel writes nr values, so compute into a stack tile.
				var tile [64]float32
				kern.row(k, a, bp, tile[:nr], nr, false, nil)
				copy(c[j:j+nn], tile[:nn])
			}
			ep.applyRows(c[j:j+nn], 0, j)
		}
	})
}
