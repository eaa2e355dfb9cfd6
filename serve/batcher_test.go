package serve

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hone-ml/hone/ir"
)

// doubler is an executor that returns 2·x for a float32 input [N,k] and records each batch's row count.
type doubler struct {
	mu      sync.Mutex
	batches []int
	gate    chan struct{} // when non-nil, each execution waits for a value
	fail    func(in *ir.Tensor) bool
	entered atomic.Int64 // executions started (before the gate)
}

func (d *doubler) exec(_ int, in []*ir.Tensor) ([]*ir.Tensor, error) {
	d.entered.Add(1)
	if d.gate != nil {
		<-d.gate
	}
	if d.fail != nil && d.fail(in[0]) {
		return nil, errors.New("poisoned row")
	}
	d.mu.Lock()
	d.batches = append(d.batches, in[0].Shape[0])
	d.mu.Unlock()
	out := ir.New(ir.Float32, in[0].Shape...)
	for i, v := range in[0].F32() {
		out.F32()[i] = 2 * v
	}
	return []*ir.Tensor{out}, nil
}

func row(v float32, k int) *ir.Tensor {
	t := ir.New(ir.Float32, 1, k)
	for i := range t.F32() {
		t.F32()[i] = v + float32(i)/1000
	}
	return t
}

func TestBatcherRoutesRows(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  BatchConfig
	}{
		{"no batching", BatchConfig{MaxBatchSize: 0, Instances: 2}},
		{"batch 8", BatchConfig{MaxBatchSize: 8, MaxQueueDelay: 2 * time.Millisecond, Instances: 1}},
		{"batch 16 preferred 4,8 two instances", BatchConfig{MaxBatchSize: 16, Preferred: []int{4, 8}, MaxQueueDelay: time.Millisecond, Instances: 2}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := &doubler{}
			b := NewBatcher(tc.cfg, d.exec, nil)
			defer b.Close()
			var wg sync.WaitGroup
			errs := make(chan error, 200)
			for i := 0; i < 200; i++ {
				wg.Add(1)
				go func(i int) {
					defer wg.Done()
					// Two widths, so two shape groups that must never share a batch.
					k := 3 + i%2
					out, _, err := b.Submit(context.Background(), []*ir.Tensor{row(float32(i), k)})
					if err != nil {
						errs <- err
						return
					}
					got := out[0]
					if len(got.Shape) != 2 || got.Shape[0] != 1 || got.Shape[1] != k {
						errs <- fmt.Errorf("request %d: shape %v", i, got.Shape)
						return
					}
					for j, v := range got.F32() {
						if want := 2 * (float32(i) + float32(j)/1000); v != want {
							errs <- fmt.Errorf("request %d got %v at %d, want %v (another caller's row?)", i, v, j, want)
							return
						}
					}
				}(i)
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Error(err)
			}
			d.mu.Lock()
			defer d.mu.Unlock()
			maxRows := 0
			for _, n := range d.batches {
				maxRows = max(maxRows, n)
				if tc.cfg.MaxBatchSize > 1 && n > tc.cfg.MaxBatchSize {
					t.Errorf("batch of %d rows exceeds max_batch_size %d", n, tc.cfg.MaxBatchSize)
				}
			}
			if tc.cfg.MaxBatchSize <= 1 && maxRows != 1 {
				t.Errorf("batching off but a batch had %d rows", maxRows)
			}
			if tc.cfg.MaxBatchSize > 1 && maxRows < 2 {
				t.Errorf("200 concurrent requests never formed a batch (batches %v)", d.batches)
			}
		})
	}
}

func TestBatcherPreferredSizeLeavesEarly(t *testing.T) {
	d := &doubler{}
	b := NewBatcher(BatchConfig{MaxBatchSize: 8, Preferred: []int{4}, MaxQueueDelay: 10 * time.Second}, d.exec, nil)
	defer b.Close()
	start := time.Now()
	var wg sync.WaitGroup
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, _, err := b.Submit(context.Background(), []*ir.Tensor{row(1, 2)}); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if el := time.Since(start); el > 5*time.Second {
		t.Fatalf("4 requests with preferred size 4 waited %v (max_queue_delay is 10s)", el)
	}
}

