// Package serve is hone's model server: the Open Inference Protocol v2 (KServe/Triton) over HTTP and gRPC,
// a dynamic batcher per model, Prometheus metrics, Triton's config/stats/repository extensions, and an
// image-classification /predict endpoint.
package serve

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/hone-ml/hone/api/oippb"
)

// ServerName and ServerVersion are reported by server metadata.
const (
	ServerName    = "hone"
	ServerVersion = "0.1.0"
)

// Extensions lists the protocol extensions the server implements (Triton's names).
var Extensions = []string{"binary_tensor_data", "model_configuration", "statistics", "model_repository"}

// Options configure a Server.
type Options struct {
	// MaxRequestBytes bounds a request body; larger ones get 413. Default 64 MiB.
	MaxRequestBytes int64
	// Logger receives structured logs; nil discards them.
	Logger *slog.Logger
	// Repository is a model repository directory (see Repository); empty for none.
	Repository string
	// Defaults is the configuration of models given as files without a config.yaml.
	Defaults Config
}

// Server holds the loaded models and answers the protocol. Its methods are safe for concurrent use.
type Server struct {
	opts    Options
	log     *slog.Logger
	metrics *Metrics
	health  *health.Server

	mu     sync.RWMutex
	models map[string]*Model
	// loading serialises loads and unloads so a reload cannot race another of the same model.
	loading sync.Mutex
	closing atomic.Bool
	repo    *Repository
}

// New returns a server with no models loaded.
func New(opts Options) *Server {
	if opts.MaxRequestBytes <= 0 {
		opts.MaxRequestBytes = 64 << 20
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	s := &Server{opts: opts, log: opts.Logger, metrics: NewMetrics(), health: health.NewServer(), models: map[string]*Model{}}
	if opts.Repository != "" {
		s.repo = &Repository{Dir: opts.Repository, Defaults: opts.Defaults}
	}
	s.updateHealth()
	return s
}

// Metrics returns the server's metrics registry.
func (s *Server) Metrics() *Metrics { return s.metrics }

// Load compiles a model and serves it under name, replacing (and draining) any model of that name.
// The old model keeps answering until the new one is ready, so a reload drops no request.
func (s *Server) Load(name, path string, cfg Config) error {
	s.loading.Lock()
	defer s.loading.Unlock()
	if s.closing.Load() {
		return ErrClosed
	}
	start := time.Now()
	m, err := LoadModel(name, path, cfg, s.metrics)
	if err != nil {
		s.log.Error("model load failed", "model", name, "path", path, "err", err)
		return err
	}
	s.mu.Lock()
	old := s.models[name]
	s.models[name] = m
	s.mu.Unlock()
	s.log.Info("model loaded", "model", name, "version", m.Version, "path", path,
		"max_batch_size", m.Config.MaxBatchSize, "instances", m.Config.Instances, "took", time.Since(start))
	if old != nil {
		old.Close()
	}
	s.updateHealth()
	return nil
}

// Unload stops serving a model after answering the requests it already accepted.
func (s *Server) Unload(name string) error {
	s.loading.Lock()
	defer s.loading.Unlock()
	s.mu.Lock()
	m := s.models[name]
	delete(s.models, name)
	s.mu.Unlock()
	if m == nil {
		return fmt.Errorf("serve: model %q: %w", name, ErrNotFound)
	}
	m.Close()
	m.stats.forget()
	s.log.Info("model unloaded", "model", name)
	s.updateHealth()
	return nil
}

// Model finds a loaded model; version "" means the one loaded.
func (s *Server) Model(name, version string) (*Model, error) {
	s.mu.RLock()
	m := s.models[name]
	s.mu.RUnlock()
	if m == nil {
		return nil, fmt.Errorf("serve: unknown model %q: %w", name, ErrNotFound)
	}
	if version != "" && version != m.Version {
		return nil, fmt.Errorf("serve: model %q has no version %q (loaded: %q): %w", name, version, m.Version, ErrNotFound)
	}
	return m, nil
}

// Models lists the loaded models sorted by name.
func (s *Server) Models() []*Model {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]*Model, 0, len(s.models))
	for _, m := range s.models {
		out = append(out, m)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Ready reports whether the server accepts inference: not shutting down.
func (s *Server) Ready() bool { return !s.closing.Load() }

func (s *Server) updateHealth() {
	st := healthpb.HealthCheckResponse_SERVING
	if !s.Ready() {
		st = healthpb.HealthCheckResponse_NOT_SERVING
	}
	s.health.SetServingStatus("", st)
	s.health.SetServingStatus("inference.GRPCInferenceService", st)
}

// Close stops accepting requests and drains every model: each accepted request is answered first.
func (s *Server) Close() {
	s.closing.Store(true)
	s.updateHealth()
	s.loading.Lock()
	defer s.loading.Unlock()
	for _, m := range s.Models() {
		m.Close()
	}
}

// GRPCServer returns a gRPC server with the inference and health services registered.
func (s *Server) GRPCServer(opts ...grpc.ServerOption) *grpc.Server {
	opts = append([]grpc.ServerOption{grpc.MaxRecvMsgSize(int(min(s.opts.MaxRequestBytes, 1<<31-1)))}, opts...)
	g := grpc.NewServer(opts...)
	oippb.RegisterGRPCInferenceServiceServer(g, &grpcService{s: s})
	healthpb.RegisterHealthServer(g, s.health)
	return g
}

// Run serves HTTP on httpLn and gRPC on grpcLn (either may be nil) until ctx ends, then shuts down
// gracefully: health turns NOT_SERVING, listeners close, in-flight requests and every queued request are
// answered, and only then does Run return.
func (s *Server) Run(ctx context.Context, httpLn, grpcLn net.Listener, drain time.Duration) error {
	errc := make(chan error, 2)
	hs := &http.Server{Handler: s.Handler(), ReadHeaderTimeout: 10 * time.Second}
	var gs *grpc.Server
	if httpLn != nil {
		go func() { errc <- hs.Serve(httpLn) }()
		s.log.Info("serving HTTP", "addr", httpLn.Addr().String())
	}
	if grpcLn != nil {
		gs = s.GRPCServer()
		go func() { errc <- gs.Serve(grpcLn) }()
		s.log.Info("serving gRPC", "addr", grpcLn.Addr().String())
	}
	var runErr error
	select {
	case <-ctx.Done():
	case runErr = <-errc:
	}
	s.log.Info("shutting down", "drain", drain)
	s.closing.Store(true)
	s.updateHealth()
	sctx, cancel := context.WithTimeout(context.Background(), drain)
	defer cancel()
	var wg sync.WaitGroup
	if httpLn != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := hs.Shutdown(sctx); err != nil {
				s.log.Error("HTTP shutdown", "err", err)
			}
		}()
	}
	if gs != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			done := make(chan struct{})
			go func() { gs.GracefulStop(); close(done) }()
			select {
			case <-done:
			case <-sctx.Done():
				gs.Stop()
			}
		}()
	}
	wg.Wait()
	s.Close()
	s.log.Info("stopped")
	if runErr != nil && !errors.Is(runErr, http.ErrServerClosed) && !errors.Is(runErr, grpc.ErrServerStopped) {
		return runErr
	}
	return nil
}
