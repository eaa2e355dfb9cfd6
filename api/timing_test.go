package api

import (
	"testing"
	"time"
)

func TestServerTiming(t *testing.T) {
	q, c := 1250*time.Microsecond, 3*time.Second+7*time.Microsecond
	h := FormatServerTiming(q, c)
	if h != "queue;dur=1.250, compute;dur=3000.007" {
		t.Errorf("FormatServerTiming = %q", h)
	}
	for _, tc := range []struct {
		h              string
		queue, compute time.Duration
		ok             bool
	}{
		{h, q, c, true},
		{"compute;dur=2, cache;desc=\"hit\", queue;dur=0.5", 500 * time.Microsecond, 2 * time.Millisecond, true},
		{"queue;dur=1", 0, 0, false},
		{"queue;dur=x, compute;dur=1", 0, 0, false},
		{"queue;dur=-1, compute;dur=1", 0, 0, false},
		{"queue, compute;dur=1", 0, 0, false},
		{"", 0, 0, false},
	} {
		gq, gc, err := ParseServerTiming(tc.h)
		if (err == nil) != tc.ok || gq != tc.queue || gc != tc.compute {
			t.Errorf("ParseServerTiming(%q) = %v, %v, %v; want %v, %v, ok %v", tc.h, gq, gc, err, tc.queue, tc.compute, tc.ok)
		}
	}
}
