package kernels

import (
	"os"
	"strconv"
)

// HONE_TUNE="kc,mc,nc[,convTileBytes[,irOuter]]" overrides the cache blocking for tuning benchmarks.
func init() {
	if v := os.Getenv("HONE_TUNE"); v != "" {
		var xs []int
		for _, f := range splitComma(v) {
			x, _ := strconv.Atoi(f)
			xs = append(xs, x)
		}
		kcBlock, mcBlock, ncBlock = xs[0], xs[1], xs[2]
		if len(xs) > 3 {
			convTileBytes = xs[3]
		}
		if len(xs) > 4 {
			irOuter = xs[4] == 1
		}
	}
}

func splitComma(s string) []string {
	var out []string
	start := 0
	for i := 0; i <= len(s); i++ {
		if i == len(s) || s[i] == ',' {
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return out
}
