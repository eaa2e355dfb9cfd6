package api

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// HeaderServerTiming is the W3C Server-Timing response header, in which hone's server reports how long an
// inference request queued in its batcher and how long its batch computed, so a client can tell the
// server's share of its latency from the transport's and its own.
const HeaderServerTiming = "Server-Timing"

// FormatServerTiming writes the queue and compute durations as a Server-Timing value in milliseconds,
// e.g. "queue;dur=1.250, compute;dur=3.000".
func FormatServerTiming(queue, compute time.Duration) string {
	ms := func(d time.Duration) string { return strconv.FormatFloat(float64(d)/1e6, 'f', 3, 64) }
	return "queue;dur=" + ms(queue) + ", compute;dur=" + ms(compute)
}

// ParseServerTiming reads the queue and compute entries of a Server-Timing value; other entries are
// ignored, and a value lacking either entry is an error.
func ParseServerTiming(h string) (queue, compute time.Duration, err error) {
	found := 0
	for _, entry := range strings.Split(h, ",") {
		name, params, _ := strings.Cut(strings.TrimSpace(entry), ";")
		if name != "queue" && name != "compute" {
			continue
		}
		v, ok := strings.CutPrefix(strings.TrimSpace(params), "dur=")
		if !ok {
			return 0, 0, fmt.Errorf("api: Server-Timing entry %q has no dur", entry)
		}
		ms, err := strconv.ParseFloat(v, 64)
		if err != nil || ms < 0 || ms > 1e12 {
			return 0, 0, fmt.Errorf("api: Server-Timing entry %q: bad duration", entry)
		}
		d := time.Duration(ms * 1e6)
		if name == "queue" {
			queue = d
		} else {
			compute = d
		}
		found++
	}
	if found != 2 {
		return 0, 0, fmt.Errorf("api: Server-Timing %q lacks queue or compute", h)
	}
	return queue, compute, nil
}
