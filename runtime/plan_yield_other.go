//go:build !linux

package runtime

// osYield is a no-op where sched_yield is not wired up; the helper's runtime.Gosched still lets goroutines run.
func osYield() {}
