package runtime

import (
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/hone-ml/hone/ir"
)

// Options configure compilation.
type Options struct {
	// Threads is the number of threads a run may use; 0 means GOMAXPROCS.
	Threads int
	// Passes runs the lossless optimisation passes (fusions) before compiling; tests turn it off to compare.
	NoOptimize bool
	// Disable names optimisation passes to skip.
	Disable []string
}

// step is one compiled node.
type step struct {
	node    *ir.Node
	kernel  Kernel
	in      []int // value slots; -1 for omitted inputs
	out     []int
	release []int // slots whose last reader is this step
}

// Plan is a compiled graph, ready to run many times. Run may be called concurrently.
type Plan struct {
	Graph   *ir.Graph // the optimised graph the plan was built from
	opsets  map[string]int64
	steps   []step
	slots   []string           // slot → value name
	slotOf  map[string]int     // value name → slot
	consts  map[int]*ir.Tensor // constant slots (initializers and folded values)
	inputs  []*ir.ValueInfo    // graph inputs a caller feeds
	outputs []int
	outer   []string // names read from an enclosing scope (subgraph plans)
	threads int
	workers *workerPool
	arenas  sync.Pool
}

// Compile builds a plan for a model. The model is not modified.
func Compile(m *ir.Model, opts Options) (*Plan, error) {
	if m == nil || m.Graph == nil {
		return nil, errors.New("runtime: model has no graph")
	}
	opsets := m.OpsetMap()
	threads := opts.Threads
	if threads <= 0 {
		threads = runtime.GOMAXPROCS(0)
	}
	g := m.Graph.Clone()
	if !opts.NoOptimize {
		widenHalf(g, opsets) // float16 models compute in float32 between their I/O Casts (f16_widen.go)
		if err := optimize(g, opsets, opts.Disable); err != nil {
			return nil, err
		}
	}
	return compileGraph(g, opsets, threads, newWorkerPool(threads), nil)
}

