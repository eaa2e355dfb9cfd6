//go:build ort

// Package ort runs ONNX models through ONNX Runtime (via github.com/yalue/onnxruntime_go), as
// the peer hone is benchmarked against and the oracle its tests compare with. It is only built
// with the "ort" tag and needs cgo and the ONNX Runtime shared library at run time.
package ort

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"sync"
	"unsafe"

	ortgo "github.com/yalue/onnxruntime_go"

	"github.com/hone-ml/hone/ir"
)

// LibEnv names the environment variable Init consults when given no library path.
const LibEnv = "HONE_ORT_LIB"

// defaultLib is where scripts/fetch-assets.sh puts the library, relative to the repository root.
var defaultLib = filepath.Join(".cache", "assets", "ort", "libonnxruntime.so.1")

var (
	initMu  sync.Mutex
	initLib string // library loaded by a successful Init
)

// Init loads the ONNX Runtime library and creates its process-wide environment. The library is
// libPath if set, else $HONE_ORT_LIB, else .cache/assets/ort/libonnxruntime.so.1 in the working
// directory or the nearest parent that has one (tests run in package directories). Calling Init
// again is a no-op, unless it names a different library, which is an error: ONNX Runtime keeps
// one environment per process. NewSession calls Init("") itself.
func Init(libPath string) error {
	initMu.Lock()
	defer initMu.Unlock()
	if libPath == "" {
		if initLib != "" {
			return nil // any loaded library will do when the caller names none
		}
		var err error
		if libPath, err = FindLibrary(); err != nil {
			return err
		}
	}
	if initLib != "" {
		if same(initLib, libPath) {
			return nil
		}
		return fmt.Errorf("ort: already initialised with %s, cannot switch to %s", initLib, libPath)
	}
	if _, err := os.Stat(libPath); err != nil {
		return fmt.Errorf("ort: library: %w", err)
	}
	ortgo.SetSharedLibraryPath(libPath)
	// Warnings would flood test output with ONNX Runtime's notes on unused initialisers.
	if err := ortgo.InitializeEnvironment(ortgo.WithLogLevelError()); err != nil {
		return fmt.Errorf("ort: loading %s: %w", libPath, err)
	}
	initLib = libPath
	return nil
}

func same(a, b string) bool {
	sa, errA := os.Stat(a)
	sb, errB := os.Stat(b)
	return errA == nil && errB == nil && os.SameFile(sa, sb)
}

// FindLibrary resolves the library path as Init does without an argument.
func FindLibrary() (string, error) {
	if p := os.Getenv(LibEnv); p != "" {
		return p, nil
	}
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("ort: %w", err)
	}
	for {
		p := filepath.Join(dir, defaultLib)
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("ort: no library: set %s or run scripts/fetch-assets.sh to create %s", LibEnv, defaultLib)
		}
		dir = parent
	}
}

// Version reports the loaded ONNX Runtime version ("" before Init).
func Version() string {
	initMu.Lock()
	defer initMu.Unlock()
	if initLib == "" {
		return ""
	}
	return ortgo.GetVersion()
}

// Options configure a session. ONNX Runtime always runs the graph sequentially with one
// inter-op thread, so that its timings compare with hone's single-stream executor, and its thread
// pools never spin-wait for work (see spinConfig).
type Options struct {
	// Threads is the number of intra-op threads; 0 lets ONNX Runtime choose (one per core).
	Threads int
	// Int8QDQ lets ONNX Runtime fuse QDQ groups with int8 (not uint8) activations into its integer kernels
	// (session.qdqisint8allowed). On x86 it leaves them unfused by default, dequantizing and running Conv or
	// MatMul in float32, which rounds differently from integer arithmetic wherever a result falls near a
	// quantization tie. Tests that compare hone's integer execution with ONNX Runtime's turn it on; benchmarks
	// leave ONNX Runtime's default, which on x86 is its faster path for S8S8 models (PP-OCRv4 det: 37.7 runs/s
	// unfused against 18.4 fused, one thread).
	Int8QDQ bool
}

// Info describes one model input or output. Dynamic dimensions are -1.
type Info struct {
	Name  string
	DType ir.DType
	Shape []int64
	// UnknownRank is set for an output the model declares without a shape: ONNX Runtime reports it with no
	// dimensions, as it does a scalar, and only the model itself tells the two apart.
	UnknownRank bool
}

func (i Info) String() string { return fmt.Sprintf("%s %s%v", i.Name, i.DType, i.Shape) }

// Session is a loaded model. Run may be called from several goroutines at once.
type Session struct {
	mu      sync.RWMutex // guards s against Close during Run
	s       *ortgo.DynamicAdvancedSession
	name    string
	inputs  []Info
	outputs []Info
}

