package serve

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/hone-ml/hone/api"
	"github.com/hone-ml/hone/ir"
)

// Handler returns the HTTP API: the protocol's /v2 endpoints, Triton's config, stats and repository
// extensions, /predict and /metrics.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v2", s.serverMetadata)
	mux.HandleFunc("GET /v2/{$}", s.serverMetadata)
	mux.HandleFunc("GET /v2/health/live", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusOK) })
	mux.HandleFunc("GET /v2/health/ready", s.serverReady)
	for _, p := range []string{"/v2/models/{name}", "/v2/models/{name}/versions/{version}"} {
		mux.HandleFunc("GET "+p, s.modelMetadata)
		mux.HandleFunc("GET "+p+"/ready", s.modelReady)
		mux.HandleFunc("POST "+p+"/infer", s.infer)
		mux.HandleFunc("GET "+p+"/config", s.modelConfig)
		mux.HandleFunc("GET "+p+"/stats", s.modelStats)
		mux.HandleFunc("POST "+p+"/predict", s.predict)
	}
	mux.HandleFunc("GET /v2/models/stats", s.modelStats)
	mux.HandleFunc("POST /predict", s.predict)
	mux.HandleFunc("POST /v2/repository/index", s.repositoryIndex)
	mux.HandleFunc("POST /v2/repository/models/{name}/load", s.repositoryLoad)
	mux.HandleFunc("POST /v2/repository/models/{name}/unload", s.repositoryUnload)
	metrics := promhttp.HandlerFor(s.metrics.Registry, promhttp.HandlerOpts{})
	mux.HandleFunc("GET /metrics", func(w http.ResponseWriter, r *http.Request) {
		for _, m := range s.Models() {
			m.stats.setPending(m.batcher.Pending())
		}
		metrics.ServeHTTP(w, r)
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, fmt.Errorf("serve: no endpoint %s %s: %w", r.Method, r.URL.Path, ErrNotFound))
	})
	return s.logRequests(mux)
}

// logRequests logs failed requests and recovers from handler panics, so a bug answers 500 instead of
// killing the server.
func (s *Server) logRequests(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		start := time.Now()
		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					panic(p)
				}
				s.log.Error("handler panic", "method", r.Method, "path", r.URL.Path, "panic", fmt.Sprint(p))
				if !sw.wrote {
					writeError(sw, fmt.Errorf("serve: internal error"))
				}
			}
			if sw.status >= 400 {
				s.log.Warn("request failed", "method", r.Method, "path", r.URL.Path, "status", sw.status, "took", time.Since(start))
			}
		}()
		h.ServeHTTP(sw, r)
	})
}

type statusWriter struct {
	http.ResponseWriter
	status int
	wrote  bool
}

func (w *statusWriter) WriteHeader(code int) {
	if !w.wrote {
		w.status, w.wrote = code, true
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	w.wrote = true
	return w.ResponseWriter.Write(b)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"error":"serve: encoding the response failed"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(b)
}

func writeError(w http.ResponseWriter, err error) {
	status, _ := statusOf(err)
	writeJSON(w, status, api.Error{Error: err.Error()})
}

func (s *Server) serverMetadata(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, api.ServerMetadata{Name: ServerName, Version: ServerVersion, Extensions: Extensions})
}

func (s *Server) serverReady(w http.ResponseWriter, r *http.Request) {
	if !s.Ready() {
		writeError(w, fmt.Errorf("serve: %w", ErrClosed))
		return
	}
	w.WriteHeader(http.StatusOK)
}

func (s *Server) pathModel(r *http.Request) (*Model, error) {
	return s.Model(r.PathValue("name"), r.PathValue("version"))
}

func (s *Server) modelMetadata(w http.ResponseWriter, r *http.Request) {
	m, err := s.pathModel(r)
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, m.Metadata())
}

func (s *Server) modelReady(w http.ResponseWriter, r *http.Request) {
	m, err := s.pathModel(r)
	if err != nil {
		writeError(w, err)
		return
	}
	if !s.Ready() {
		writeError(w, fmt.Errorf("serve: model %q: %w", m.Name, ErrClosed))
		return
	}
	writeJSON(w, http.StatusOK, api.ModelReady{Name: m.Name, Ready: true})
}