// compileGraph compiles g; outer lists names visible from an enclosing graph (for subgraphs).
func compileGraph(g *ir.Graph, opsets map[string]int64, threads int, wp *workerPool, outer map[string]bool) (*Plan, error) {
	if err := g.Sort(outer); err != nil {
		return nil, fmt.Errorf("runtime: %w", err)
	}
	p := &Plan{Graph: g, opsets: opsets, slotOf: map[string]int{}, consts: map[int]*ir.Tensor{}, threads: threads, workers: wp}
	slot := func(name string) int {
		if name == "" {
			return -1
		}
		if s, ok := p.slotOf[name]; ok {
			return s
		}
		s := len(p.slots)
		p.slots = append(p.slots, name)
		p.slotOf[name] = s
		return s
	}
	for _, name := range g.InitOrder {
		p.consts[slot(name)] = g.Initializers[name]
	}
	for name, t := range g.Initializers { // initializers missing from InitOrder (built by hand)
		if _, ok := p.slotOf[name]; !ok {
			p.consts[slot(name)] = t
		}
	}
	for _, in := range g.Inputs {
		if _, isInit := g.Initializers[in.Name]; !isInit {
			p.inputs = append(p.inputs, in)
			slot(in.Name)
		}
	}
	// Only the outer names this graph (or a graph nested in it) actually reads are bound at run time: the
	// enclosing scope need not hold every value it could offer (later or released ones).
	for _, name := range g.FreeNames() {
		if _, ok := p.slotOf[name]; !ok && outer[name] {
			p.outer = append(p.outer, name)
		}
	}
	for _, name := range p.outer {
		slot(name)
	}
	outerSet := map[string]bool{}
	for k := range outer {
		outerSet[k] = true
	}
	for _, n := range g.Nodes {
		for _, o := range n.Outputs {
			outerSet[o] = true
		}
	}
	for _, in := range g.Inputs {
		outerSet[in.Name] = true
	}
	for name := range g.Initializers {
		outerSet[name] = true
	}
	ctx := &Ctx{Par: nil, Threads: 1}
	for _, n := range g.Nodes {
		b := Lookup(n.Domain, n.OpType)
		if b == nil {
			return nil, fmt.Errorf("runtime: %s: %w: op %s in domain %s at opset %d has no kernel",
				n, ErrUnsupported, n.OpType, displayDomain(n.Domain), opsets[n.Domain])
		}
		bc := &BuildCtx{Node: n, Opset: opsets[normDomain(n.Domain)]}
		bc.Subgraph = func(sg *ir.Graph) (*Plan, error) {
			return compileGraph(sg, opsets, threads, wp, outerSet)
		}
		st := step{node: n}
		allConst := true
		for _, in := range n.Inputs {
			s := slot(in)
			st.in = append(st.in, s)
			var c *ir.Tensor
			if s >= 0 {
				c = p.consts[s]
				if c == nil {
					allConst = false
				}
			}
			bc.Const = append(bc.Const, c)
			t, _ := g.TypeOfValue(in)
			bc.Types = append(bc.Types, t)
		}
		k, err := b(bc)
		if err != nil {
			return nil, nodeErr(n, err)
		}
		st.kernel = k
		for _, o := range n.Outputs {
			st.out = append(st.out, slot(o))
		}
		// Constant folding: a deterministic node whose inputs are all constant runs once, now.
		if allConst && foldable(n) && !nodeHasSubgraph(n) { // bodies need the run-time scope
			outs, err := runKernel(k, ctx, bc.Const)
			if err != nil {
				return nil, nodeErr(n, err)
			}
			for i, s := range st.out {
				if s >= 0 && i < len(outs) && outs[i] != nil {
					p.consts[s] = outs[i]
				}
			}
			continue
		}
		p.steps = append(p.steps, st)
	}
	for _, o := range g.Outputs {
		s, ok := p.slotOf[o.Name]
		if !ok {
			return nil, fmt.Errorf("runtime: graph output %q is produced by no node, input or initializer", o.Name)
		}
		p.outputs = append(p.outputs, s)
	}
	p.computeLifetimes()
	return p, nil
}

func normDomain(d string) string {
	if d == "ai.onnx" {
		return ""
	}
	return d
}

// foldable excludes ops whose result must not be computed at compile time.
func foldable(n *ir.Node) bool {
	switch n.OpType {
	case "RandomNormal", "RandomUniform", "RandomNormalLike", "RandomUniformLike", "Multinomial", "Bernoulli":
		return false
	}
	return true
}

// computeLifetimes records, per step, the slots no later step (nor the graph output) reads.
func (p *Plan) computeLifetimes() {
	last := map[int]int{}
	for i, st := range p.steps {
		for _, s := range st.in {
			if s >= 0 {
				last[s] = i
			}
		}
		// A node with subgraphs reads the values its bodies capture from this scope, too.
		for _, a := range st.node.Attrs {
			subs := a.Graphs
			if a.G != nil {
				subs = append([]*ir.Graph{a.G}, subs...)
			}
			for _, sg := range subs {
				for _, name := range sg.FreeNames() {
					if s, ok := p.slotOf[name]; ok {
						last[s] = i
					}
				}
			}
		}
	}
	keep := map[int]bool{}
	for _, s := range p.outputs {
		keep[s] = true
	}
	for s := range p.consts {
		keep[s] = true
	}
	for _, in := range p.inputs {
		keep[p.slotOf[in.Name]] = true
	}
	for _, name := range p.outer {
		keep[p.slotOf[name]] = true
	}
	for s, i := range last {
		if !keep[s] {
			p.steps[i].release = append(p.steps[i].release, s)
		}
	}
}

// Inputs lists the inputs a caller must feed, with their declared types.
func (p *Plan) Inputs() []*ir.ValueInfo { return p.inputs }

// Outputs lists the graph outputs in order.
func (p *Plan) Outputs() []*ir.ValueInfo { return p.Graph.Outputs }

