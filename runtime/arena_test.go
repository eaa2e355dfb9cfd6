package runtime

import (
	"testing"
	"unsafe"

	"github.com/hone-ml/hone/ir"
)

func TestSizeClass(t *testing.T) {
	prev := 0
	for n := 1; n < 1<<20; n += 1 + n/50 {
		c := sizeClass(n)
		if c < n || c > n+n/8 || sizeClass(c) != c {
			t.Fatalf("sizeClass(%d) = %d: want a fixed class in [n, 1.125n]", n, c)
		}
		if c < prev {
			t.Fatalf("sizeClass(%d) = %d below the class of a smaller size (%d)", n, c, prev)
		}
		if nc := nextClass(c); nc <= c || sizeClass(nc) != nc || sizeClass(c+1) != nc {
			t.Fatalf("nextClass(%d) = %d, want the class of %d (%d)", c, nc, c+1, sizeClass(c+1))
		}
		prev = c
	}
}

// TestArenaReusesAcrossSizes checks that a buffer freed by one size serves a slightly different size (as a
// batcher's varying row counts ask for), zeroed when asked, and never a size it cannot hold.
func TestArenaReusesAcrossSizes(t *testing.T) {
	ptr := func(x *ir.Tensor) unsafe.Pointer { return unsafe.Pointer(&x.Bytes()[0]) }
	a := newArena()
	x := a.alloc(ir.Float32, []int{63, 1000})
	a.hold(x)
	for i := range x.F32() {
		x.F32()[i] = 1
	}
	a.drop(x)
	for _, tc := range []struct {
		rows int
		same bool
	}{
		{62, true},  // same class
		{60, true},  // a smaller class, within a third
		{64, true},  // the next size up still fits the class the first buffer took
		{30, false}, // under half: would waste too much
		{80, false}, // does not fit
	} {
		y := a.alloc(ir.Float32, []int{tc.rows, 1000})
		if got := ptr(y) == ptr(x); got != tc.same {
			t.Errorf("%d rows after 63: reused %v, want %v", tc.rows, got, tc.same)
		}
		if y.Len() != tc.rows*1000 {
			t.Fatalf("%d rows: %d elements", tc.rows, y.Len())
		}
		for i, v := range y.F32() {
			if v != 0 {
				t.Fatalf("%d rows: element %d is %v, want a zeroed buffer", tc.rows, i, v)
			}
		}
		a.hold(y)
		for i := range y.F32() {
			y.F32()[i] = 1
		}
		a.drop(y)
	}
}