// readBody reads a request body up to the size limit.
func (s *Server) readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	if r.ContentLength > s.opts.MaxRequestBytes {
		return nil, fmt.Errorf("serve: body of %d bytes exceeds the %d-byte limit: %w", r.ContentLength, s.opts.MaxRequestBytes, ErrTooLarge)
	}
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.opts.MaxRequestBytes))
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &mbe):
		return nil, fmt.Errorf("serve: body exceeds the %d-byte limit: %w", s.opts.MaxRequestBytes, ErrTooLarge)
	case err != nil:
		return nil, fmt.Errorf("%w: reading body: %v", api.ErrBadRequest, err)
	}
	return b, nil
}

// bodyPool recycles request buffers of the inference endpoint: binary tensors are used in place from the
// body, so at a few hundred KiB per image request a fresh buffer each time would be the server's main
// garbage. Buffers above maxPooledBody are left to the GC so one huge request does not stay resident.
var bodyPool sync.Pool

const maxPooledBody = 4 << 20

// readPooledBody reads a body of known length into a pooled buffer; release returns the buffer and must
// only be called once nothing refers to the body any more. Bodies of unknown length use readBody.
func (s *Server) readPooledBody(w http.ResponseWriter, r *http.Request) (body []byte, release func(), err error) {
	n := r.ContentLength
	if n < 0 || n > maxPooledBody {
		body, err = s.readBody(w, r)
		return body, func() {}, err
	}
	if n > s.opts.MaxRequestBytes {
		return nil, nil, fmt.Errorf("serve: body of %d bytes exceeds the %d-byte limit: %w", n, s.opts.MaxRequestBytes, ErrTooLarge)
	}
	bp, _ := bodyPool.Get().(*[]byte)
	if bp == nil || int64(cap(*bp)) < n {
		// Round up so that requests of nearly the same size share buffers; 8-byte alignment of the
		// allocation keeps binary float tensors usable in place.
		b := make([]byte, max(n, 4096))
		bp = &b
	}
	buf := (*bp)[:n]
	release = func() { bodyPool.Put(bp) }
	// The server stops the body at Content-Length, so a short read means the client sent less than it said.
	if _, err := io.ReadFull(r.Body, buf); err != nil {
		release()
		return nil, nil, fmt.Errorf("%w: reading body: %v", api.ErrBadRequest, err)
	}
	return buf, release, nil
}

func (s *Server) infer(w http.ResponseWriter, r *http.Request) {
	m, err := s.pathModel(r)
	if err != nil {
		writeError(w, err)
		return
	}
	if !s.Ready() {
		writeError(w, fmt.Errorf("serve: model %q: %w", m.Name, ErrClosed))
		return
	}
	if err := m.Admit(); err != nil {
		writeError(w, fmt.Errorf("serve: %w", err))
		return
	}
	body, release, err := s.readPooledBody(w, r)
	if err != nil {
		writeError(w, err)
		return
	}
	// Binary inputs alias the body. A request that timed out may still sit in a batch being executed, so
	// only a request that finished in any other way gives its buffer back.
	var inferErr error
	defer func() {
		if !errors.Is(inferErr, ErrTimeout) {
			release()
		}
	}()
	headerLen := int64(-1)
	if v := r.Header.Get(api.HeaderContentLength); v != "" {
		if headerLen, err = strconv.ParseInt(v, 10, 64); err != nil || headerLen < 0 {
			writeError(w, fmt.Errorf("%w: bad %s %q", api.ErrBadRequest, api.HeaderContentLength, v))
			return
		}
	}
	req, err := api.DecodeInferRequest(body, headerLen, s.maxElements())
	if err != nil {
		writeError(w, fmt.Errorf("serve: model %q: %w", m.Name, err))
		return
	}
	resp, st, err := s.runInfer(r, m, req)
	inferErr = err
	if err != nil {
		writeError(w, err)
		return
	}
	w.Header().Set(api.HeaderServerTiming, api.FormatServerTiming(st.Queue, st.Compute))
	out, hl, err := api.EncodeInferResponse(resp)
	if err != nil {
		writeError(w, fmt.Errorf("serve: model %q: encoding response: %w", m.Name, err))
		return
	}
	if hl >= 0 {
		w.Header().Set(api.HeaderContentLength, strconv.Itoa(hl))
		w.Header().Set("Content-Type", "application/octet-stream")
	} else {
		w.Header().Set("Content-Type", "application/json")
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(out)))
	w.Write(out)
}