// Threads is the number of threads runs use.
func (p *Plan) Threads() int { return p.threads }

// StepHook observes each executed node (for profiling); it is called after the node ran.
type StepHook func(n *ir.Node, in, out []*ir.Tensor, start, end int64)

// Run executes the plan on named inputs and returns the graph outputs by name.
func (p *Plan) Run(inputs map[string]*ir.Tensor) (map[string]*ir.Tensor, error) {
	return p.RunHook(inputs, nil)
}

// RunHook is Run with a per-node hook (nil for none).
func (p *Plan) RunHook(inputs map[string]*ir.Tensor, hook StepHook) (map[string]*ir.Tensor, error) {
	for _, vi := range p.inputs {
		t, ok := inputs[vi.Name]
		if !ok || t == nil {
			return nil, fmt.Errorf("runtime: input %q (%s) not given", vi.Name, vi.Type)
		}
		if err := checkInput(vi, t); err != nil {
			return nil, err
		}
	}
	vals, err := p.exec(inputs, nil, hook)
	if err != nil {
		return nil, err
	}
	out := make(map[string]*ir.Tensor, len(p.outputs))
	for i, s := range p.outputs {
		out[p.Graph.Outputs[i].Name] = vals[s]
	}
	return out, nil
}

// RunOrdered runs with inputs given in Inputs() order and returns outputs in Outputs() order.
func (p *Plan) RunOrdered(inputs []*ir.Tensor) ([]*ir.Tensor, error) {
	m := map[string]*ir.Tensor{}
	for i, vi := range p.inputs {
		if i < len(inputs) {
			m[vi.Name] = inputs[i]
		}
	}
	res, err := p.Run(m)
	if err != nil {
		return nil, err
	}
	out := make([]*ir.Tensor, len(p.Graph.Outputs))
	for i, o := range p.Graph.Outputs {
		out[i] = res[o.Name]
	}
	return out, nil
}

// runSub executes a subgraph plan with its formal inputs and the outer scope; used by If/Loop/Scan kernels.
func (p *Plan) runSub(ctx *Ctx, inputs []*ir.Tensor, outer map[string]*ir.Tensor) ([]*ir.Tensor, error) {
	m := map[string]*ir.Tensor{}
	for i, vi := range p.inputs {
		if i < len(inputs) {
			m[vi.Name] = inputs[i]
		}
	}
	vals, err := p.exec(m, outer, nil)
	if err != nil {
		return nil, err
	}
	out := make([]*ir.Tensor, len(p.outputs))
	for i, s := range p.outputs {
		out[i] = vals[s]
	}
	return out, nil
}

func (p *Plan) exec(inputs, outer map[string]*ir.Tensor, hook StepHook) ([]*ir.Tensor, error) {
	vals := make([]*ir.Tensor, len(p.slots))
	for s, t := range p.consts {
		vals[s] = t
	}
	for _, vi := range p.inputs {
		vals[p.slotOf[vi.Name]] = inputs[vi.Name]
	}
	for _, name := range p.outer {
		t, ok := outer[name]
		if !ok {
			return nil, fmt.Errorf("runtime: subgraph reads %q, which the enclosing graph does not provide", name)
		}
		vals[p.slotOf[name]] = t
	}
	scope := outer
	if len(p.steps) > 0 && hasSubgraphs(p) {
		scope = map[string]*ir.Tensor{}
		for k, v := range outer {
			scope[k] = v
		}
	}
	ar, _ := p.arenas.Get().(*arena)
	if ar == nil {
		ar = newArena()
	}
	defer func() { ar.finish(); p.arenas.Put(ar) }()
	ctx := &Ctx{Par: p.workers.runner(), Threads: p.threads, outer: scope, arena: ar}
	if ctx.Par != nil {
		activeRuns.Add(1)
		defer activeRuns.Add(-1)
	}
	in := make([]*ir.Tensor, 0, 8)
	for i := range p.steps {
		st := &p.steps[i]
		in = in[:0]
		for _, s := range st.in {
			if s < 0 {
				in = append(in, nil)
			} else {
				in = append(in, vals[s])
			}
		}
		if scope != nil && len(scope) >= 0 && nodeHasSubgraph(st.node) {
			for s, t := range vals {
				if t != nil {
					scope[p.slots[s]] = t
				}
			}
		}
		var t0 int64
		if hook != nil {
			t0 = nanotime()
		}
		outs, err := runKernel(st.kernel, ctx, in)
		if err != nil {
			return nil, nodeErr(st.node, err)
		}
		if hook != nil {
			hook(st.node, in, outs, t0, nanotime())
		}
		for j, s := range st.out {
			if s < 0 {
				continue
			}
			if j >= len(outs) || outs[j] == nil {
				return nil, fmt.Errorf("runtime: %s: output %d (%q) was not produced", st.node, j, p.slots[s])
			}
			vals[s] = outs[j]
			ar.hold(outs[j])
		}
		for _, s := range st.release {
			ar.drop(vals[s])
			vals[s] = nil
		}
	}
	return vals, nil
}