// NewSession loads the ONNX model at modelPath, calling Init("") first if needed.
func NewSession(modelPath string, opts Options) (*Session, error) {
	return newSession(modelPath, opts, func() ([]byte, error) { return os.ReadFile(modelPath) },
		func(*ortgo.SessionOptions) ([]ortgo.InputOutputInfo, []ortgo.InputOutputInfo, error) {
			// Reading the signature builds a throwaway session; skipping graph optimisation
			// makes it cheaper.
			o, err := ortgo.NewSessionOptions()
			if err != nil {
				return nil, nil, err
			}
			defer o.Destroy()
			if err := o.SetGraphOptimizationLevel(ortgo.GraphOptimizationLevelDisableAll); err != nil {
				return nil, nil, err
			}
			return ortgo.GetInputOutputInfoWithOptions(modelPath, o)
		},
		func(in, out []string, o *ortgo.SessionOptions) (*ortgo.DynamicAdvancedSession, error) {
			return ortgo.NewDynamicAdvancedSession(modelPath, in, out, o)
		})
}

// NewSessionFromBytes loads a model held in memory; name is used in error messages.
func NewSessionFromBytes(name string, model []byte, opts Options) (*Session, error) {
	return newSession(name, opts, func() ([]byte, error) { return model, nil },
		func(*ortgo.SessionOptions) ([]ortgo.InputOutputInfo, []ortgo.InputOutputInfo, error) {
			return ortgo.GetInputOutputInfoWithONNXData(model)
		},
		func(in, out []string, o *ortgo.SessionOptions) (*ortgo.DynamicAdvancedSession, error) {
			return ortgo.NewDynamicAdvancedSessionWithONNXData(model, in, out, o)
		})
}

func newSession(name string, opts Options, model func() ([]byte, error),
	info func(*ortgo.SessionOptions) ([]ortgo.InputOutputInfo, []ortgo.InputOutputInfo, error),
	create func([]string, []string, *ortgo.SessionOptions) (*ortgo.DynamicAdvancedSession, error),
) (*Session, error) {
	if opts.Threads < 0 {
		return nil, fmt.Errorf("ort: %s: negative thread count %d", name, opts.Threads)
	}
	if err := Init(""); err != nil {
		return nil, err
	}
	so, err := ortgo.NewSessionOptions()
	if err != nil {
		return nil, fmt.Errorf("ort: %s: %w", name, err)
	}
	defer so.Destroy()
	if err := so.SetIntraOpNumThreads(opts.Threads); err != nil {
		return nil, fmt.Errorf("ort: %s: intra-op threads: %w", name, err)
	}
	if err := so.SetInterOpNumThreads(1); err != nil {
		return nil, fmt.Errorf("ort: %s: inter-op threads: %w", name, err)
	}
	if err := so.SetExecutionMode(ortgo.ExecutionModeSequential); err != nil {
		return nil, fmt.Errorf("ort: %s: execution mode: %w", name, err)
	}
	for _, kv := range spinConfig {
		if err := so.AddSessionConfigEntry(kv[0], kv[1]); err != nil {
			return nil, fmt.Errorf("ort: %s: config %s: %w", name, kv[0], err)
		}
	}
	if opts.Int8QDQ {
		if err := so.AddSessionConfigEntry("session.qdqisint8allowed", "1"); err != nil {
			return nil, fmt.Errorf("ort: %s: config session.qdqisint8allowed: %w", name, err)
		}
	}
	ins, outs, err := info(so)
	if err != nil {
		return nil, fmt.Errorf("ort: %s: %w", name, err)
	}
	s := &Session{name: name}
	var inNames, outNames []string
	for _, list := range []struct {
		src   []ortgo.InputOutputInfo
		dst   *[]Info
		names *[]string
		kind  string
	}{{ins, &s.inputs, &inNames, "input"}, {outs, &s.outputs, &outNames, "output"}} {
		for _, io := range list.src {
			if io.OrtValueType != ortgo.ONNXTypeTensor {
				return nil, fmt.Errorf("ort: %s: %s %q is a %s, only tensors are supported", name, list.kind, io.Name, io.OrtValueType)
			}
			dt := ir.DType(io.DataType) // both enumerate onnx.proto's TensorProto.DataType
			if !supported(dt) {
				return nil, fmt.Errorf("ort: %s: %s %q has unsupported element type %s", name, list.kind, io.Name, io.DataType)
			}
			*list.dst = append(*list.dst, Info{Name: io.Name, DType: dt, Shape: slices.Clone([]int64(io.Dimensions))})
			*list.names = append(*list.names, io.Name)
		}
	}
	if slices.ContainsFunc(s.outputs, func(i Info) bool { return len(i.Shape) == 0 }) {
		data, err := model()
		if err != nil {
			return nil, fmt.Errorf("ort: %s: %w", name, err)
		}
		shapeless, err := shapelessOutputs(data)
		if err != nil {
			return nil, fmt.Errorf("ort: %s: %w", name, err)
		}
		for i := range s.outputs {
			s.outputs[i].UnknownRank = len(s.outputs[i].Shape) == 0 && shapeless[s.outputs[i].Name]
		}
	}
	if s.s, err = create(inNames, outNames, so); err != nil {
		return nil, fmt.Errorf("ort: %s: %w", name, err)
	}
	return s, nil
}