// maxElements bounds a declared tensor: no element takes less than one byte of body.
func (s *Server) maxElements() int64 { return s.opts.MaxRequestBytes }

// timeoutParam reads Triton's per-request "timeout" parameter, in microseconds.
func timeoutParam(p api.Parameters) (time.Duration, error) {
	if _, ok := p["timeout"]; !ok {
		return 0, nil
	}
	us, ok := p.Int("timeout")
	if !ok || us < 0 {
		return 0, fmt.Errorf("%w: parameter timeout must be a non-negative integer (microseconds)", api.ErrBadRequest)
	}
	return time.Duration(min(us, int64(time.Duration(1<<62)/time.Microsecond))) * time.Microsecond, nil
}

func (s *Server) runInfer(r *http.Request, m *Model, req *api.InferRequest) (*api.InferResponse, BatchStats, error) {
	inputs := make(map[string]*ir.Tensor, len(req.Inputs))
	for i := range req.Inputs {
		t, err := toTensor(&req.Inputs[i], s.maxElements())
		if err != nil {
			return nil, BatchStats{}, fmt.Errorf("serve: model %q: %w", m.Name, err)
		}
		inputs[req.Inputs[i].Name] = t
	}
	timeout, err := timeoutParam(req.Parameters)
	if err != nil {
		return nil, BatchStats{}, fmt.Errorf("serve: model %q: %w", m.Name, err)
	}
	outs, err := m.selectOutputs(req.Outputs)
	if err != nil {
		return nil, BatchStats{}, err
	}
	res, st, err := m.Infer(r.Context(), inputs, timeout)
	if err != nil {
		return nil, BatchStats{}, fmt.Errorf("serve: %w", err)
	}
	binAll := req.Parameters.Bool(api.ParamBinaryOutput)
	resp := &api.InferResponse{ModelName: m.Name, ModelVersion: m.Version, ID: req.ID, Outputs: []api.ResponseOutput{}}
	for _, o := range outs {
		t := res[o.name]
		ro := api.ResponseOutput{Name: o.name, Datatype: oipType[t.DType], Shape: shape64(t.Shape)}
		var raw []byte
		var strs [][]byte
		if t.DType == ir.String {
			for _, s := range t.Strings {
				strs = append(strs, []byte(s))
			}
			raw = api.EncodeBytesTensor(strs)
		} else {
			raw = t.Bytes()
		}
		if binAll || o.binary {
			ro.Raw = raw
			if ro.Raw == nil {
				ro.Raw = []byte{}
			}
		} else if ro.Data, err = api.EncodeData(ro.Datatype, t.Bytes(), strs); err != nil {
			return nil, BatchStats{}, fmt.Errorf("serve: model %q: output %q: %w", m.Name, o.name, err)
		}
		resp.Outputs = append(resp.Outputs, ro)
	}
	return resp, st, nil
}

type wantOutput struct {
	name   string
	binary bool
}

// selectOutputs resolves the requested outputs (all, in model order, when none are named).
func (m *Model) selectOutputs(req []api.RequestOutput) ([]wantOutput, error) {
	if len(req) == 0 {
		out := make([]wantOutput, len(m.outputs))
		for i, vi := range m.outputs {
			out[i] = wantOutput{name: vi.Name}
		}
		return out, nil
	}
	var out []wantOutput
	for _, ro := range req {
		found := false
		for _, vi := range m.outputs {
			found = found || vi.Name == ro.Name
		}
		if !found {
			return nil, fmt.Errorf("serve: model %q: %w: no output %q", m.Name, api.ErrBadRequest, ro.Name)
		}
		out = append(out, wantOutput{name: ro.Name, binary: ro.Parameters.Bool(api.ParamBinaryData)})
	}
	return out, nil
}

func shape64(s []int) []int64 {
	out := make([]int64, len(s))
	for i, d := range s {
		out[i] = int64(d)
	}
	return out
}

