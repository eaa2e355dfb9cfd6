package serve

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/hone-ml/hone/api"
	"github.com/hone-ml/hone/api/oippb"
	"github.com/hone-ml/hone/internal/irtest"
	"github.com/hone-ml/hone/ir"
	"github.com/hone-ml/hone/onnx"
)

// The benchmarks here run a real loopback server (TCP, HTTP/1.1 or HTTP/2 gRPC) with the clients in the
// same process, so on a small machine server and clients share the cores exactly as `hone serve` plus
// `hone loadtest` would. Each reports req/s, p50/p99 latency and the mean rows per executed batch beside
// ns/op. Run the batching comparison with
//
//	go test ./serve -run '^$' -bench 'Batching' -benchtime 3s
//
// and ResNet-18 (needs .cache/models/resnet18.onnx) with -bench 'Batching/resnet18' -benchtime 20x.

// benchClients is the closed-loop concurrency of the acceptance test.
const benchClients = 64

// closedLoop sends b.N requests from clients goroutines, each sending its next request as soon as the last
// returns, and reports throughput, latency percentiles and the process's CPU time per request (server and
// clients together). On a shared machine the CPU time per request holds steady where req/s drifts with
// the other tenants' load, so compare configurations by it. It returns the p99 latency.
func closedLoop(b *testing.B, clients int, send func(client int) error) time.Duration {
	b.Helper()
	lat := make([][]time.Duration, clients)
	var next atomic.Int64
	var failed atomic.Value
	var wg sync.WaitGroup
	b.ResetTimer()
	cpu0 := cpuTime()
	start := time.Now()
	for c := 0; c < clients; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for next.Add(1) <= int64(b.N) {
				t0 := time.Now()
				if err := send(c); err != nil {
					failed.CompareAndSwap(nil, err)
					return
				}
				lat[c] = append(lat[c], time.Since(t0))
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	cpu := cpuTime() - cpu0
	b.StopTimer()
	if err, _ := failed.Load().(error); err != nil {
		b.Fatal(err)
	}
	all := slices.Concat(lat...)
	slices.Sort(all)
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "req/s")
	if cpu > 0 {
		b.ReportMetric(float64(cpu.Microseconds())/float64(b.N), "cpu-us/req")
	}
	if len(all) == 0 {
		return 0
	}
	p99 := all[min(len(all)-1, len(all)*99/100)]
	b.ReportMetric(float64(all[len(all)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(p99.Microseconds())/1000, "p99-ms")
	return p99
}

// reportBatches adds the mean rows per executed batch, read from the model's counters, and with batching on
// the latency bound of the acceptance test (see latencyBound) with p99 ÷ bound, which is ≤ 1 where
// the bound holds: end to end, and, when srvP99 is known, for the server's batcher alone (queue and
// compute), the part the bound is about; the rest is the HTTP path and the clients on the same cores.
// Without batching there is no such bound: 64 clients queue behind one another.
func reportBatches(b *testing.B, m *Model, p99, srvP99 time.Duration) {
	st := m.stats.statistics(m.Name, m.Version)
	if n := st.ExecutionCount; n > 0 {
		b.ReportMetric(float64(st.InferenceCount)/float64(n), "rows/batch")
	}
	if !m.Batching() {
		return
	}
	batch, bound := latencyBound(st, time.Duration(m.Config.MaxQueueDelay))
	if bound > 0 {
		b.ReportMetric(float64(batch.Microseconds())/1000, "batch-ms")
		b.ReportMetric(float64(bound.Microseconds())/1000, "bound-ms")
		b.ReportMetric(float64(p99)/float64(bound), "p99/bound")
		if srvP99 > 0 {
			b.ReportMetric(float64(srvP99)/float64(bound), "srv-p99/bound")
		}
	}
}

// latencyBound is the most a request should wait with max_batch_size at least the number of clients: the
// batch running when it arrives, max_queue_delay, then its own batch. A batch's latency is the mean compute
// time of the near-full batches (at least half the rows of the largest seen), so that a rare small batch
// delayed by the machine's other load does not stand for a full one.
func latencyBound(st modelStatistics, delay time.Duration) (batch, bound time.Duration) {
	largest := 0
	for _, bs := range st.BatchStats {
		if bs.ComputeInfer.Count > 0 {
			largest = max(largest, bs.BatchSize)
		}
	}
	var n, ns int64
	for _, bs := range st.BatchStats {
		if 2*bs.BatchSize >= largest {
			n += bs.ComputeInfer.Count
			ns += bs.ComputeInfer.NS
		}
	}
	if n == 0 {
		return 0, 0
	}
	batch = time.Duration(ns / n)
	return batch, 2*batch + delay
}

// benchModel loads path as "m" with cfg and serves it over loopback HTTP and gRPC, returning the HTTP base
// URL and the gRPC address.
func benchModel(b *testing.B, path string, cfg Config) (*Model, string, string) {
	b.Helper()
	s := New(Options{})
	if err := s.Load("m", path, cfg); err != nil {
		b.Fatal(err)
	}
	m, _ := s.Model("m", "")
	hl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	gl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx, hl, gl, 10*time.Second) }()
	b.Cleanup(func() {
		cancel()
		<-done
	})
	return m, "http://" + hl.Addr().String(), gl.Addr().String()
}