func hasSubgraphs(p *Plan) bool {
	for _, st := range p.steps {
		if nodeHasSubgraph(st.node) {
			return true
		}
	}
	return false
}

func nodeHasSubgraph(n *ir.Node) bool {
	for _, a := range n.Attrs {
		if a.G != nil || len(a.Graphs) > 0 {
			return true
		}
	}
	return false
}

// checkInput validates a fed tensor against the declared input type: dtype, rank and known dimensions.
func checkInput(vi *ir.ValueInfo, t *ir.Tensor) error {
	if vi.Type.DType != ir.Undefined && t.DType != vi.Type.DType {
		return fmt.Errorf("runtime: input %q: %w: expected %s, got %s", vi.Name, ErrInvalid, vi.Type.DType, t.DType)
	}
	if !vi.Type.HasShape {
		return nil
	}
	if len(vi.Type.Shape) != len(t.Shape) {
		return fmt.Errorf("runtime: input %q: %w: expected rank %d (%s), got shape %v", vi.Name, ErrInvalid, len(vi.Type.Shape), vi.Type, t.Shape)
	}
	for i, d := range vi.Type.Shape {
		if d.Known() && int64(t.Shape[i]) != d.Size {
			return fmt.Errorf("runtime: input %q: %w: dimension %d must be %d (%s), got shape %v", vi.Name, ErrInvalid, i, d.Size, vi.Type, t.Shape)
		}
	}
	if len(t.Bytes()) != t.Len()*t.DType.Size() && t.DType != ir.String {
		return fmt.Errorf("runtime: input %q: %w: storage does not match shape %v", vi.Name, ErrInvalid, t.Shape)
	}
	return nil
}

// workerPool runs parallel loops on up to n goroutines (the caller's included). Workers are shared by every
// plan in the process, so compiling many plans does not leave goroutines behind.
type workerPool struct {
	n int
}

var shared struct {
	sync.Mutex
	jobs    chan *parLoop
	workers int
}

// activeRuns counts multi-threaded plan runs in progress. Between two parallel loops of one run a helper spins
// (bounded by helperSpinNs) instead of parking, the way ONNX Runtime's pool does: a parked goroutine is woken by a
// futex and then has to be stolen onto an idle P, tens of microseconds on a busy machine, which a CNN with ~100
// loops per run pays on every loop while the caller does the first tasks alone. With no run in progress helpers
// park at once, so an idle process never spins.
var activeRuns atomic.Int32

// helperSpinNs bounds how long a helper waits for the next loop before parking: longer than the sequential
// stretches between a CNN's parallel loops (small ops, graph bookkeeping), short enough that a run ending or
// stalling frees the core quickly. Benchmarks set it to 0 to compare with park-only helpers.
var helperSpinNs int64 = 100_000

func newWorkerPool(n int) *workerPool { return &workerPool{n: n} }

