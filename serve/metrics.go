package serve

import (
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the server's Prometheus metrics, named as Triton names its nv_inference_* family so that
// existing dashboards carry over with the prefix changed.
type Metrics struct {
	Registry *prometheus.Registry

	success, failure   *prometheus.CounterVec
	count, execCount   *prometheus.CounterVec
	requestUS, queueUS *prometheus.CounterVec
	computeUS          *prometheus.CounterVec
	batchSize          *prometheus.HistogramVec
	requestSeconds     *prometheus.HistogramVec
	pending            *prometheus.GaugeVec
}

// NewMetrics registers the metrics in a fresh registry (not the global one, so several servers can live
// in one process, as in tests).
func NewMetrics() *Metrics {
	l := []string{"model", "version"}
	counter := func(name, help string) *prometheus.CounterVec {
		return prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: help}, l)
	}
	m := &Metrics{
		Registry:  prometheus.NewRegistry(),
		success:   counter("hone_inference_request_success", "Number of successful inference requests, all batch sizes"),
		failure:   counter("hone_inference_request_failure", "Number of failed inference requests, all batch sizes"),
		count:     counter("hone_inference_count", "Number of inferences performed (a request of N rows counts N)"),
		execCount: counter("hone_inference_exec_count", "Number of model executions performed (batches)"),
		requestUS: counter("hone_inference_request_duration_us", "Cumulative inference request duration in microseconds (queue and compute)"),
		queueUS:   counter("hone_inference_queue_duration_us", "Cumulative time requests spend waiting in the queue, in microseconds"),
		computeUS: counter("hone_inference_compute_infer_duration_us", "Cumulative model execution time per request, in microseconds"),
		batchSize: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "hone_inference_batch_size", Help: "Rows per model execution",
			Buckets: []float64{1, 2, 4, 8, 16, 32, 64, 128, 256},
		}, l),
		requestSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "hone_inference_request_duration_seconds", Help: "Inference request latency",
			Buckets: prometheus.ExponentialBuckets(0.0001, 2, 18),
		}, l),
		pending: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "hone_inference_pending_request_count", Help: "Requests queued and not yet executing",
		}, l),
	}
	m.Registry.MustRegister(m.success, m.failure, m.count, m.execCount, m.requestUS, m.queueUS, m.computeUS,
		m.batchSize, m.requestSeconds, m.pending)
	return m
}

// modelStats accumulates one model's statistics for /metrics and Triton's /stats.
type modelStats struct {
	m              *Metrics
	labels         prometheus.Labels
	success, fail  durStat
	queue, compute durStat
	inferences     atomic.Int64
	executions     atomic.Int64
	lastInference  atomic.Int64 // Unix milliseconds
	mu             sync.Mutex
	batches        map[int]*durStat
}

type durStat struct {
	count atomic.Int64
	ns    atomic.Int64
}

func (d *durStat) add(t time.Duration) {
	d.count.Add(1)
	d.ns.Add(int64(t))
}

func newModelStats(m *Metrics, name, version string) *modelStats {
	if m == nil {
		m = NewMetrics()
	}
	return &modelStats{m: m, labels: prometheus.Labels{"model": name, "version": version}, batches: map[int]*durStat{}}
}

func (s *modelStats) observeBatch(rows, requests int, compute time.Duration, err error) {
	if err != nil {
		return
	}
	s.executions.Add(1)
	s.inferences.Add(int64(rows))
	s.m.execCount.With(s.labels).Inc()
	s.m.count.With(s.labels).Add(float64(rows))
	s.m.batchSize.With(s.labels).Observe(float64(rows))
	s.mu.Lock()
	d := s.batches[rows]
	if d == nil {
		d = &durStat{}
		s.batches[rows] = d
	}
	s.mu.Unlock()
	d.add(compute)
}

func (s *modelStats) observeRequest(err error, total time.Duration, st BatchStats) {
	s.lastInference.Store(time.Now().UnixMilli())
	us := func(d time.Duration) float64 { return float64(d.Microseconds()) }
	if err != nil {
		s.fail.add(total)
		s.m.failure.With(s.labels).Inc()
		return
	}
	s.success.add(total)
	s.queue.add(st.Queue)
	s.compute.add(st.Compute)
	s.m.success.With(s.labels).Inc()
	s.m.requestUS.With(s.labels).Add(us(total))
	s.m.queueUS.With(s.labels).Add(us(st.Queue))
	s.m.computeUS.With(s.labels).Add(us(st.Compute))
	s.m.requestSeconds.With(s.labels).Observe(total.Seconds())
}

func (s *modelStats) setPending(n int) { s.m.pending.With(s.labels).Set(float64(n)) }

// forget removes the model's series when it is unloaded.
func (s *modelStats) forget() {
	for _, v := range []*prometheus.CounterVec{s.m.success, s.m.failure, s.m.count, s.m.execCount, s.m.requestUS, s.m.queueUS, s.m.computeUS} {
		v.Delete(s.labels)
	}
	s.m.batchSize.Delete(s.labels)
	s.m.requestSeconds.Delete(s.labels)
	s.m.pending.Delete(s.labels)
}

// Triton's statistics extension shapes (GET /v2/models/{name}/stats).
type statDuration struct {
	Count int64 `json:"count"`
	NS    int64 `json:"ns"`
}

type inferenceStats struct {
	Success      statDuration `json:"success"`
	Fail         statDuration `json:"fail"`
	Queue        statDuration `json:"queue"`
	ComputeInput statDuration `json:"compute_input"`
	ComputeInfer statDuration `json:"compute_infer"`
	ComputeOut   statDuration `json:"compute_output"`
}

type batchStat struct {
	BatchSize    int          `json:"batch_size"`
	ComputeInfer statDuration `json:"compute_infer"`
}

type modelStatistics struct {
	Name           string         `json:"name"`
	Version        string         `json:"version"`
	LastInference  int64          `json:"last_inference"`
	InferenceCount int64          `json:"inference_count"`
	ExecutionCount int64          `json:"execution_count"`
	InferenceStats inferenceStats `json:"inference_stats"`
	BatchStats     []batchStat    `json:"batch_stats"`
}

func (d *durStat) snap() statDuration { return statDuration{Count: d.count.Load(), NS: d.ns.Load()} }

func (s *modelStats) statistics(name, version string) modelStatistics {
	st := modelStatistics{
		Name: name, Version: version,
		LastInference:  s.lastInference.Load(),
		InferenceCount: s.inferences.Load(),
		ExecutionCount: s.executions.Load(),
		InferenceStats: inferenceStats{
			Success: s.success.snap(), Fail: s.fail.snap(), Queue: s.queue.snap(), ComputeInfer: s.compute.snap(),
		},
		BatchStats: []batchStat{},
	}
	s.mu.Lock()
	for size, d := range s.batches {
		st.BatchStats = append(st.BatchStats, batchStat{BatchSize: size, ComputeInfer: d.snap()})
	}
	s.mu.Unlock()
	sort.Slice(st.BatchStats, func(i, j int) bool { return st.BatchStats[i].BatchSize < st.BatchStats[j].BatchSize })
	return st
}
