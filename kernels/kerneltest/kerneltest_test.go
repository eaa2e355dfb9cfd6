package kerneltest

import (
	"math"
	"slices"
	"testing"
)

func TestLengths(t *testing.T) {
	got := Lengths(8)
	for _, want := range []int{0, 1, 7, 8, 9, 15, 16, 17, 36, 1000} {
		if !slices.Contains(got, want) {
			t.Errorf("Lengths(8) lacks %d: %v", want, got)
		}
	}
}

// TestHarnessCatches makes sure the harness fails the kernels it exists to catch.
func TestHarnessCatches(t *testing.T) {
	ref := func(dst, x []float32) {
		for i, v := range x {
			dst[i] = v * 2
		}
	}
	bad := map[string]func(dst, x []float32){
		"overrun": func(dst, x []float32) {
			ref(dst, x)
			if len(dst) > 0 {
				dst[:cap(dst)][len(dst)] = 0
			}
		},
		"wrong": func(dst, x []float32) {
			ref(dst, x)
			if len(dst) > 5 {
				dst[5]++
			}
		},
		"nan": func(dst, x []float32) {
			ref(dst, x)
			if len(dst) > 2 {
				dst[2] = float32(math.NaN())
			}
		},
	}
	for name, f := range bad {
		ft := &testing.T{}
		done := make(chan bool)
		go func() {
			defer func() { done <- true }()
			Unary(ft, Lengths(8), Uniform(-1, 1), Tolerance{Rel: 1e-6}, f, ref)
		}()
		<-done
		if !ft.Failed() {
			t.Errorf("%s: harness passed a broken kernel", name)
		}
	}
}
