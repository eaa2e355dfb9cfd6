// Package kernels holds hone's numeric inner loops over plain slices: fp32 GEMM, convolution helpers,
// depthwise convolution and vectorised elementwise functions. Each routine has Go assembly for amd64
// (AVX2 / AVX-512, chosen at run time) and an always-built pure-Go twin; build with -tags purego to use only the twins.
// It imports nothing of hone.
package kernels

// Runner runs fn(0), …, fn(n-1), possibly concurrently, and returns when all are done.
// A nil Runner runs them in order on the calling goroutine. The runtime supplies one backed by its thread pool.
type Runner func(n int, fn func(i int))

// Run calls r, or runs sequentially when r is nil.
func (r Runner) Run(n int, fn func(i int)) {
	if r == nil || n == 1 {
		for i := 0; i < n; i++ {
			fn(i)
		}
		return
	}
	r(n, fn)
}