// benchInput is one row of the model's (single) input, filled with a deterministic ramp.
func benchInput(m *Model) *ir.Tensor {
	vi := m.inputs[0]
	shape := make([]int, len(vi.Type.Shape))
	for i, d := range vi.Type.Shape {
		shape[i] = max(1, int(d.Size))
	}
	shape[0] = 1
	t := ir.New(ir.Float32, shape...)
	for i := range t.F32() {
		t.F32()[i] = float32(i%255) / 255
	}
	return t
}

// restSender posts the same body with the given headers on a keep-alive client with one connection per
// closed-loop client. With srv set it records each request's time in the server's batcher (queue and
// compute, from the Server-Timing header).
func restSender(url string, body []byte, header http.Header, srv *latencies) func(int) error {
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: benchClients, MaxConnsPerHost: benchClients}}
	return func(int) error {
		req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
		if err != nil {
			return err
		}
		req.Header = header.Clone()
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		_, err = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("HTTP %d", resp.StatusCode)
		}
		if srv != nil {
			q, c, err := api.ParseServerTiming(resp.Header.Get(api.HeaderServerTiming))
			if err != nil {
				return err
			}
			srv.add(q + c)
		}
		return err
	}
}

// latencies collects durations from concurrent clients.
type latencies struct {
	mu sync.Mutex
	d  []time.Duration
}

func (l *latencies) add(d time.Duration) {
	l.mu.Lock()
	l.d = append(l.d, d)
	l.mu.Unlock()
}

func (l *latencies) p99() time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.d) == 0 {
		return 0
	}
	slices.Sort(l.d)
	return l.d[min(len(l.d)-1, len(l.d)*99/100)]
}

func grpcSender(b *testing.B, addr, name string, in *ir.Tensor) func(int) error {
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { conn.Close() })
	c := oippb.NewGRPCInferenceServiceClient(conn)
	req := &oippb.ModelInferRequest{ModelName: "m",
		Inputs:           []*oippb.ModelInferRequest_InferInputTensor{{Name: name, Datatype: "FP32", Shape: shape64(in.Shape)}},
		RawInputContents: [][]byte{in.Bytes()}}
	return func(int) error {
		_, err := c.ModelInfer(context.Background(), req)
		return err
	}
}

// inferBodies returns the JSON and binary-extension bodies (with headers) of one request.
func inferBodies(b *testing.B, name string, in *ir.Tensor) (jsonBody []byte, jsonHeader http.Header, binBody []byte, binHeader http.Header) {
	data, err := api.EncodeData("FP32", in.Bytes(), nil)
	if err != nil {
		b.Fatal(err)
	}
	req := &api.InferRequest{Inputs: []api.RequestInput{{Name: name, Shape: shape64(in.Shape), Datatype: "FP32", Data: data}}}
	if jsonBody, jsonHeader, err = api.NewInferBody(req); err != nil {
		b.Fatal(err)
	}
	req = &api.InferRequest{Inputs: []api.RequestInput{{Name: name, Shape: shape64(in.Shape), Datatype: "FP32", Raw: in.Bytes()}},
		Parameters: api.Parameters{api.ParamBinaryOutput: true}}
	if binBody, binHeader, err = api.NewInferBody(req); err != nil {
		b.Fatal(err)
	}
	return
}

