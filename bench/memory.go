package bench

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
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