func TestBatcherQueueFullRejectsAtOnce(t *testing.T) {
	d := &doubler{gate: make(chan struct{})}
	const queue = 8
	b := NewBatcher(BatchConfig{MaxBatchSize: 0, MaxQueueSize: queue}, d.exec, nil)
	var accepted, rejected atomic.Int64
	var wg sync.WaitGroup
	// One request occupies the instance, queue more wait; the rest of a burst of 100 must be refused.
	for i := 0; i < 100; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, _, err := b.Submit(context.Background(), []*ir.Tensor{row(1, 2)})
			switch {
			case err == nil:
				accepted.Add(1)
			case errors.Is(err, ErrQueueFull):
				rejected.Add(1)
			default:
				t.Error(err)
			}
		}()
	}
	deadline := time.Now().Add(5 * time.Second)
	for rejected.Load() < 100-queue-1 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if r := rejected.Load(); r != 100-queue-1 {
		t.Fatalf("%d rejections while the instance was blocked, want %d", r, 100-queue-1)
	}
	close(d.gate) // let every accepted request run
	wg.Wait()
	b.Close()
	if a := accepted.Load(); a != queue+1 {
		t.Fatalf("%d accepted requests succeeded, want %d", a, queue+1)
	}
}

func TestBatcherCloseDrainsQueue(t *testing.T) {
	d := &doubler{gate: make(chan struct{})}
	b := NewBatcher(BatchConfig{MaxBatchSize: 4, MaxQueueDelay: time.Hour, Instances: 2}, d.exec, nil)
	var ok atomic.Int64
	var wg sync.WaitGroup
	const n = 50
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, _, err := b.Submit(context.Background(), []*ir.Tensor{row(1, 2)}); err != nil {
				t.Error(err)
				return
			}
			ok.Add(1)
		}()
	}
	for b.Pending()+2*4 < n { // wait until every request is queued or held by the two blocked instances
		time.Sleep(time.Millisecond)
	}
	closed := make(chan struct{})
	go func() { b.Close(); close(closed) }()
	time.Sleep(10 * time.Millisecond)
	if _, _, err := b.Submit(context.Background(), []*ir.Tensor{row(1, 2)}); !errors.Is(err, ErrClosed) {
		t.Errorf("Submit after Close: %v, want ErrClosed", err)
	}
	go func() {
		for {
			select {
			case d.gate <- struct{}{}:
			case <-closed:
				return
			}
		}
	}()
	<-closed
	wg.Wait()
	if ok.Load() != n {
		t.Fatalf("%d of %d accepted requests answered successfully after Close", ok.Load(), n)
	}
}

func TestBatcherTimeoutDropsRequest(t *testing.T) {
	d := &doubler{gate: make(chan struct{})}
	b := NewBatcher(BatchConfig{MaxBatchSize: 0}, d.exec, nil)
	go b.Submit(context.Background(), []*ir.Tensor{row(1, 2)}) // occupies the only instance
	for d.entered.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	_, _, err := b.Submit(ctx, []*ir.Tensor{row(2, 2)})
	if !errors.Is(err, ErrTimeout) {
		t.Fatalf("got %v, want ErrTimeout", err)
	}
	close(d.gate)
	b.Close()
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(d.batches) != 1 {
		t.Fatalf("%d executions, want 1: the timed-out request must not run", len(d.batches))
	}
}

func TestBatcherBadRequestDoesNotFailNeighbours(t *testing.T) {
	d := &doubler{fail: func(in *ir.Tensor) bool {
		for _, v := range in.F32() {
			if v < 0 {
				return true
			}
		}
		return false
	}}
	b := NewBatcher(BatchConfig{MaxBatchSize: 8, MaxQueueDelay: 20 * time.Millisecond}, d.exec, nil)
	defer b.Close()
	var wg sync.WaitGroup
	var good, bad atomic.Int64
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			v := float32(i)
			if i == 3 {
				v = -1
			}
			if _, _, err := b.Submit(context.Background(), []*ir.Tensor{row(v, 2)}); err != nil {
				bad.Add(1)
			} else {
				good.Add(1)
			}
		}(i)
	}
	wg.Wait()
	if good.Load() != 7 || bad.Load() != 1 {
		t.Fatalf("good %d bad %d, want 7 and 1", good.Load(), bad.Load())
	}
}

func TestBatcherRejectsOversizedRows(t *testing.T) {
	b := NewBatcher(BatchConfig{MaxBatchSize: 4}, (&doubler{}).exec, nil)
	defer b.Close()
	_, _, err := b.Submit(context.Background(), []*ir.Tensor{ir.New(ir.Float32, 5, 2)})
	if code, _ := statusOf(err); code != 400 {
		t.Fatalf("5 rows with max_batch_size 4: %v (HTTP %d), want 400", err, code)
	}
}