// ensureWorkers starts shared workers until n-1 exist.
func ensureWorkers(n int) chan *parLoop {
	shared.Lock()
	defer shared.Unlock()
	if shared.jobs == nil {
		shared.jobs = make(chan *parLoop, 256)
	}
	for shared.workers < n-1 {
		shared.workers++
		go helper(shared.jobs)
	}
	return shared.jobs
}

// helper runs loops handed to it; after each one it polls for the next while a run is active, then parks.
func helper(jobs chan *parLoop) {
	for l := range jobs {
		l.help()
		for until := nanotime() + helperSpinNs; activeRuns.Load() > 0 && nanotime() < until; {
			select {
			case l := <-jobs:
				l.help()
				until = nanotime() + helperSpinNs
			default:
				// Yield so goroutines queued on this P (GC workers, another plan's caller) are not starved, and
				// the core to other threads when the machine is oversubscribed.
				runtime.Gosched()
				osYield()
			}
		}
	}
}

// kernelPanic carries a panic from a worker goroutine back to the goroutine that started the loop.
type kernelPanic struct{ v any }

// parLoop is one parallel loop: tasks 0..n-1 are claimed from next by the caller and by the helpers that took
// one of its seats. A loop is handed to helpers through the shared queue and never reused, so a helper that
// dequeues it after it finished only finds no seat left.
type parLoop struct {
	n        int
	fn       func(i int)
	next     atomic.Int64
	seats    atomic.Int32 // helper places not yet taken
	wg       sync.WaitGroup
	panicked atomic.Pointer[kernelPanic]
}

// work claims and runs tasks until none are left; a panic stops the hand-out and is kept for the caller.
func (l *parLoop) work() {
	defer func() {
		if r := recover(); r != nil {
			l.panicked.CompareAndSwap(nil, &kernelPanic{r})
			l.next.Store(int64(l.n)) // stop handing out work
		}
	}()
	for i := int(l.next.Add(1) - 1); i < l.n; i = int(l.next.Add(1) - 1) {
		l.fn(i)
	}
}

// help joins the loop if a seat is left. The caller withdraws the seats no helper took once it has run out of
// tasks itself, so it waits only for helpers that are running a task: a loop started inside another loop's task
// (or while every helper serves another plan) cannot wait on a helper that is itself blocked.
func (l *parLoop) help() {
	for {
		s := l.seats.Load()
		if s <= 0 {
			return
		}
		if l.seats.CompareAndSwap(s, s-1) {
			break
		}
	}
	defer l.wg.Done()
	l.work()
}

// runner returns a kernels.Runner that spreads fn(0..n-1) over the pool; the caller's goroutine works too.
// A panic in fn is re-raised on the caller's goroutine, where the executor turns it into an error.
func (w *workerPool) runner() func(n int, fn func(i int)) {
	if w.n <= 1 {
		return nil
	}
	jobs := ensureWorkers(w.n)
	return func(n int, fn func(i int)) {
		if n <= 1 {
			for i := 0; i < n; i++ {
				fn(i)
			}
			return
		}
		l := &parLoop{n: n, fn: fn}
		helpers := min(w.n-1, n-1)
		l.seats.Store(int32(helpers))
		l.wg.Add(helpers)
	enlist:
		for h := 0; h < helpers; h++ {
			select {
			case jobs <- l:
			default: // queue full: the seats left are withdrawn below
				break enlist
			}
		}
		l.work()
		l.wg.Add(-int(l.seats.Swap(0)))
		l.wg.Wait()
		if p := l.panicked.Load(); p != nil {
			panic(p.v)
		}
	}
}

// runKernel runs one kernel, turning a panic (a kernel bug on unexpected input) into an error so a bad model or
// input never crashes the process.
func runKernel(k Kernel, ctx *Ctx, in []*ir.Tensor) (outs []*ir.Tensor, err error) {
	defer func() {
		if r := recover(); r != nil {
			outs, err = nil, fmt.Errorf("internal error (please report): %v", r)
		}
	}()
	return k.Run(ctx, in)
}
