package serve

import (
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	goruntime "runtime"
	"strings"
	"time"

	"github.com/hone-ml/hone/api"
	"github.com/hone-ml/hone/ir"
	"github.com/hone-ml/hone/onnx"
	"github.com/hone-ml/hone/runtime"
)

// oipType maps hone dtypes to the protocol's datatype names.
var oipType = map[ir.DType]string{
	ir.Bool: "BOOL", ir.Uint8: "UINT8", ir.Uint16: "UINT16", ir.Uint32: "UINT32", ir.Uint64: "UINT64",
	ir.Int8: "INT8", ir.Int16: "INT16", ir.Int32: "INT32", ir.Int64: "INT64",
	ir.Float16: "FP16", ir.BFloat16: "BF16", ir.Float32: "FP32", ir.Float64: "FP64", ir.String: "BYTES",
}

// irType is oipType's inverse.
var irType = func() map[string]ir.DType {
	m := map[string]ir.DType{}
	for k, v := range oipType {
		m[v] = k
	}
	return m
}()

// Platform is what model metadata reports: hone runs ONNX models.
const Platform = "onnx_onnxv1"

// Model is one loaded model: compiled plans (one per instance) behind a dynamic batcher.
type Model struct {
	Name    string
	Version string
	Path    string
	Config  Config
	Loaded  time.Time

	inputs  []*ir.ValueInfo
	outputs []*ir.ValueInfo
	plans   []*runtime.Plan
	batcher *Batcher
	stats   *modelStats
	labels  []string

	stamp    string // repository file stamp the model was loaded from
	fromRepo bool   // loaded from the repository, so polling may unload it
}

// LoadModel reads and compiles an ONNX model and starts its batcher. A max_batch_size above 1 needs every
// input and output to have a variable first dimension.
func LoadModel(name, path string, cfg Config, metrics *Metrics) (*Model, error) {
	if err := cfg.validate(); err != nil {
		return nil, fmt.Errorf("serve: model %q: %w", name, err)
	}
	cfg = cfg.withDefaults()
	m, err := onnx.Load(path)
	if err != nil {
		return nil, fmt.Errorf("serve: model %q: %w", name, err)
	}
	threads := cfg.Threads
	if threads <= 0 {
		threads = max(1, goruntime.GOMAXPROCS(0)/cfg.Instances)
	}
	mod := &Model{Name: name, Version: cfg.Version, Path: path, Config: cfg, Loaded: time.Now()}
	for i := 0; i < cfg.Instances; i++ {
		p, err := runtime.Compile(m, runtime.Options{Threads: threads})
		if err != nil {
			return nil, fmt.Errorf("serve: model %q: %w", name, err)
		}
		mod.plans = append(mod.plans, p)
	}
	mod.inputs = mod.plans[0].Inputs()
	mod.outputs = mod.plans[0].Outputs()
	for _, vi := range append(append([]*ir.ValueInfo(nil), mod.inputs...), mod.outputs...) {
		if _, ok := oipType[vi.Type.DType]; !ok && vi.Type.DType != ir.Undefined {
			return nil, fmt.Errorf("serve: model %q: tensor %q has dtype %s, which the protocol cannot carry", name, vi.Name, vi.Type.DType)
		}
	}
	if cfg.MaxBatchSize > 1 {
		if err := mod.checkBatchable(); err != nil {
			return nil, fmt.Errorf("serve: model %q: max_batch_size %d: %w", name, cfg.MaxBatchSize, err)
		}
	}
	if p := cfg.Predict; p != nil {
		mod.labels = p.Labels
		if p.LabelsFile != "" {
			lf := p.LabelsFile
			if !filepath.IsAbs(lf) {
				lf = filepath.Join(filepath.Dir(path), lf)
			}
			if mod.labels, err = readLabels(lf); err != nil {
				return nil, fmt.Errorf("serve: model %q: %w", name, err)
			}
		}
	}
	mod.stats = newModelStats(metrics, name, mod.Version)
	mod.batcher = NewBatcher(BatchConfig{
		MaxBatchSize:  cfg.MaxBatchSize,
		MaxQueueDelay: time.Duration(cfg.MaxQueueDelay),
		Preferred:     cfg.PreferredBatchSizes,
		MaxQueueSize:  cfg.MaxQueueSize,
		Instances:     cfg.Instances,
	}, mod.exec, mod.stats.observeBatch)
	return mod, nil
}

// Batchable reports whether every input and output has a variable first dimension, which dynamic
// batching needs.
func (m *Model) checkBatchable() error {
	for _, vi := range append(append([]*ir.ValueInfo(nil), m.inputs...), m.outputs...) {
		if !vi.Type.HasShape || len(vi.Type.Shape) == 0 {
			if vi.Type.HasShape {
				return fmt.Errorf("tensor %q is a scalar", vi.Name)
			}
			continue // unknown rank: checked per batch
		}
		if vi.Type.Shape[0].Known() {
			return fmt.Errorf("tensor %q has a fixed first dimension (%s)", vi.Name, vi.Type)
		}
	}
	return nil
}

func (m *Model) exec(instance int, inputs []*ir.Tensor) ([]*ir.Tensor, error) {
	return m.plans[instance].RunOrdered(inputs)
}

// Close stops the model's batcher after answering everything it accepted.
func (m *Model) Close() { m.batcher.Close() }

// Batching reports whether the model batches requests dynamically.
func (m *Model) Batching() bool { return m.Config.MaxBatchSize > 1 }

