package kernels

// Epilogue is applied to each output element of a GEMM/convolution after accumulation:
// out = act(acc + bias), where bias is indexed by row (BiasPerRow, e.g. conv output channels) or by column.
type Epilogue struct {
	Bias       []float32
	BiasPerRow bool
	Act        Activation
}

// PackedB is a constant k×n right-hand matrix laid out for the GEMM micro-kernel (weights of Gemm/MatMul).
type PackedB struct {
	K, N int
	data []float32 // row-major k×n copy for now
}

// PackB packs op(B) (k×n) once so repeated products skip the packing work.
func PackB(transB bool, k, n int, b []float32, ldb int) *PackedB {
	p := &PackedB{K: k, N: n, data: make([]float32, k*n)}
	for i := 0; i < k; i++ {
		for j := 0; j < n; j++ {
			if transB {
				p.data[i*n+j] = b[j*ldb+i]
			} else {
				p.data[i*n+j] = b[i*ldb+j]
			}
		}
	}
	return p
}

// SgemmPackedB computes C = op(A)·B (+ epilogue) with a pre-packed B; op(A) is m×k, C is m×n with stride ldc.
// C's old contents are overwritten.
func SgemmPackedB(r Runner, transA bool, m int, a []float32, lda int, pb *PackedB, c []float32, ldc int, ep *Epilogue) {
	Sgemm(r, transA, false, m, pb.N, pb.K, 1, a, lda, pb.data, pb.N, 0, c, ldc)
	applyEpilogue(ep, m, pb.N, c, ldc)
}

// PackedA is a constant m×k left-hand matrix laid out for the micro-kernel (convolution weights).
type PackedA struct {
	M, K int
	data []float32
}

// PackA packs op(A) (m×k) once.
func PackA(transA bool, m, k int, a []float32, lda int) *PackedA {
	p := &PackedA{M: m, K: k, data: make([]float32, m*k)}
	for i := 0; i < m; i++ {
		for j := 0; j < k; j++ {
			if transA {
				p.data[i*k+j] = a[j*lda+i]
			} else {
				p.data[i*k+j] = a[i*lda+j]
			}
		}
	}
	return p
}

// SgemmPackedA computes C = A·B (+ epilogue) with a pre-packed A; B is k×n row-major with stride ldb, C is m×n.
// C's old contents are overwritten.
func SgemmPackedA(r Runner, pa *PackedA, n int, b []float32, ldb int, c []float32, ldc int, ep *Epilogue) {
	Sgemm(r, false, false, pa.M, n, pa.K, 1, pa.data, pa.K, b, ldb, 0, c, ldc)
	applyEpilogue(ep, pa.M, n, c, ldc)
}

func applyEpilogue(ep *Epilogue, m, n int, c []float32, ldc int) {
	if ep == nil {
		return
	}
	for i := 0; i < m; i++ {
		row := c[i*ldc : i*ldc+n]
		if ep.Bias != nil {
			if ep.BiasPerRow {
				AddScalar(row, row, ep.Bias[i])
			} else {
				Add(row, row, ep.Bias[:n])
			}
		}
		ep.Act.Apply(row)
	}
}
