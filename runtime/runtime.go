// Package runtime compiles an ir.Graph into a Plan once (kernel per node, pre-packed weights, fused nodes,
// buffer lifetimes) and runs it many times on the CPU with a settable number of threads.
package runtime

import (
	"errors"
	"fmt"

	"github.com/hone-ml/hone/ir"
	"github.com/hone-ml/hone/kernels"
)

// ErrUnsupported is wrapped by errors for ops, attributes or dtypes hone cannot run.
var ErrUnsupported = errors.New("unsupported")

// ErrInvalid is wrapped by errors for inputs that break an op's contract (bad shapes, wrong dtype).
var ErrInvalid = errors.New("invalid")

// Kernel runs one compiled node. It reads its inputs (nil for an omitted optional input) and returns its outputs,
// one per node output (nil for an omitted optional output). Kernels must not modify their inputs and must be
// safe to call from one goroutine at a time per Plan run (a Plan may run concurrently: keep per-run state local).
type Kernel interface {
	Run(ctx *Ctx, in []*ir.Tensor) ([]*ir.Tensor, error)
}

// KernelFunc adapts a function to Kernel.
type KernelFunc func(ctx *Ctx, in []*ir.Tensor) ([]*ir.Tensor, error)

// Run calls f.
func (f KernelFunc) Run(ctx *Ctx, in []*ir.Tensor) ([]*ir.Tensor, error) { return f(ctx, in) }

// Builder compiles a node into a Kernel at plan time. It may inspect constant inputs (b.Const) to pre-pack
// weights, and must return an error wrapping ErrUnsupported for attribute values or dtypes it cannot handle.
type Builder func(b *BuildCtx) (Kernel, error)

// BuildCtx is what a Builder knows about the node it compiles.
type BuildCtx struct {
	Node  *ir.Node
	Opset int64        // the opset version in force for the node's domain
	Const []*ir.Tensor // Const[i] is input i's value when it is an initializer or folded constant, else nil
	Types []ir.Type    // static types of the inputs where known (zero Type otherwise)
	// Subgraph compiles a subgraph attribute (If/Loop/Scan bodies) into a plan that can read outer values.
	Subgraph func(g *ir.Graph) (*Plan, error)
}

// Ctx is the per-run context handed to kernels.
type Ctx struct {
	// Par splits work across the plan's threads; kernels pass it to kernels.* routines or call it directly.
	Par kernels.Runner
	// Threads is the number of threads Par may use.
	Threads int
	// outer holds values visible to subgraphs (If/Loop/Scan bodies).
	outer map[string]*ir.Tensor
	arena *arena
}

// Errorf formats an error that names the node, as every kernel error must: `runtime: node "x" (Conv): …`.
func nodeErr(n *ir.Node, err error) error {
	return fmt.Errorf("runtime: %s: %w", n, err)
}

// Unsupportedf returns an error wrapping ErrUnsupported.
func Unsupportedf(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrUnsupported, fmt.Sprintf(format, args...))
}

// Invalidf returns an error wrapping ErrInvalid.
func Invalidf(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalid, fmt.Sprintf(format, args...))
}

// Alloc returns a zeroed tensor for a kernel's output. Kernels allocate outputs through it so the executor can
// recycle buffers of values that are dead.
func (c *Ctx) Alloc(dt ir.DType, shape ...int) *ir.Tensor {
	if c.arena == nil {
		return ir.New(dt, shape...)
	}
	return c.arena.alloc(dt, shape)
}
