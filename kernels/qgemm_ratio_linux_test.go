package kernels

import (
	"math/rand/v2"
	"runtime"
	"slices"
	"testing"

	"golang.org/x/sys/unix"
)

// threadCPU is this OS thread's CPU time in seconds. The machines hone is tuned on are shared, so wall time
// counts the moments another process holds the core; thread CPU time (the per-thread clock, exact to the nanosecond, unlike getrusage) does not.
func threadCPU() float64 {
	var ts unix.Timespec
	if unix.ClockGettime(unix.CLOCK_THREAD_CPUTIME_ID, &ts) != nil {
		return 0
	}
	return float64(ts.Nano()) / 1e9
}

// BenchmarkQGemmVsSgemm is issue #3's yardstick: the int8 GEMM (uint8 × packed int8 → int32) against the fp32
// GEMM with packed B (the float path for constant weights) on one 1024³ problem, one thread. Each iteration runs
// both, in alternating order so drift on a shared machine hits them alike, and times each by thread CPU time.
// Both count 2·M·N·K operations; it reports the median int8 GOPS, fp32 GFLOPS and their ratio (target ≥ 3).
func BenchmarkQGemmVsSgemm(b *testing.B) {
	const s = 1024
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	r := rand.New(rand.NewPCG(1, 1))
	a, _ := qrand(r, s*s)
	_, w := qrand(r, s*s)
	pb, err := QPackB(s, s, w, s, []int32{0})
	if err != nil {
		b.Fatal(err)
	}
	ci := make([]int32, s*s)
	af, bf, cf := make([]float32, s*s), make([]float32, s*s), make([]float32, s*s)
	for i := range af {
		af[i], bf[i] = float32(a[i]), float32(w[i])
	}
	pf := PackB(false, s, s, bf, s)
	runInt := func() {
		if err := QGemm(nil, s, a, s, []int32{128}, pb, &QOutput{I32: ci, Ldc: s}); err != nil {
			b.Fatal(err)
		}
	}
	runFloat := func() { SgemmPackedB(nil, false, s, af, s, pf, cf, s, nil) }
	timed := func(f func()) float64 {
		t0 := threadCPU()
		f()
		return threadCPU() - t0
	}
	runInt() // warm caches and page in the outputs
	runFloat()
	var ti, tf []float64
	i := 0
	for b.Loop() {
		if i%2 == 0 {
			ti, tf = append(ti, timed(runInt)), append(tf, timed(runFloat))
		} else {
			tf, ti = append(tf, timed(runFloat)), append(ti, timed(runInt))
		}
		i++
	}
	slices.Sort(ti)
	slices.Sort(tf)
	mi, mf := ti[len(ti)/2], tf[len(tf)/2]
	if mi <= 0 || mf <= 0 {
		b.Skip("no thread CPU clock")
	}
	const ops = 2.0 * s * s * s
	b.ReportMetric(ops/mi/1e9, "int8-GOPS")
	b.ReportMetric(ops/mf/1e9, "fp32-GFLOPS")
	b.ReportMetric(mf/mi, "ratio")
}
