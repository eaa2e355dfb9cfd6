package runtime

import "time"

var epoch = time.Now()

// nanotime is a monotonic clock in nanoseconds since the process started.
func nanotime() int64 { return int64(time.Since(epoch)) }
