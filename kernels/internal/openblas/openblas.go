//go:build openblas && cgo

// Package openblas binds cblas_sgemm for hone's opt-in GEMM comparison benchmark (go test -tags openblas).
package openblas

// This file exists only for the opt-in OpenBLAS comparison (go test -tags openblas): Go forbids cgo in _test files and in packages with Go assembly, hence this package.
// The default build never compiles it, so hone stays pure Go.

/*
#cgo CFLAGS: -I/usr/include/x86_64-linux-gnu
#cgo LDFLAGS: -lopenblas
#include <cblas.h>
void openblas_set_num_threads(int);
*/
import "C"

import "unsafe"

// Sgemm calls cblas_sgemm (row-major) on threads threads.
func Sgemm(threads int, transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	C.openblas_set_num_threads(C.int(threads))
	ta, tb := uint32(C.CblasNoTrans), uint32(C.CblasNoTrans)
	if transA {
		ta = C.CblasTrans
	}
	if transB {
		tb = C.CblasTrans
	}
	C.cblas_sgemm(C.CblasRowMajor, ta, tb, C.blasint(m), C.blasint(n), C.blasint(k), C.float(alpha),
		(*C.float)(unsafe.Pointer(&a[0])), C.blasint(lda), (*C.float)(unsafe.Pointer(&b[0])), C.blasint(ldb), C.float(beta),
		(*C.float)(unsafe.Pointer(&c[0])), C.blasint(ldc))
}