// spinConfig turns off spin-waiting in ONNX Runtime's intra- and inter-op thread pools. By default its
// idle workers keep spinning for a while after each Run; when hone and ONNX Runtime are timed round-robin
// in one process (hone bench) those spinning threads take the cores hone's workers need, which makes hone
// look slower than it is. With spinning off, each side gets the machine alone during its own runs.
var spinConfig = [][2]string{
	{"session.intra_op.allow_spinning", "0"},
	{"session.inter_op.allow_spinning", "0"},
}

func supported(dt ir.DType) bool {
	switch dt {
	case ir.Float32, ir.Float16, ir.Float64, ir.Int8, ir.Uint8, ir.Int16, ir.Uint16,
		ir.Int32, ir.Uint32, ir.Int64, ir.Uint64, ir.Bool:
		return true
	}
	return false
}

// Inputs describes the model's inputs in declaration order.
func (s *Session) Inputs() []Info { return cloneInfo(s.inputs) }

// Outputs describes the model's outputs in declaration order.
func (s *Session) Outputs() []Info { return cloneInfo(s.outputs) }

func cloneInfo(in []Info) []Info {
	out := make([]Info, len(in))
	for i, v := range in {
		v.Shape = slices.Clone(v.Shape)
		out[i] = v
	}
	return out
}

// Close releases the session. Further Run calls fail.
func (s *Session) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.s == nil {
		return nil
	}
	err := s.s.Destroy()
	s.s = nil
	if err != nil {
		return fmt.Errorf("ort: %s: %w", s.name, err)
	}
	return nil
}

// ErrClosed is returned by Run after Close.
var ErrClosed = errors.New("ort: session closed")

// Run feeds one tensor per model input and returns every model output. ONNX Runtime allocates
// the outputs, so data-dependent shapes work. The inputs are read in place, not copied.
func (s *Session) Run(inputs map[string]*ir.Tensor) (map[string]*ir.Tensor, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.s == nil {
		return nil, ErrClosed
	}
	if err := s.checkInputs(inputs); err != nil {
		return nil, err
	}
	if len(s.inputs) == 0 {
		// onnxruntime_go indexes the first input unconditionally (v1.35: a panic, not an error).
		return nil, fmt.Errorf("ort: %s: the Go binding cannot run a model without inputs", s.name)
	}
	var owned []ortgo.Value
	defer func() {
		for _, v := range owned {
			// A failed run can leave a typed nil in an output slot, which Destroy would dereference.
			if v != nil && !reflect.ValueOf(v).IsNil() {
				v.Destroy()
			}
		}
	}()
	in := make([]ortgo.Value, len(s.inputs))
	for i, info := range s.inputs {
		v, err := toValue(inputs[info.Name])
		if err != nil {
			return nil, fmt.Errorf("ort: %s: input %q: %w", s.name, info.Name, err)
		}
		in[i] = v
		owned = append(owned, v)
	}
	out, err := s.outputBuffers(false)
	if err != nil {
		return nil, err
	}
	err = s.s.Run(in, out)
	owned = append(owned, out...) // ORT-allocated outputs now need destroying too
	if err != nil {
		// onnxruntime_go cannot wrap an ORT-allocated rank-0 result, and an output declared without a shape
		// may turn out to be one: run again with a scalar buffer for each such output. ORT rejects a buffer of
		// the wrong rank, so this cannot change a result, only rescue the run.
		if slices.ContainsFunc(s.outputs, func(o Info) bool { return o.UnknownRank }) {
			if retry, err2 := s.outputBuffers(true); err2 == nil {
				owned = append(owned, retry...)
				if s.s.Run(in, retry) == nil {
					out, err = retry, nil
				}
			}
		}
	}
	if err != nil {
		return nil, fmt.Errorf("ort: %s: run: %w", s.name, err)
	}
	res := make(map[string]*ir.Tensor, len(out))
	for i, v := range out {
		t, err := fromValue(v, s.outputs[i].DType)
		if err != nil {
			return nil, fmt.Errorf("ort: %s: output %q: %w", s.name, s.outputs[i].Name, err)
		}
		res[s.outputs[i].Name] = t
	}
	return res, nil
}

