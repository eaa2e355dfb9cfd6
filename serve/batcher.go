package serve

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/hone-ml/hone/ir"
)

// Executor runs one batch on one model instance: inputs in the model's input order, outputs in output order.
type Executor func(instance int, inputs []*ir.Tensor) ([]*ir.Tensor, error)

// BatchConfig is the part of Config the batcher uses.
type BatchConfig struct {
	MaxBatchSize  int // ≤ 1: no batching, each request runs alone
	MaxQueueDelay time.Duration
	Preferred     []int
	MaxQueueSize  int
	Instances     int
}

// BatchStats tells a caller how its request was served.
type BatchStats struct {
	Queue     time.Duration // from Submit to the start of its batch
	Compute   time.Duration // the batch's execution
	BatchRows int           // rows in the batch it ran in
}

// Observer is told about every executed batch (for metrics); it must be cheap and safe for concurrent use.
type Observer func(rows, requests int, compute time.Duration, err error)

type result struct {
	out   []*ir.Tensor
	err   error
	stats BatchStats
}

type request struct {
	ctx    context.Context
	inputs []*ir.Tensor
	rows   int
	enq    time.Time
	done   chan result // buffered: workers never block on a caller that has gone
}

// Batcher is a dynamic batcher: requests whose inputs agree in everything but the first dimension queue
// together, and an idle instance takes the oldest group once it is full, reaches the largest preferred size,
// or its oldest request has waited MaxQueueDelay. Requests of different shapes are never mixed, and each
// caller gets back exactly its own rows of the outputs.
type Batcher struct {
	cfg     BatchConfig
	exec    Executor
	observe Observer

	mu      sync.Mutex
	queues  map[string][]*request
	pending int
	closed  bool
	changed chan struct{} // closed and replaced whenever the queues change, waking waiting instances
	wg      sync.WaitGroup
}

// NewBatcher starts cfg.Instances workers that run batches with exec.
func NewBatcher(cfg BatchConfig, exec Executor, observe Observer) *Batcher {
	if cfg.Instances < 1 {
		cfg.Instances = 1
	}
	if cfg.MaxQueueSize < 1 {
		cfg.MaxQueueSize = defaultMaxQueueSize
	}
	if observe == nil {
		observe = func(int, int, time.Duration, error) {}
	}
	b := &Batcher{cfg: cfg, exec: exec, observe: observe, queues: map[string][]*request{}, changed: make(chan struct{})}
	for i := 0; i < cfg.Instances; i++ {
		b.wg.Add(1)
		go b.worker(i)
	}
	return b
}

func (b *Batcher) batching() bool { return b.cfg.MaxBatchSize > 1 }

// Pending is the number of requests queued and not yet taken by an instance.
func (b *Batcher) Pending() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.pending
}

// Admit fails with ErrQueueFull when MaxQueueSize requests are already waiting, so a front end can refuse
// a request before it spends time reading and decoding its body; Submit checks again, authoritatively.
func (b *Batcher) Admit() error {
	b.mu.Lock()
	n := b.pending
	b.mu.Unlock()
	if n >= b.cfg.MaxQueueSize {
		return fmt.Errorf("%w: %d requests waiting (max_queue_size)", ErrQueueFull, n)
	}
	return nil
}

// shapeKey identifies the requests that may share a batch: same dtypes and same dimensions after the first.
func shapeKey(inputs []*ir.Tensor) string {
	var sb strings.Builder
	for _, t := range inputs {
		fmt.Fprintf(&sb, "%d:", t.DType)
		for _, d := range t.Shape[1:] {
			fmt.Fprintf(&sb, "%d,", d)
		}
		sb.WriteByte(';')
	}
	return sb.String()
}

