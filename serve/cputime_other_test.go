//go:build !unix

package serve

import "time"

// cpuTime is 0 where getrusage is missing; the benchmarks then leave out CPU time per request.
func cpuTime() time.Duration { return 0 }