// outputBuffers returns the buffers a run writes its outputs to: nil where ONNX Runtime allocates. onnxruntime_go
// converts ORT-allocated results through paths that reject rank-0 shapes and copy one byte per element for 16-bit
// floats, so those outputs get buffers from us, which needs their shape up front. With scalarShapeless, outputs
// declared without a shape get scalar buffers too.
func (s *Session) outputBuffers(scalarShapeless bool) ([]ortgo.Value, error) {
	out := make([]ortgo.Value, len(s.outputs))
	for i, info := range s.outputs {
		var v ortgo.Value
		var err error
		switch {
		case info.UnknownRank && scalarShapeless:
			v, err = scalarValue(ir.New(info.DType))
		case (len(info.Shape) > 0 || info.UnknownRank) && info.DType != ir.Float16:
			continue
		case slices.Contains(info.Shape, -1) || info.UnknownRank:
			err = fmt.Errorf("%s with a dynamic shape %v is not supported by onnxruntime_go", info.DType, info.Shape)
		default:
			v, err = emptyValue(info)
		}
		if err != nil {
			for _, o := range out {
				if o != nil {
					o.Destroy()
				}
			}
			return nil, fmt.Errorf("ort: %s: output %q: %w", s.name, info.Name, err)
		}
		out[i] = v
	}
	return out, nil
}

// checkInputs reports missing, unknown or mistyped inputs before ONNX Runtime sees them, with
// messages that name the input.
func (s *Session) checkInputs(inputs map[string]*ir.Tensor) error {
	known := map[string]bool{}
	for _, info := range s.inputs {
		known[info.Name] = true
		t := inputs[info.Name]
		if t == nil {
			return fmt.Errorf("ort: %s: missing input %q (%s)", s.name, info.Name, info)
		}
		if t.DType != info.DType {
			return fmt.Errorf("ort: %s: input %q is %s, model wants %s", s.name, info.Name, t, info.DType)
		}
		if len(t.Shape) != len(info.Shape) {
			return fmt.Errorf("ort: %s: input %q has shape %v, model wants rank %d %v", s.name, info.Name, t.Shape, len(info.Shape), info.Shape)
		}
		for d, want := range info.Shape {
			if want >= 0 && int64(t.Shape[d]) != want {
				return fmt.Errorf("ort: %s: input %q has shape %v, model wants %v", s.name, info.Name, t.Shape, info.Shape)
			}
		}
		if n := t.Len(); n < 0 || len(t.Bytes()) != n*t.DType.Size() {
			return fmt.Errorf("ort: %s: input %q: %s holds %d bytes", s.name, info.Name, t, len(t.Bytes()))
		}
	}
	var unknown []string
	for name := range inputs {
		if !known[name] {
			unknown = append(unknown, name)
		}
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		return fmt.Errorf("ort: %s: unknown inputs %q (model inputs: %v)", s.name, unknown, s.inputs)
	}
	return nil
}

func ortShape(shape []int) ortgo.Shape {
	s := make(ortgo.Shape, len(shape))
	for i, d := range shape {
		s[i] = int64(d)
	}
	return s
}

// toValue wraps t's storage for ONNX Runtime without copying.
func toValue(t *ir.Tensor) (ortgo.Value, error) {
	if t.Rank() == 0 {
		return scalarValue(t)
	}
	data := t.Bytes()
	if len(data) == 0 {
		// ORT accepts an empty tensor, but onnxruntime_go insists on a non-empty buffer.
		data = make([]byte, 1)
	}
	return ortgo.NewCustomDataTensor(ortShape(t.Shape), data, ortgo.TensorElementDataType(t.DType))
}

// scalarValue builds a rank-0 value; onnxruntime_go only offers these through typed scalars.
func scalarValue(t *ir.Tensor) (ortgo.Value, error) {
	switch t.DType {
	case ir.Float32:
		return ortgo.NewScalar(t.F32()[0])
	case ir.Float64:
		return ortgo.NewScalar(t.F64()[0])
	case ir.Int8:
		return ortgo.NewScalar(t.I8()[0])
	case ir.Uint8:
		return ortgo.NewScalar(t.U8()[0])
	case ir.Int16:
		return ortgo.NewScalar(t.I16()[0])
	case ir.Uint16:
		return ortgo.NewScalar(t.U16()[0])
	case ir.Int32:
		return ortgo.NewScalar(t.I32()[0])
	case ir.Uint32:
		return ortgo.NewScalar(t.U32()[0])
	case ir.Int64:
		return ortgo.NewScalar(t.I64()[0])
	case ir.Uint64:
		return ortgo.NewScalar(t.U64()[0])
	case ir.Bool:
		return ortgo.NewScalar(t.BoolData()[0])
	}
	return nil, fmt.Errorf("rank-0 %s tensors are not supported by onnxruntime_go", t.DType)
}

