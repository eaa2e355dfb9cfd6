package runtime

import (
	"math"
	"math/bits"
	"os"
	"unsafe"

	"github.com/hone-ml/hone/ir"
)

// arena recycles the storage of intermediate values within and across runs of one plan: when the last reader of
// a value has run, its buffer goes to a free list keyed by its size class, and a later allocation of that class,
// or of a size up to a third smaller, reuses it. CNNs and transformers allocate the same few sizes over and over;
// the classes are for runs whose sizes vary a little, as a dynamic batcher's batches do: with exact sizes, every
// new row count allocated (and the kernel zeroed) a fresh set of buffers, 12 % more CPU per item for ResNet-18
// at batch 32–64.
type arena struct {
	free  map[int][][]byte        // size class → free buffers of that capacity
	owned map[unsafe.Pointer]bool // buffers handed out by this arena in the current run
	refs  map[unsafe.Pointer]int  // live slots per buffer (views such as Reshape share a buffer)
}

func newArena() *arena {
	return &arena{free: map[int][][]byte{}, owned: map[unsafe.Pointer]bool{}, refs: map[unsafe.Pointer]int{}}
}

func (a *arena) alloc(dt ir.DType, shape []int) *ir.Tensor { return a.get(dt, shape, true) }

// get returns a buffer of the shape from the free list or the heap; a recycled buffer is zeroed only when zero
// is set (the heap's always is).
func (a *arena) get(dt ir.DType, shape []int, zero bool) *ir.Tensor {
	n := ir.NumElements(shape)
	size := n * dt.Size()
	if dt == ir.String || n <= 0 || size < 256 {
		return ir.New(dt, shape...)
	}
	class := sizeClass(size)
	for c := class; c <= class+class/2; c = nextClass(c) {
		l := a.free[c]
		if len(l) == 0 {
			continue
		}
		b := l[len(l)-1][:size]
		a.free[c] = l[:len(l)-1]
		switch {
		case zero:
			clear(b)
		case arenaPoison && dt == ir.Float32:
			t, _ := ir.FromBytes(dt, shape, b)
			for i := range t.F32() {
				t.F32()[i] = float32(math.NaN())
			}
		}
		t, err := ir.FromBytes(dt, shape, b)
		if err == nil {
			a.owned[unsafe.Pointer(&b[0])] = true
			return t
		}
		break
	}
	// A fresh buffer takes its whole class, so that a later value slightly larger than this one can reuse it.
	b := ir.New(ir.Uint8, class).Bytes()[:size]
	t, err := ir.FromBytes(dt, shape, b)
	if err != nil {
		return ir.New(dt, shape...)
	}
	a.owned[unsafe.Pointer(&b[0])] = true
	return t
}

// sizeClass rounds n up to one of 8 classes per power of two, so a class wastes at most 12.5 %.
func sizeClass(n int) int {
	if n < 16 {
		return n
	}
	step := 1 << (bits.Len(uint(n)) - 4)
	return (n + step - 1) &^ (step - 1)
}

// nextClass is the class above class c.
func nextClass(c int) int {
	if c < 16 {
		return c + 1
	}
	return c + 1<<(bits.Len(uint(c))-4)
}

// put returns a buffer to its class's free list. Its capacity is its class, unless a kernel re-sliced it; such a
// buffer is left to the GC.
func (a *arena) put(b []byte) {
	if c := cap(b); c > 0 && sizeClass(c) == c {
		a.free[c] = append(a.free[c], b[:c])
	}
}

func bufKey(t *ir.Tensor) unsafe.Pointer {
	if t == nil || len(t.Bytes()) == 0 {
		return nil
	}
	return unsafe.Pointer(&t.Bytes()[0])
}

// hold records that a slot now references t.
func (a *arena) hold(t *ir.Tensor) {
	if k := bufKey(t); k != nil && a.owned[k] {
		a.refs[k]++
	}
}

// drop records that a slot no longer references t and recycles the buffer when nothing references it.
func (a *arena) drop(t *ir.Tensor) {
	k := bufKey(t)
	if k == nil || !a.owned[k] {
		return
	}
	a.refs[k]--
	if a.refs[k] <= 0 {
		delete(a.refs, k)
		delete(a.owned, k)
		a.put(t.Bytes())
	}
}

// finish forgets the buffers still referenced at the end of a run: they are graph outputs, now owned by the caller.
func (a *arena) finish() {
	clear(a.owned)
	clear(a.refs)
}

// recycle returns a buffer a kernel allocated but did not output (a scratch tensor) to the free list at once.
func (a *arena) recycle(t *ir.Tensor) {
	if k := bufKey(t); k != nil && a.owned[k] && a.refs[k] == 0 {
		delete(a.owned, k)
		a.put(t.Bytes())
	}
}

// arenaPoison (HONE_DEBUG_POISON=1) fills recycled float32 buffers handed out by allocRaw with NaN, so a test run
// shows any kernel that reads an output element it did not write.
var arenaPoison = os.Getenv("HONE_DEBUG_POISON") != ""

// allocRaw is Alloc for kernels that overwrite every element of their output: a recycled buffer keeps its old
// contents instead of being zeroed, which saves a full pass over memory per node.
func (c *Ctx) allocRaw(dt ir.DType, shape ...int) *ir.Tensor {
	if c.arena == nil {
		return ir.New(dt, shape...)
	}
	return c.arena.get(dt, shape, false)
}

// nnAllocRaw is nnAlloc without zeroing a recycled float32 buffer (see allocRaw).
func nnAllocRaw(ctx *Ctx, dt ir.DType, shape ...int) nnOut {
	if dt != ir.Float32 {
		return nnAlloc(ctx, dt, shape...)
	}
	t := ctx.allocRaw(dt, shape...)
	return nnOut{T: t, F: t.F32()}
}

// recycle hands a kernel's scratch tensor (from allocRaw or Alloc, never an output) back for reuse.
func (c *Ctx) recycle(t *ir.Tensor) {
	if c.arena != nil {
		c.arena.recycle(t)
	}
}
