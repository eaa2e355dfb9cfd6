package runtime

import (
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

func TestPoolRunsEveryTaskOnce(t *testing.T) {
	for _, threads := range []int{1, 2, 3, 8} {
		r := newWorkerPool(threads).runner()
		for _, n := range []int{0, 1, 2, 3, 7, 64, 1000} {
			counts := make([]atomic.Int32, n)
			if r == nil {
				for i := 0; i < n; i++ {
					counts[i].Add(1)
				}
			} else {
				r(n, func(i int) { counts[i].Add(1) })
			}
			for i := range counts {
				if c := counts[i].Load(); c != 1 {
					t.Fatalf("threads %d, n %d: task %d ran %d times", threads, n, i, c)
				}
			}
		}
	}
}

func TestPoolPanicReachesCaller(t *testing.T) {
	r := newWorkerPool(2).runner()
	for round := 0; round < 20; round++ { // the panicking task lands on a helper in some rounds
		func() {
			defer func() {
				v := recover()
				if s, _ := v.(string); !strings.Contains(s, "boom") {
					t.Fatalf("round %d: recovered %v, want the task's panic", round, v)
				}
			}()
			r(16, func(i int) {
				if i == 9 {
					panic("boom")
				}
			})
			t.Fatalf("round %d: runner returned normally after a task panicked", round)
		}()
	}
	// The pool still works after panics (the pooled loop state was reset).
	var sum atomic.Int64
	r(100, func(i int) { sum.Add(int64(i)) })
	if got := sum.Load(); got != 4950 {
		t.Fatalf("sum after panics = %d, want 4950", got)
	}
}

// TestPoolConcurrentAndNestedLoops runs loops from several goroutines at once, some nested inside a task, as
// concurrent Plan.Run calls and subgraph kernels do; with -race it checks the pooled loop state is not shared.
func TestPoolConcurrentAndNestedLoops(t *testing.T) {
	r := newWorkerPool(3).runner()
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			activeRuns.Add(1)
			defer activeRuns.Add(-1)
			for rep := 0; rep < 50; rep++ {
				var total atomic.Int64
				r(8, func(i int) {
					r(5, func(j int) { total.Add(int64(i*5 + j)) })
				})
				if got := total.Load(); got != 39*40/2 {
					t.Errorf("nested sum = %d, want %d", got, 39*40/2)
					return
				}
			}
		}()
	}
	wg.Wait()
}

// TestPoolHelpersSpinBounded checks that a helper left without loops parks: both while a run is still active
// (after helperSpinNs) and at once when none is. A spinning helper would burn about a core for the whole window.
func TestPoolHelpersSpinBounded(t *testing.T) {
	r := newWorkerPool(2).runner()
	for _, active := range []bool{true, false} {
		if active {
			activeRuns.Add(1)
		}
		r(64, func(int) {})
		time.Sleep(time.Millisecond) // past the spin bound
		c0 := processCPU()
		time.Sleep(50 * time.Millisecond)
		used := processCPU() - c0
		if active {
			activeRuns.Add(-1)
		}
		if used > 15*time.Millisecond {
			t.Errorf("run active %v: process used %v of CPU in a 50ms idle window; a helper is still spinning", active, used)
		}
	}
}

func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkPoolLoops times a run-like sequence of short parallel loops (tasks of a few microseconds, as in a
// CNN's small layers) with helpers that spin between loops versus helpers that park after each loop.
func BenchmarkPoolLoops(b *testing.B) {
	busy := func(iters int) float32 {
		x := float32(1)
		for k := 0; k < iters; k++ {
			x = x*0.999 + 0.001
		}
		return x
	}
	for _, spin := range []int64{0, 100_000} {
		name := "park"
		if spin > 0 {
			name = "spin"
		}
		b.Run(name, func(b *testing.B) {
			old := helperSpinNs
			helperSpinNs = spin
			defer func() { helperSpinNs = old }()
			r := newWorkerPool(2).runner()
			var sink atomic.Int64
			for b.Loop() {
				activeRuns.Add(1)
				for loop := 0; loop < 50; loop++ {
					r(4, func(i int) { sink.Add(int64(busy(2000))) })
					busy(500) // a sequential stretch between loops
				}
				activeRuns.Add(-1)
			}
		})
	}
}