// emptyValue allocates an output buffer of a fully static shape.
func emptyValue(info Info) (ortgo.Value, error) {
	if len(info.Shape) == 0 {
		return scalarValue(ir.New(info.DType))
	}
	shape := make([]int, len(info.Shape))
	for i, d := range info.Shape {
		shape[i] = int(d)
	}
	t := ir.New(info.DType, shape...)
	return toValue(t)
}

// fromValue copies an ORT result into a new ir tensor.
func fromValue(v ortgo.Value, want ir.DType) (*ir.Tensor, error) {
	switch x := v.(type) {
	case *ortgo.CustomDataTensor:
		return copyOut(want, x.GetShape(), x.GetData())
	case *ortgo.Tensor[float32]:
		return copyTyped(want, x.GetShape(), x.GetData())
	case *ortgo.Tensor[float64]:
		return copyTyped(want, x.GetShape(), x.GetData())
	case *ortgo.Tensor[int8]:
		return copyTyped(want, x.GetShape(), x.GetData())
	case *ortgo.Tensor[uint8]:
		return copyTyped(want, x.GetShape(), x.GetData())
	case *ortgo.Tensor[int16]:
		return copyTyped(want, x.GetShape(), x.GetData())
	case *ortgo.Tensor[uint16]:
		return copyTyped(want, x.GetShape(), x.GetData())
	case *ortgo.Tensor[int32]:
		return copyTyped(want, x.GetShape(), x.GetData())
	case *ortgo.Tensor[uint32]:
		return copyTyped(want, x.GetShape(), x.GetData())
	case *ortgo.Tensor[int64]:
		return copyTyped(want, x.GetShape(), x.GetData())
	case *ortgo.Tensor[uint64]:
		return copyTyped(want, x.GetShape(), x.GetData())
	case *ortgo.Tensor[bool]:
		return copyTyped(want, x.GetShape(), x.GetData())
	case *ortgo.Scalar[float32]:
		return copyTyped(want, nil, []float32{x.GetData()})
	case *ortgo.Scalar[float64]:
		return copyTyped(want, nil, []float64{x.GetData()})
	case *ortgo.Scalar[int8]:
		return copyTyped(want, nil, []int8{x.GetData()})
	case *ortgo.Scalar[uint8]:
		return copyTyped(want, nil, []uint8{x.GetData()})
	case *ortgo.Scalar[int16]:
		return copyTyped(want, nil, []int16{x.GetData()})
	case *ortgo.Scalar[uint16]:
		return copyTyped(want, nil, []uint16{x.GetData()})
	case *ortgo.Scalar[int32]:
		return copyTyped(want, nil, []int32{x.GetData()})
	case *ortgo.Scalar[uint32]:
		return copyTyped(want, nil, []uint32{x.GetData()})
	case *ortgo.Scalar[int64]:
		return copyTyped(want, nil, []int64{x.GetData()})
	case *ortgo.Scalar[uint64]:
		return copyTyped(want, nil, []uint64{x.GetData()})
	case *ortgo.Scalar[bool]:
		return copyTyped(want, nil, []bool{x.GetData()})
	}
	return nil, fmt.Errorf("unsupported result value %T", v)
}

func copyTyped[T any](dt ir.DType, shape ortgo.Shape, data []T) (*ir.Tensor, error) {
	var z T
	b := unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(data))), len(data)*int(unsafe.Sizeof(z)))
	if int(unsafe.Sizeof(z)) != dt.Size() {
		return nil, fmt.Errorf("result has %d-byte elements, %s needs %d", unsafe.Sizeof(z), dt, dt.Size())
	}
	return copyOut(dt, shape, b)
}

func copyOut(dt ir.DType, shape ortgo.Shape, data []byte) (*ir.Tensor, error) {
	dims := make([]int, len(shape))
	for i, d := range shape {
		dims[i] = int(d)
	}
	t := ir.New(dt, dims...)
	need := t.NumBytes()
	if len(data) < need {
		return nil, fmt.Errorf("result %v holds %d bytes, needs %d", t, len(data), need)
	}
	copy(t.Bytes(), data[:need])
	return t, nil
}
