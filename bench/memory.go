package bench

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// PeakRSS reads this process's peak resident set size (VmHWM) from /proc.
func PeakRSS() (int64, error) {
	return procStatus("VmHWM:")
}

// CurrentRSS reads this process's resident set size (VmRSS) from /proc.
func CurrentRSS() (int64, error) {
	return procStatus("VmRSS:")
}

func procStatus(key string) (int64, error) {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0, err
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, key) {
			f := strings.Fields(line[len(key):])
			if len(f) < 1 {
				break
			}
			kb, err := strconv.ParseInt(f[0], 10, 64)
			if err != nil {
				return 0, err
			}
			return kb * 1024, nil
		}
	}
	return 0, fmt.Errorf("bench: %s not in /proc/self/status", key)
}

// TrackHeapPeak samples the Go heap's in-use object bytes (runtime/metrics
// "/memory/classes/heap/objects:bytes", which includes objects not yet swept) every 100µs until the returned
// stop function is called, and stop returns the highest value seen. Sampling is approximate — a spike shorter
// than the interval can be missed — but unlike MemStats it needs no stop-the-world, so it barely disturbs the
// run it watches.
func TrackHeapPeak() (stop func() int64) {
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	read := func() int64 {
		metrics.Read(sample)
		if sample[0].Value.Kind() != metrics.KindUint64 {
			return 0
		}
		return int64(sample[0].Value.Uint64())
	}
	var peak atomic.Int64
	peak.Store(read())
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		tick := time.NewTicker(100 * time.Microsecond)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
				if v := read(); v > peak.Load() {
					peak.Store(v)
				}
			}
		}
	}()
	return func() int64 {
		close(done)
		<-finished
		if v := read(); v > peak.Load() {
			peak.Store(v)
		}
		return peak.Load()
	}
}
