package runtime

import "github.com/hone-ml/hone/kernels"

// sparseMinZeros is the fraction of zero weights from which Gemm keeps a CSR copy of a constant weight.
const sparseMinZeros = 0.9

// sparseRows is a constant weight matrix in compressed sparse row (CSR) form, rows being output features
// (Gemm/MatMul) or output channels (1×1 Conv). It is the sparse × dense product of Elsen et al., "Fast Sparse
// ConvNets" (CVPR 2020), without their SIMD code generation: only the nonzero weights are stored and
// multiplied.
//
// BenchmarkSparseGemm measured it against the packed AVX-512 dense kernels: it wins only for a single row of
// activations (batch-1 Gemm, a matrix-vector product that is memory-bound either way, where the CSR weight is
// a fraction of the dense bytes) at 90 % sparsity and more; with 32 rows or as a 1×1 convolution the dense
// kernel's SIMD wins even at 95 %. So Gemm uses it (sparseGemm) only for one-row products of a ≥ 90 %-sparse
// constant weight; mulLeft stays as the measured baseline for a SIMD version.
type sparseRows struct {
	rows, cols int
	ptr        []int32 // row r's nonzeros are idx/val[ptr[r]:ptr[r+1]]
	idx        []int32 // column of each nonzero
	val        []float32
}

// newSparseRows compresses the rows×cols row-major matrix w.
func newSparseRows(w []float32, rows, cols int) *sparseRows {
	s := &sparseRows{rows: rows, cols: cols, ptr: make([]int32, rows+1)}
	for r := range rows {
		for c, v := range w[r*cols : (r+1)*cols] {
			if v != 0 {
				s.idx = append(s.idx, int32(c))
				s.val = append(s.val, v)
			}
		}
		s.ptr[r+1] = int32(len(s.val))
	}
	return s
}

// mulT computes C = A·Wᵀ for A m×cols (stride lda) into C m×rows (stride ldc): Gemm with transB and a
// Linear layer's weight, one sparse dot product per output.
func (s *sparseRows) mulT(m int, a []float32, lda int, c []float32, ldc int) {
	for i := range m {
		x := a[i*lda : i*lda+s.cols]
		y := c[i*ldc : i*ldc+s.rows]
		for r := range s.rows {
			lo, hi := s.ptr[r], s.ptr[r+1]
			idx, val := s.idx[lo:hi], s.val[lo:hi]
			var acc0, acc1 float32
			j := 0
			for ; j+1 < len(val); j += 2 {
				acc0 += val[j] * x[idx[j]]
				acc1 += val[j+1] * x[idx[j+1]]
			}
			if j < len(val) {
				acc0 += val[j] * x[idx[j]]
			}
			y[r] = acc0 + acc1
		}
	}
}

// mulLeft computes Y = W·X for X cols×n (row-major, stride n) into Y rows×n: a 1×1 convolution of one image
// with W as its Cout×Cin weight, an axpy of an input row per nonzero.
func (s *sparseRows) mulLeft(n int, x, y []float32) {
	for r := range s.rows {
		out := y[r*n : (r+1)*n]
		clear(out)
		for j := s.ptr[r]; j < s.ptr[r+1]; j++ {
			w := s.val[j]
			in := x[int(s.idx[j])*n : int(s.idx[j])*n+n]
			k := 0
			for ; k+4 <= n; k += 4 {
				out[k] += w * in[k]
				out[k+1] += w * in[k+1]
				out[k+2] += w * in[k+2]
				out[k+3] += w * in[k+3]
			}
			for ; k < n; k++ {
				out[k] += w * in[k]
			}
		}
	}
}

// newSparseGemm returns a CSR copy of Gemm's constant op(B) (k×n; b is stored n×k with stride ldb when
// transB, else k×n) laid out as n rows of k, or nil unless at least sparseMinZeros of it is zero.
func newSparseGemm(b []float32, transB bool, k, n, ldb int) *sparseRows {
	zeros := 0
	for _, v := range b {
		if v == 0 {
			zeros++
		}
	}
	if k*n == 0 || float64(zeros) < sparseMinZeros*float64(k*n) {
		return nil
	}
	wt := make([]float32, n*k) // row j: output column j's k weights
	for kk := range k {
		for j := range n {
			if transB {
				wt[j*k+kk] = b[j*ldb+kk]
			} else {
				wt[j*k+kk] = b[kk*ldb+j]
			}
		}
	}
	return newSparseRows(wt, n, k)
}

// gemm computes C = A·op(B) with the epilogue when the CSR path is the faster one (a single row of A, not
// transposed) and reports whether it did; otherwise the caller runs the dense kernel. s may be nil.
func (s *sparseRows) gemm(r kernels.Runner, transA bool, m int, a []float32, lda int, c []float32, ldc int, ep *kernels.Epilogue) bool {
	if s == nil || m != 1 || transA {
		return false
	}
	// Split the output features across the runner's workers; each chunk is independent.
	const chunk = 256
	rows := s.rows
	r.Run((rows+chunk-1)/chunk, func(i int) {
		lo, hi := i*chunk, min((i+1)*chunk, rows)
		part := sparseRows{rows: hi - lo, cols: s.cols, ptr: s.ptr[lo : hi+1], idx: s.idx, val: s.val}
		part.mulT(1, a, lda, c[lo:hi], ldc)
	})
	if ep != nil {
		if ep.Bias != nil {
			for j := range c[:rows] {
				if ep.BiasPerRow {
					c[j] += ep.Bias[0]
				} else {
					c[j] += ep.Bias[j]
				}
			}
		}
		ep.Act.Apply(c[:rows])
	}
	return true
}