// BenchmarkInfer measures one MNIST inference through each front end at 64 concurrent clients, with
// and without dynamic batching.
func BenchmarkInfer(b *testing.B) {
	path := mnistFile(b, b.TempDir())
	for _, bc := range []struct {
		name string
		cfg  Config
	}{
		{"nobatch", Config{Instances: 1}},
		{"batch32", Config{MaxBatchSize: 32, MaxQueueDelay: Duration(time.Millisecond), Instances: 1}},
		{"nobatch-t1", Config{Instances: 1, Threads: 1}},
		{"batch32-t1", Config{MaxBatchSize: 32, MaxQueueDelay: Duration(time.Millisecond), Instances: 1, Threads: 1}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			m, url, gaddr := benchModel(b, path, bc.cfg)
			in := benchInput(m)
			name := m.inputs[0].Name
			jb, jh, bb, bh := inferBodies(b, name, in)
			for _, fe := range []struct {
				name string
				send func(int) error
			}{
				{"rest-json", restSender(url+api.InferPath("m"), jb, jh, nil)},
				{"rest-binary", restSender(url+api.InferPath("m"), bb, bh, nil)},
				{"grpc", grpcSender(b, gaddr, name, in)},
			} {
				b.Run(fe.name, func(b *testing.B) {
					p99 := closedLoop(b, benchClients, fe.send)
					reportBatches(b, m, p99, 0) // cumulative over the front ends run so far
				})
			}
		})
	}
}

// BenchmarkBatching is the acceptance measurement: throughput at 64 closed-loop clients without
// dynamic batching and with it at several max_queue_delay values, for the MNIST CNN and ResNet-18, and for
// "tiny" (one 784→10 Gemm on MNIST-sized requests), whose compute is negligible, so its cpu-us/req is the
// cost of the HTTP path alone: what batching cannot remove. A ResNet-18 batch of 64 takes seconds, so give
// it enough requests for several batches per delay (-benchtime 640x).
func BenchmarkBatching(b *testing.B) {
	dir := b.TempDir()
	models := map[string]string{"mnist": mnistFile(b, dir), "tiny": tinyFile(b, dir)}
	if p := filepath.Join("..", ".cache", "models", "resnet18.onnx"); fileExists(p) {
		models["resnet18"] = p
	}
	for _, name := range []string{"tiny", "mnist", "resnet18"} {
		path, ok := models[name]
		if !ok {
			continue
		}
		b.Run(name, func(b *testing.B) {
			cases := []struct {
				name string
				cfg  Config
			}{{"nobatch", Config{Instances: 1}}}
			for _, d := range []time.Duration{0, 500 * time.Microsecond, time.Millisecond, 2 * time.Millisecond, 5 * time.Millisecond, 10 * time.Millisecond} {
				cases = append(cases, struct {
					name string
					cfg  Config
				}{"delay=" + d.String(), Config{MaxBatchSize: 64, MaxQueueDelay: Duration(d), Instances: 1}})
			}
			for _, bc := range cases {
				b.Run(bc.name, func(b *testing.B) {
					m, url, _ := benchModel(b, path, bc.cfg)
					in := benchInput(m)
					_, _, bb, bh := inferBodies(b, m.inputs[0].Name, in)
					var srv latencies
					p99 := closedLoop(b, benchClients, restSender(url+api.InferPath("m"), bb, bh, &srv))
					reportBatches(b, m, p99, srv.p99())
				})
			}
		})
	}
}

// BenchmarkBatcher measures the batcher alone (an executor that returns its input), so its queueing,
// concat and split cost shows apart from the model's.
func BenchmarkBatcher(b *testing.B) {
	exec := func(_ int, in []*ir.Tensor) ([]*ir.Tensor, error) { return in, nil }
	for _, rows := range []int{1, 32} {
		b.Run("max_batch_size="+strconv.Itoa(rows), func(b *testing.B) {
			bt := NewBatcher(BatchConfig{MaxBatchSize: rows, MaxQueueDelay: time.Millisecond, MaxQueueSize: 1 << 20}, exec, nil)
			defer bt.Close()
			x := ir.New(ir.Float32, 1, 784)
			b.SetBytes(int64(len(x.Bytes())))
			closedLoop(b, benchClients, func(int) error {
				_, _, err := bt.Submit(context.Background(), []*ir.Tensor{x})
				return err
			})
		})
	}
}

// tinyFile writes a model with MNIST's input and output shapes ([N,1,28,28] → [N,10]) and almost no compute:
// Flatten and one Gemm.
func tinyFile(b *testing.B, dir string) string {
	g := irtest.New("tiny")
	x := g.Input("input", ir.Float32, -1, 1, 28, 28)
	w := g.Init("w", irtest.Rand(1, 10, 784))
	y := g.Op("Gemm", []string{g.Op("Flatten", []string{x}), w}, irtest.Int("transB", 1))
	g.Output(y)
	p := filepath.Join(dir, "tiny.onnx")
	if err := onnx.Save(g.Model(13), p); err != nil {
		b.Fatal(err)
	}
	return p
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}