// tritonConfig is the subset of Triton's model configuration that clients (perf_analyzer, tritonclient)
// read from GET /v2/models/{name}/config.
type tritonConfig struct {
	Name            string         `json:"name"`
	Platform        string         `json:"platform"`
	Backend         string         `json:"backend"`
	MaxBatchSize    int            `json:"max_batch_size"`
	Input           []tritonTensor `json:"input"`
	Output          []tritonTensor `json:"output"`
	DynamicBatching *struct {
		PreferredBatchSize         []int `json:"preferred_batch_size"`
		MaxQueueDelayMicroseconds  int64 `json:"max_queue_delay_microseconds"`
		DefaultQueuePolicyMaxQueue struct {
			MaxQueueSize               int   `json:"max_queue_size"`
			DefaultTimeoutMicroseconds int64 `json:"default_timeout_microseconds"`
		} `json:"default_queue_policy"`
	} `json:"dynamic_batching,omitempty"`
	InstanceGroup []struct {
		Count int    `json:"count"`
		Kind  string `json:"kind"`
	} `json:"instance_group"`
}

type tritonTensor struct {
	Name     string  `json:"name"`
	DataType string  `json:"data_type"`
	Dims     []int64 `json:"dims"`
}

func tritonTensors(md []api.TensorMetadata, batched bool) []tritonTensor {
	out := make([]tritonTensor, len(md))
	for i, t := range md {
		dims := t.Shape
		if batched && len(dims) > 0 {
			dims = dims[1:] // Triton's dims leave out the batch dimension when max_batch_size > 0
		}
		dt := "TYPE_" + strings.Replace(t.Datatype, "BYTES", "STRING", 1)
		out[i] = tritonTensor{Name: t.Name, DataType: dt, Dims: dims}
	}
	return out
}

func (s *Server) modelConfig(w http.ResponseWriter, r *http.Request) {
	m, err := s.pathModel(r)
	if err != nil {
		writeError(w, err)
		return
	}
	md := m.Metadata()
	c := tritonConfig{Name: m.Name, Platform: "onnxruntime_onnx", Backend: "hone",
		Input: tritonTensors(md.Inputs, m.Batching()), Output: tritonTensors(md.Outputs, m.Batching())}
	c.InstanceGroup = append(c.InstanceGroup, struct {
		Count int    `json:"count"`
		Kind  string `json:"kind"`
	}{m.Config.Instances, "KIND_CPU"})
	if m.Batching() {
		c.MaxBatchSize = m.Config.MaxBatchSize
		c.DynamicBatching = &struct {
			PreferredBatchSize         []int `json:"preferred_batch_size"`
			MaxQueueDelayMicroseconds  int64 `json:"max_queue_delay_microseconds"`
			DefaultQueuePolicyMaxQueue struct {
				MaxQueueSize               int   `json:"max_queue_size"`
				DefaultTimeoutMicroseconds int64 `json:"default_timeout_microseconds"`
			} `json:"default_queue_policy"`
		}{PreferredBatchSize: append([]int{}, m.Config.PreferredBatchSizes...),
			MaxQueueDelayMicroseconds: time.Duration(m.Config.MaxQueueDelay).Microseconds()}
		c.DynamicBatching.DefaultQueuePolicyMaxQueue.MaxQueueSize = m.Config.MaxQueueSize
		c.DynamicBatching.DefaultQueuePolicyMaxQueue.DefaultTimeoutMicroseconds = time.Duration(m.Config.Timeout).Microseconds()
	}
	writeJSON(w, http.StatusOK, c)
}

func (s *Server) modelStats(w http.ResponseWriter, r *http.Request) {
	var models []*Model
	if r.PathValue("name") == "" {
		models = s.Models()
	} else {
		m, err := s.pathModel(r)
		if err != nil {
			writeError(w, err)
			return
		}
		models = []*Model{m}
	}
	out := struct {
		ModelStats []modelStatistics `json:"model_stats"`
	}{ModelStats: []modelStatistics{}}
	for _, m := range models {
		out.ModelStats = append(out.ModelStats, m.stats.statistics(m.Name, m.Version))
	}
	writeJSON(w, http.StatusOK, out)
}