// Metadata describes the model as the protocol does; a variable dimension is -1.
func (m *Model) Metadata() api.ModelMetadata {
	return api.ModelMetadata{
		Name:     m.Name,
		Versions: []string{m.Version},
		Platform: Platform,
		Inputs:   tensorMeta(m.inputs),
		Outputs:  tensorMeta(m.outputs),
	}
}

func tensorMeta(vis []*ir.ValueInfo) []api.TensorMetadata {
	out := make([]api.TensorMetadata, len(vis))
	for i, vi := range vis {
		shape := []int64{}
		for _, d := range vi.Type.Shape {
			shape = append(shape, d.Size) // unknown dims are already -1
		}
		if !vi.Type.HasShape {
			shape = []int64{-1}
		}
		out[i] = api.TensorMetadata{Name: vi.Name, Datatype: oipType[vi.Type.DType], Shape: shape}
	}
	return out
}

// Infer runs one request: inputs by name, checked against the model's declared types. timeout, when
// positive and below the model's configured timeout, shortens it.
func (m *Model) Infer(ctx context.Context, inputs map[string]*ir.Tensor, timeout time.Duration) (map[string]*ir.Tensor, BatchStats, error) {
	start := time.Now()
	out, st, err := m.infer(ctx, inputs, timeout)
	m.stats.observeRequest(err, time.Since(start), st)
	return out, st, err
}

// Admit refuses a request at once, before its body is read, when the model's queue is full; the refusal
// counts as a failed request in the statistics, as a refusal after decoding would.
func (m *Model) Admit() error {
	if err := m.batcher.Admit(); err != nil {
		err = fmt.Errorf("model %q: %w", m.Name, err)
		m.stats.observeRequest(err, 0, BatchStats{})
		return err
	}
	return nil
}

func (m *Model) infer(ctx context.Context, inputs map[string]*ir.Tensor, timeout time.Duration) (map[string]*ir.Tensor, BatchStats, error) {
	ordered := make([]*ir.Tensor, len(m.inputs))
	for i, vi := range m.inputs {
		t, ok := inputs[vi.Name]
		if !ok {
			return nil, BatchStats{}, fmt.Errorf("%w: model %q needs input %q (%s)", api.ErrBadRequest, m.Name, vi.Name, vi.Type)
		}
		if err := checkType(vi, t); err != nil {
			return nil, BatchStats{}, fmt.Errorf("%w: model %q: %v", api.ErrBadRequest, m.Name, err)
		}
		ordered[i] = t
	}
	if len(inputs) != len(m.inputs) {
		for name := range inputs {
			if !m.hasInput(name) {
				return nil, BatchStats{}, fmt.Errorf("%w: model %q has no input %q", api.ErrBadRequest, m.Name, name)
			}
		}
	}
	limit := time.Duration(m.Config.Timeout)
	if timeout > 0 && timeout < limit {
		limit = timeout
	}
	ctx, cancel := context.WithTimeoutCause(ctx, limit, fmt.Errorf("request timeout %v passed", limit))
	defer cancel()
	out, st, err := m.batcher.Submit(ctx, ordered)
	if err != nil {
		return nil, st, fmt.Errorf("model %q: %w", m.Name, err)
	}
	res := make(map[string]*ir.Tensor, len(out))
	for i, vi := range m.outputs {
		res[vi.Name] = out[i]
	}
	return res, st, nil
}

func (m *Model) hasInput(name string) bool {
	for _, vi := range m.inputs {
		if vi.Name == name {
			return true
		}
	}
	return false
}

// checkType compares a request tensor with the declared input: dtype, rank and every known dimension.
func checkType(vi *ir.ValueInfo, t *ir.Tensor) error {
	if vi.Type.DType != ir.Undefined && t.DType != vi.Type.DType {
		return fmt.Errorf("input %q is %s, the model wants %s", vi.Name, oipType[t.DType], oipType[vi.Type.DType])
	}
	if !vi.Type.HasShape {
		return nil
	}
	if len(vi.Type.Shape) != t.Rank() {
		return fmt.Errorf("input %q has shape %v, the model wants %s", vi.Name, t.Shape, vi.Type)
	}
	for i, d := range vi.Type.Shape {
		if d.Known() && int64(t.Shape[i]) != d.Size {
			return fmt.Errorf("input %q has shape %v, the model wants %s", vi.Name, t.Shape, vi.Type)
		}
	}
	return nil
}

// toTensor converts a decoded request input into a hone tensor.
func toTensor(in *api.RequestInput, maxElements int64) (*ir.Tensor, error) {
	dt, ok := irType[in.Datatype]
	if !ok {
		return nil, fmt.Errorf("%w: input %q: unknown datatype %q", api.ErrBadRequest, in.Name, in.Datatype)
	}
	data, strs, err := in.Tensor(maxElements)
	if err != nil {
		return nil, err
	}
	shape := make([]int, len(in.Shape))
	for i, d := range in.Shape {
		if d > math.MaxInt32 {
			return nil, fmt.Errorf("%w: input %q: dimension %d too large", api.ErrBadRequest, in.Name, d)
		}
		shape[i] = int(d)
	}
	if dt == ir.String {
		t := ir.New(ir.String, shape...)
		for i, s := range strs {
			t.Strings[i] = string(s)
		}
		return t, nil
	}
	t, err := ir.FromBytes(dt, shape, data)
	if err != nil {
		return nil, fmt.Errorf("%w: input %q: %v", api.ErrBadRequest, in.Name, err)
	}
	return t, nil
}

func readLabels(path string) ([]string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, l := range splitLines(string(b)) {
		out = append(out, l)
	}
	return out, nil
}

func splitLines(s string) []string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimRight(l, "\r"); l != "" {
			out = append(out, l)
		}
	}
	return out
}
