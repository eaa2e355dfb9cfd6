package runtime

import "syscall"

// osYield gives the helper's OS thread's core to any other runnable thread (sched_yield). On a machine with
// more runnable threads than cores a spinning helper would otherwise hold its core for its whole time slice,
// possibly while the caller it waits for is the thread that was preempted; on an idle core it returns at once.
func osYield() { syscall.Syscall(syscall.SYS_SCHED_YIELD, 0, 0, 0) }