// Submit queues one request and waits for its outputs. With batching on, every input's first dimension is
// the request's row count, at most MaxBatchSize. It fails at once with ErrQueueFull when MaxQueueSize
// requests are waiting, with ErrClosed after Close, and with ErrTimeout when ctx ends first.
func (b *Batcher) Submit(ctx context.Context, inputs []*ir.Tensor) ([]*ir.Tensor, BatchStats, error) {
	r := &request{ctx: ctx, inputs: inputs, rows: 1, done: make(chan result, 1)}
	key := ""
	if b.batching() {
		if len(inputs) == 0 {
			return nil, BatchStats{}, fmt.Errorf("%w: a batched model needs inputs", ErrBadRequestf)
		}
		for _, t := range inputs {
			if t.Rank() == 0 || t.Shape[0] != inputs[0].Shape[0] {
				return nil, BatchStats{}, fmt.Errorf("%w: inputs disagree on the batch (first) dimension", ErrBadRequestf)
			}
		}
		r.rows = inputs[0].Shape[0]
		if r.rows < 1 || r.rows > b.cfg.MaxBatchSize {
			return nil, BatchStats{}, fmt.Errorf("%w: batch dimension %d is outside 1..max_batch_size (%d)", ErrBadRequestf, r.rows, b.cfg.MaxBatchSize)
		}
		key = shapeKey(inputs)
	}
	b.mu.Lock()
	switch {
	case b.closed:
		b.mu.Unlock()
		return nil, BatchStats{}, ErrClosed
	case b.pending >= b.cfg.MaxQueueSize:
		n := b.pending
		b.mu.Unlock()
		return nil, BatchStats{}, fmt.Errorf("%w: %d requests waiting (max_queue_size)", ErrQueueFull, n)
	}
	r.enq = time.Now()
	b.queues[key] = append(b.queues[key], r)
	b.pending++
	b.wakeLocked()
	b.mu.Unlock()

	select {
	case res := <-r.done:
		return res.out, res.stats, res.err
	case <-ctx.Done():
		// The worker drops the request when it sees the context has ended; nobody waits on r.done then.
		return nil, BatchStats{}, fmt.Errorf("%w: %v", ErrTimeout, context.Cause(ctx))
	}
}

func (b *Batcher) wakeLocked() {
	close(b.changed)
	b.changed = make(chan struct{})
}

// Close stops accepting requests, lets the instances run everything already queued without waiting for
// batches to fill, and returns once every accepted request has been answered.
func (b *Batcher) Close() {
	b.mu.Lock()
	if !b.closed {
		b.closed = true
		b.wakeLocked()
	}
	b.mu.Unlock()
	b.wg.Wait()
}

func (b *Batcher) worker(instance int) {
	defer b.wg.Done()
	for {
		batch := b.take()
		if batch == nil {
			return
		}
		b.run(instance, batch)
	}
}

// take blocks until a batch is due and removes it from its queue; nil means closed and drained.
func (b *Batcher) take() []*request {
	b.mu.Lock()
	defer b.mu.Unlock()
	for {
		b.dropEndedLocked()
		key, q := "", []*request(nil)
		for k, qq := range b.queues {
			if q == nil || qq[0].enq.Before(q[0].enq) {
				key, q = k, qq
			}
		}
		if q == nil {
			if b.closed {
				return nil
			}
			b.waitLocked(time.Time{})
			continue
		}
		if !b.batching() {
			return b.popLocked(key, 1)
		}
		// Count how many requests fit in one batch, and how many rows they hold.
		n, rows := 0, 0
		for n < len(q) && rows+q[n].rows <= b.cfg.MaxBatchSize {
			rows += q[n].rows
			n++
		}
		full := n < len(q) || rows == b.cfg.MaxBatchSize
		deadline := q[0].enq.Add(b.cfg.MaxQueueDelay)
		expired := !time.Now().Before(deadline)
		if pref := b.largestPreferred(rows); !full && !expired && !b.closed && pref > 0 && pref == b.largestPreferred(b.cfg.MaxBatchSize) {
			// The largest preferred size is reached: no reason to wait longer.
			return b.popLocked(key, b.fit(q, pref))
		}
		if full || expired || b.closed {
			return b.popLocked(key, n)
		}
		b.waitLocked(deadline)
	}
}

// largestPreferred is the largest preferred batch size ≤ rows, or 0.
func (b *Batcher) largestPreferred(rows int) int {
	best := 0
	for _, p := range b.cfg.Preferred {
		if p <= rows && p > best {
			best = p
		}
	}
	return best
}

// fit is how many leading requests of q hold at most rows rows (at least one).
func (b *Batcher) fit(q []*request, rows int) int {
	n, sum := 0, 0
	for n < len(q) && sum+q[n].rows <= rows {
		sum += q[n].rows
		n++
	}
	return max(n, 1)
}

func (b *Batcher) popLocked(key string, n int) []*request {
	q := b.queues[key]
	batch := append([]*request(nil), q[:n]...)
	if n == len(q) {
		delete(b.queues, key)
	} else {
		clear(q[:n])
		b.queues[key] = q[n:]
	}
	b.pending -= n
	return batch
}

// dropEndedLocked removes requests whose caller has given up (timeout or disconnect), so they cost no compute.
func (b *Batcher) dropEndedLocked() {
	for k, q := range b.queues {
		kept := q[:0]
		for _, r := range q {
			if r.ctx.Err() != nil {
				b.pending--
				continue
			}
			kept = append(kept, r)
		}
		clear(q[len(kept):])
		if len(kept) == 0 {
			delete(b.queues, k)
		} else {
			b.queues[k] = kept
		}
	}
}

// waitLocked releases the lock until the queues change or the deadline (zero: none) passes.
func (b *Batcher) waitLocked(deadline time.Time) {
	ch := b.changed
	b.mu.Unlock()
	defer b.mu.Lock()
	if deadline.IsZero() {
		<-ch
		return
	}
	t := time.NewTimer(time.Until(deadline))
	defer t.Stop()
	select {
	case <-ch:
	case <-t.C:
	}
}

// run executes one batch and routes each request's rows back to it. If a batch of several requests fails,
// each request is retried alone, so one bad request cannot fail its neighbours.
func (b *Batcher) run(instance int, batch []*request) {
	start := time.Now()
	if len(batch) == 1 {
		r := batch[0]
		out, err := b.exec(instance, r.inputs)
		compute := time.Since(start)
		b.observe(r.rows, 1, compute, err)
		r.done <- result{out: out, err: err, stats: BatchStats{Queue: start.Sub(r.enq), Compute: compute, BatchRows: r.rows}}
		return
	}
	rows := 0
	for _, r := range batch {
		rows += r.rows
	}
	out, err := b.exec(instance, concatInputs(batch))
	compute := time.Since(start)
	var parts [][]*ir.Tensor
	if err == nil {
		parts, err = splitOutputs(out, batch, rows)
	}
	b.observe(rows, len(batch), compute, err)
	if err != nil {
		for _, r := range batch {
			b.run(instance, []*request{r})
		}
		return
	}
	for i, r := range batch {
		r.done <- result{out: parts[i], stats: BatchStats{Queue: start.Sub(r.enq), Compute: compute, BatchRows: rows}}
	}
}

// concatInputs stacks the requests' inputs along the first dimension; row-major storage makes that a
// concatenation of their bytes.
func concatInputs(batch []*request) []*ir.Tensor {
	n := len(batch[0].inputs)
	out := make([]*ir.Tensor, n)
	for i := 0; i < n; i++ {
		first := batch[0].inputs[i]
		rows := 0
		for _, r := range batch {
			rows += r.inputs[i].Shape[0]
		}
		shape := append([]int{rows}, first.Shape[1:]...)
		t := ir.New(first.DType, shape...)
		if first.DType == ir.String {
			t.Strings = t.Strings[:0]
			for _, r := range batch {
				t.Strings = append(t.Strings, r.inputs[i].Strings...)
			}
		} else {
			dst := t.Bytes()
			off := 0
			for _, r := range batch {
				off += copy(dst[off:], r.inputs[i].Bytes())
			}
		}
		out[i] = t
	}
	return out
}

// splitOutputs cuts each output's first dimension back into the requests' rows (copying, so no caller holds
// memory shared with another).
func splitOutputs(out []*ir.Tensor, batch []*request, rows int) ([][]*ir.Tensor, error) {
	parts := make([][]*ir.Tensor, len(batch))
	for i := range parts {
		parts[i] = make([]*ir.Tensor, len(out))
	}
	for j, t := range out {
		if t == nil || t.Rank() == 0 || t.Shape[0] != rows {
			return nil, fmt.Errorf("serve: output %d has shape %v, not %d rows: the model cannot be batched", j, shapeOf(t), rows)
		}
		per := 0
		if rows > 0 {
			per = t.Len() / rows
		}
		off := 0
		for i, r := range batch {
			shape := append([]int{r.rows}, t.Shape[1:]...)
			p := ir.New(t.DType, shape...)
			if t.DType == ir.String {
				copy(p.Strings, t.Strings[off*per:(off+r.rows)*per])
			} else {
				sz := t.DType.Size()
				copy(p.Bytes(), t.Bytes()[off*per*sz:(off+r.rows)*per*sz])
			}
			parts[i][j] = p
			off += r.rows
		}
	}
	return parts, nil
}

func shapeOf(t *ir.Tensor) []int {
	if t == nil {
		return nil
	}
	return t.Shape
}
