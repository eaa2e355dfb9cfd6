package quant

import (
	"errors"
	"fmt"
	"math"
	goruntime "runtime"
	"slices"

	"github.com/hone-ml/hone/ir"
	"github.com/hone-ml/hone/kernels"
	"github.com/hone-ml/hone/runtime"
)

// WeightRounding names how Static rounds Conv, Gemm and MatMul weights onto their int8 grid.
type WeightRounding string

// Weight roundings. RoundNearest rounds each weight to its nearest grid point; RoundGPTQ chooses the roundings
// of a layer together, from the Hessian of its inputs on the calibration data (GPTQ).
const (
	RoundNearest WeightRounding = "nearest"
	RoundGPTQ    WeightRounding = "gptq"
)

// ParseWeightRounding parses a --weight-rounding value; "" is Static's default, RoundGPTQ (see
// StaticConfig.WeightRounding).
func ParseWeightRounding(s string) (WeightRounding, error) {
	switch r := WeightRounding(s); r {
	case RoundNearest, RoundGPTQ, "":
		return r, nil
	}
	return "", fmt.Errorf("quant: unknown weight rounding %q (want nearest or gptq)", s)
}

// ErrNotPositiveDefinite is returned by GPTQ when the dampened Hessian has no Cholesky factor.
var ErrNotPositiveDefinite = errors.New("Hessian is not positive definite after dampening")

// Hessian accumulates H = Σ x·xᵀ over a layer's input vectors x of length K, streaming: its memory is the K×K sum
// (float64) and a K×K float32 scratch, however many vectors pass. GPTQ's H is 2·X·Xᵀ/n; the factor does not change
// the rounding (the dampening is relative to H's diagonal), so the plain sum is kept.
type Hessian struct {
	K   int
	N   int64     // vectors added
	sum []float64 // K×K, row-major (symmetric when filled by Add)
	tmp []float32 // K×K scratch: one chunk's XᵀX
}

// parallel spreads quant's offline work (GPTQ's moment sums and factorizations), which runs outside any runtime
// plan and its pool, over GOMAXPROCS goroutines.
func parallel(n int, fn func(i int)) { kernels.GoRunner(goruntime.GOMAXPROCS(0)).Run(n, fn) }

// NewHessian returns an empty accumulator for vectors of length k.
func NewHessian(k int) *Hessian {
	return &Hessian{K: k, sum: make([]float64, k*k)}
}

// hessianChunk is how many vectors one float32 XᵀX sums before it is added to the float64 sum: short enough that
// float32 accumulation loses nothing that matters (relative error ≈ 1e-7·√256), long enough that the K² addition is
// small next to the product's K²·chunk multiply-adds.
const hessianChunk = 256

// Add adds the vectors in x, consecutive rows of K values (len(x) a multiple of K).
func (h *Hessian) Add(x []float32) { h.AddPair(x, x) }

// AddPair adds x·yᵀ for the vector pairs of x and y, consecutive rows of K values each (the same count): the
// cross moments Σ x·x̂ᵀ of a layer's float and quantized inputs. Add is AddPair(x, x).
func (h *Hessian) AddPair(x, y []float32) {
	k := h.K
	if k == 0 || len(x) < k || len(y) < len(x) {
		return
	}
	if h.tmp == nil {
		h.tmp = make([]float32, k*k)
	}
	rows := len(x) / k
	for r0 := 0; r0 < rows; r0 += hessianChunk {
		n := min(hessianChunk, rows-r0)
		// tmp = Xᵀ·Y for the chunk's n×K rows.
		kernels.Sgemm(parallel, true, false, k, k, n, 1, x[r0*k:], k, y[r0*k:], k, 0, h.tmp, k)
		for i, v := range h.tmp {
			h.sum[i] += float64(v)
		}
	}
	h.N += int64(rows)
}

// AddColumns adds the n vectors that are the columns of x, K rows of n values (an NCHW plane stack read as
// [C, H·W], Gemm's transposed A).
func (h *Hessian) AddColumns(x []float32, n int) { h.AddColumnPairs(x, x, n) }

// AddColumnPairs is AddPair for vectors stored as the columns of x and y (K rows of n values each).
func (h *Hessian) AddColumnPairs(x, y []float32, n int) {
	k := h.K
	if k == 0 || n == 0 || len(x) < k*n || len(y) < k*n {
		return
	}
	if h.tmp == nil {
		h.tmp = make([]float32, k*k)
	}
	for c0 := 0; c0 < n; c0 += hessianChunk {
		c := min(hessianChunk, n-c0)
		// tmp = X[:, c0:c0+c]·Y[:, c0:c0+c]ᵀ.
		kernels.Sgemm(parallel, false, true, k, k, c, 1, x[c0:], n, y[c0:], n, 0, h.tmp, k)
		for i, v := range h.tmp {
			h.sum[i] += float64(v)
		}
	}
	h.N += int64(n)
}

// Matrix returns the accumulated K×K sum (not a copy).
func (h *Hessian) Matrix() []float64 { return h.sum }

// release drops the scratch once accumulation is over.
func (h *Hessian) release() { h.tmp = nil }

// GPTQConfig configures GPTQ. Zero values take the paper's defaults.
type GPTQConfig struct {
	QMin, QMax int     // the integer grid, e.g. −127..127 for hone's symmetric int8, −8..7 for int4
	Damp       float64 // dampening, a fraction of H's mean diagonal; default 0.01
	Block      int     // columns per lazy batch; default 128
}

// GPTQ rounds the rows×K weight matrix w (row-major; rows are output channels, columns the inputs they read) to
// integers on the grid [QMin, QMax] with the fixed per-row scales, as Frantar et al., "GPTQ: Accurate
// Post-Training Quantization for Generative Pre-trained Transformers" (2022), Algorithm 1, built on Optimal Brain
// Quantization (Frantar & Alistarh 2022): columns are quantized left to right, and each column's rounding error,
// weighted by the inverse Hessian h (K×K, Σ x·xᵀ over the layer's inputs), is propagated to the columns not yet
// quantized, which minimises ‖W·X − Ŵ·X‖² greedily. As in the paper: inputs that are never nonzero (H_ii = 0) get
// H_ii = 1 and a zero weight column; λ = Damp·mean(diag H) is added to the diagonal; the updates use the upper
// Cholesky factor U of H⁻¹ (H⁻¹ = UᵀU), whose row q holds the OBQ update of column q scaled by 1/√[H_q⁻¹]_qq; and
// columns are processed in blocks whose updates to later columns are applied once per block (lazy batching). The
// math is float64. The result is row-major rows×K; w and h are not modified.
func GPTQ(w []float64, rows, k int, h []float64, scales []float64, cfg GPTQConfig) ([]int32, error) {
	if rows <= 0 || k <= 0 || len(w) != rows*k || len(h) != k*k || len(scales) != rows {
		return nil, fmt.Errorf("gptq: %d weights, %d Hessian entries and %d scales do not fit %d rows × %d columns",
			len(w), len(h), len(scales), rows, k)
	}
	if cfg.QMin >= cfg.QMax {
		return nil, fmt.Errorf("gptq: empty grid [%d, %d]", cfg.QMin, cfg.QMax)
	}
	if cfg.Damp == 0 {
		cfg.Damp = 0.01
	}
	if cfg.Block <= 0 {
		cfg.Block = 128
	}
	f, err := newGPTQFactor(h, k, cfg.Damp)
	if err != nil {
		return nil, err
	}
	return f.round(w, rows, scales, cfg)
}

// gptqFactor is the part of GPTQ that depends on the Hessian alone, shared by every weight matrix rounded against
// it: the inputs that are never nonzero, the dampening λ, and the upper Cholesky factor U of (H + λI)⁻¹ (dead
// inputs' diagonal set to 1).
type gptqFactor struct {
	k      int
	dead   []bool
	lambda float64
	u      []float64
}

func newGPTQFactor(h []float64, k int, damp float64) (*gptqFactor, error) {
	for _, v := range h {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return nil, errors.New("gptq: Hessian holds NaN or Inf")
		}
	}
	H := slices.Clone(h)
	f := &gptqFactor{k: k, dead: make([]bool, k)}
	var mean float64
	for i := 0; i < k; i++ {
		d := H[i*k+i]
		if math.IsNaN(d) || math.IsInf(d, 0) || d < 0 {
			return nil, fmt.Errorf("gptq: Hessian diagonal entry %d is %g", i, d)
		}
		if d == 0 {
			H[i*k+i], f.dead[i] = 1, true
		}
		mean += H[i*k+i]
	}
	f.lambda = damp * mean / float64(k)
	for i := 0; i < k; i++ {
		H[i*k+i] += f.lambda
	}
	var err error
	if f.u, err = upperCholeskyOfInverse(H, k); err != nil {
		return nil, fmt.Errorf("gptq: %w", err)
	}
	return f, nil
}

// round is GPTQ's column loop for the rows×K weights w with the factor's Hessian.
func (f *gptqFactor) round(w []float64, rows int, scales []float64, cfg GPTQConfig) ([]int32, error) {
	for _, v := range w {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return nil, errors.New("gptq: weights hold NaN or Inf")
		}
	}
	for _, v := range scales {
		if !(v >= 0) || math.IsInf(v, 0) {
			return nil, fmt.Errorf("gptq: scale %g is not a finite non-negative number", v)
		}
	}
	k, U := f.k, f.u
	W := slices.Clone(w)
	for i, d := range f.dead {
		if d {
			// A dead input: its column multiplies only zeros, so any value is exact; 0 keeps it out of the
			// error propagation.
			for r := 0; r < rows; r++ {
				W[r*k+i] = 0
			}
		}
	}
	Q := make([]int32, rows*k)
	B := cfg.Block
	E := make([]float64, rows*B) // the block's scaled errors, row-major rows×B
	for i0 := 0; i0 < k; i0 += B {
		i1 := min(i0+B, k)
		for r := 0; r < rows; r++ {
			wr, qr, er, s := W[r*k:(r+1)*k], Q[r*k:(r+1)*k], E[r*B:(r+1)*B], scales[r]
			for j := i0; j < i1; j++ {
				q := roundToGrid(wr[j], s, cfg.QMin, cfg.QMax)
				qr[j] = q
				e := (wr[j] - float64(q)*s) / U[j*k+j]
				er[j-i0] = e
				axpy(-e, U[j*k+j+1:j*k+i1], wr[j+1:i1])
			}
			// Lazy batch update: the columns after the block take the block's errors at once,
			// W[:, i1:] −= E·U[i0:i1, i1:].
			for j := i0; j < i1; j++ {
				e := er[j-i0]
				if e == 0 {
					continue
				}
				axpy(-e, U[j*k+i1:(j+1)*k], wr[i1:])
			}
		}
	}
	return Q, nil
}

// roundToGrid is round-half-to-even of w/s, clamped to [qmin, qmax] (0 for a zero scale), as Quantize rounds.
func roundToGrid(w, s float64, qmin, qmax int) int32 {
	if s == 0 {
		return int32(max(qmin, min(qmax, 0)))
	}
	q := math.RoundToEven(w / s)
	return int32(max(float64(qmin), min(float64(qmax), q)))
}

// upperCholeskyOfInverse returns the upper triangular U with positive diagonal and H⁻¹ = UᵀU, for a symmetric
// positive definite k×k H. Instead of inverting H and factoring the inverse (two more K³ steps), it uses the
// reversal permutation J: with JHJ = LLᵀ (one Cholesky), H⁻¹ = J L⁻ᵀ L⁻¹ J = (J L⁻¹ J)ᵀ (J L⁻¹ J), and J L⁻¹ J is
// upper triangular with a positive diagonal, so by the uniqueness of the Cholesky factor it is U.
func upperCholeskyOfInverse(H []float64, k int) ([]float64, error) {
	// L = chol(JHJ), lower, in place in a (JHJ)[i][j] = H[k−1−i][k−1−j].
	a := make([]float64, k*k)
	for i := 0; i < k; i++ {
		for j := 0; j <= i; j++ {
			a[i*k+j] = H[(k-1-i)*k+(k-1-j)]
		}
	}
	// Up-looking Cholesky, L[i][j] = (A[i][j] − L[i][:j]·L[j][:j]) / L[j][j], a block of rows at a time so that each
	// earlier row L[j] is read once per block rather than once per row (the triangle outgrows the caches beyond
	// K ≈ 500; blocks of 32 rows keep a K = 4096 block in 1 MiB).
	const rb = 32
	for i0 := 0; i0 < k; i0 += rb {
		i1 := min(i0+rb, k)
		for j := 0; j < i1; j++ {
			lj := a[j*k : j*k+j+1]
			if j >= i0 { // row j is in the block and complete up to its diagonal
				d := lj[j] - dot(lj[:j], lj[:j])
				if !(d > 0) {
					return nil, ErrNotPositiveDefinite
				}
				lj[j] = math.Sqrt(d)
			}
			for i := max(i0, j+1); i < i1; i++ {
				li := a[i*k : i*k+j+1]
				li[j] = (li[j] - dot(li[:j], lj[:j])) / lj[j]
			}
		}
	}
	// M = L⁻¹ (lower) by forward substitution on the identity, M[i] = (e_i − Σ_{c<i} L[i][c]·M[c]) / L[i][i], a
	// block of rows at a time as above.
	m := make([]float64, k*k)
	for i0 := 0; i0 < k; i0 += rb {
		i1 := min(i0+rb, k)
		for i := i0; i < i1; i++ {
			m[i*k+i] = 1
		}
		for c := 0; c < i1; c++ {
			mc := m[c*k : c*k+c+1]
			if c >= i0 { // row c is in the block and has all its terms
				d := a[c*k+c]
				for j := range mc {
					mc[j] /= d
				}
			}
			for i := max(i0, c+1); i < i1; i++ {
				if f := a[i*k+c]; f != 0 {
					axpy(-f, mc, m[i*k:i*k+c+1])
				}
			}
		}
	}
	// U = J M J: U[i][j] = M[k−1−i][k−1−j].
	u := a // reuse
	clear(u)
	for i := 0; i < k; i++ {
		for j := i; j < k; j++ {
			u[i*k+j] = m[(k-1-i)*k+(k-1-j)]
		}
	}
	for _, v := range u {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return nil, errors.New("Hessian inverse is not finite")
		}
	}
	return u, nil
}

// Layer capture for Static: each Conv, Gemm and MatMul to quantize gets two accumulators, filled in one float pass
// over the calibration data once the activation parameters are known (capture): Σ x̂·x̂ᵀ and Σ x·x̂ᵀ, x its float
// input and x̂ that input quantized with its own parameters, as the int8 model reads it. Emit corrects each
// weight for x̂'s error (correctForInputs) and rounds it with GPTQ against Σ x̂·x̂ᵀ. Each layer sees the float
// model's activations, quantized at its own input only: x̂ taken from the quantized model, with every earlier
// layer's error in it, over-corrected (PP-OCRv4 rec: 0.74 per-step agreement), as each layer then compensated
// errors that the layers before it, corrected too, no longer make.

// gptqDamp is Static's GPTQ dampening, the paper's 1 % of the Hessian's mean diagonal.
const gptqDamp = 0.01

// gptqMaxK is the widest layer input GPTQ handles: a 4096×4096 float64 matrix is 128 MiB (plus 64 MiB of float32
// scratch while accumulating; a layer has two), and its factorization a few tens of seconds of float64 math in Go.
const gptqMaxK = 4096

// gptqBudget bounds the memory of all accumulators of a model together (two per layer, 8 bytes per entry plus 4 of
// scratch while capturing): 1 GiB, about 4 of the largest layers GPTQ takes. Layers past it, in graph order, round
// to nearest. PP-OCRv4 rec needs 218 MB, det 100 MB.
const gptqBudget = 1 << 30

// gptqLayer is one layer's capture: its geometry, one Hessian per group, and the last rounding computed.
type gptqLayer struct {
	op     string
	hs     []*Hessian // one per group (Conv), else one
	conv   *convIm2col
	transA bool // Gemm's transA: the input is [K, M]
	// hs holds Σ x̂·x̂ᵀ and cs Σ x·x̂ᵀ per group, x the layer's float input and x̂ its quantized value (x where
	// the quantized model reads it in float); cs nil for a plain Hessian (tests).
	cs      []*Hessian
	err     error
	factors []*gptqFactor // per group, computed when the capture is done
	// results remembers the last rounding per kind (input-aware or not) and the scales it used.
	results [2]struct {
		scales []float32
		q      *ir.Tensor
	}
	patches  []float32 // im2col scratch
	patchesQ []float32
}

// gptqState is Static's GPTQ capture: the layers by their node's first output name (unique, and what the
// calibration hook sees), and the count of layers left to round to nearest.
type gptqState struct {
	layers     map[string]*gptqLayer
	skipped    int
	qmin, qmax int32 // the activations' integer range
}

// newGPTQState plans the capture for the nodes of g at targets, whose inputs are quantized onto [qmin, qmax]: Conv with a constant weight of rank 3 or 4, Gemm,
// and MatMul with a constant 2-D weight. Layers wider than gptqMaxK or past gptqBudget are counted as skipped.
func newGPTQState(g *ir.Graph, targets []int, qmin, qmax int32) *gptqState {
	st := &gptqState{layers: map[string]*gptqLayer{}, qmin: qmin, qmax: qmax}
	prod := g.Producers()
	var used int64
	for _, i := range targets {
		n := g.Nodes[i]
		if len(n.Outputs) == 0 || n.Outputs[0] == "" {
			continue
		}
		w := constTensor(g, prod, n.Input(1))
		if w == nil || w.DType != ir.Float32 {
			continue
		}
		l := &gptqLayer{op: n.OpType}
		var groups, k int
		switch n.OpType {
		case "Conv":
			c, err := newConvIm2col(n, w.Shape)
			if err != nil {
				st.skipped++
				continue
			}
			l.conv, groups, k = c, c.groups, c.k
		case "Gemm":
			if w.Rank() != 2 {
				continue
			}
			groups, k = 1, w.Shape[1]
			if n.AttrInt("transB", 0) == 0 {
				k = w.Shape[0]
			}
			l.transA = n.AttrInt("transA", 0) != 0
		case "MatMul":
			if w.Rank() != 2 {
				continue
			}
			groups, k = 1, w.Shape[0]
		default:
			continue
		}
		bytes := int64(groups) * int64(k) * int64(k) * 24 // Ĥ and C, float64 sums and float32 scratch
		if k > gptqMaxK || used+bytes > gptqBudget {
			st.skipped++
			continue
		}
		used += bytes
		for range groups {
			l.hs, l.cs = append(l.hs, NewHessian(k)), append(l.cs, NewHessian(k))
		}
		st.layers[n.Outputs[0]] = l
	}
	return st
}

// observe adds a calibration run's input of node n to its Hessians (calibrate's hook). With quantized inputs, q
// holds the input's activation parameters (nil when the quantized model reads it in float). An input of an
// unexpected form is recorded as the layer's error, reported when emit rounds its weights.
func (st *gptqState) observe(n *ir.Node, in []*ir.Tensor, q *Params) {
	if len(n.Outputs) == 0 {
		return
	}
	l := st.layers[n.Outputs[0]]
	if l == nil || l.err != nil {
		return
	}
	if len(in) == 0 || in[0] == nil || in[0].DType != ir.Float32 {
		l.err = errors.New("input is not float32")
		return
	}
	x, xq := in[0], in[0]
	if l.cs != nil && q != nil {
		xq = ir.New(ir.Float32, x.Shape...)
		for i, v := range x.F32() {
			xq.F32()[i] = Dequantize(Quantize(v, *q, st.qmin, st.qmax), *q)
		}
	}
	k := l.hs[0].K
	switch {
	case l.conv != nil:
		l.err = l.conv.accumulate(x, xq, l.hs, l.cs, &l.patches, &l.patchesQ)
	case l.transA: // Gemm with A = [K, M]: its columns are the vectors
		if x.Rank() != 2 || x.Shape[0] != k {
			l.err = fmt.Errorf("input shape %v does not match K = %d", x.Shape, k)
			return
		}
		l.hs[0].AddColumns(xq.F32(), x.Shape[1])
		if l.cs != nil {
			l.cs[0].AddColumnPairs(x.F32(), xq.F32(), x.Shape[1])
		}
	default: // rows of K values: Gemm's [M, K], MatMul's [..., K]
		if x.Rank() < 1 || x.Shape[x.Rank()-1] != k {
			l.err = fmt.Errorf("input shape %v does not match K = %d", x.Shape, k)
			return
		}
		l.hs[0].Add(xq.F32())
		if l.cs != nil {
			l.cs[0].AddPair(x.F32(), xq.F32())
		}
	}
}

// capture runs the float model m over the calibration data once more and adds each captured layer's input, float
// and quantized with params, to its moments: the pass that quantized inputs need once the calibration has fixed
// the activation parameters.
func (st *gptqState) capture(m *ir.Model, data Samples, params map[string]Params, progress func(done, total int)) error {
	p, err := runtime.Compile(m, runtime.Options{Threads: 0, NoOptimize: true})
	if err != nil {
		return fmt.Errorf("quant: gptq: %w", err)
	}
	for i := 0; i < data.Len(); i++ {
		in, err := calibrationSample(p, data, i)
		if err != nil {
			return err
		}
		if _, err := p.RunHook(in, func(n *ir.Node, ins, _ []*ir.Tensor, _, _ int64) {
			var q *Params
			if len(n.Inputs) > 0 {
				if v, ok := params[n.Inputs[0]]; ok {
					q = &v
				}
			}
			st.observe(n, ins, q)
		}); err != nil {
			return fmt.Errorf("quant: gptq: calibration sample %d: %w", i, err)
		}
		if progress != nil {
			progress(i+1, data.Len())
		}
	}
	st.done()
	return nil
}

// done ends accumulation: it frees the scratch.
func (st *gptqState) done() {
	type job struct {
		l *gptqLayer
		g int
	}
	var jobs []job
	for _, l := range st.layers {
		l.patches, l.patchesQ = nil, nil
		for _, h := range append(slices.Clone(l.hs), l.cs...) {
			h.release()
		}
		if l.err == nil && l.hs[0].N > 0 {
			l.factors = make([]*gptqFactor, len(l.hs))
			for g := range l.hs {
				jobs = append(jobs, job{l, g})
			}
		}
	}
	// The factorizations depend on the Hessians alone, not on the scales emit picks: they run here, a layer per
	// core, and the Hessians' memory goes once factored. A layer whose factorization fails reports it at emit.
	errs := make([]error, len(jobs))
	parallel(len(jobs), func(i int) {
		l, g := jobs[i].l, jobs[i].g
		f, err := newGPTQFactor(l.hs[g].Matrix(), l.hs[g].K, gptqDamp)
		if err != nil {
			errs[i] = err
			return
		}
		l.factors[g] = f
		l.hs[g].sum = nil
	})
	for i, err := range errs {
		if err != nil && jobs[i].l.err == nil {
			jobs[i].l.err = err
		}
	}
}

// round returns n's weight w rounded by GPTQ with the final per-channel scales along axis (Conv and Gemm with
// transB: axis 0 of [rows, …]; Gemm without transB and MatMul: axis 1 of [K, N]), or nil when n has no capture.
// With floatInputs (a layer the accuracy guard computes in float from float inputs) the weights are rounded as
// they are, against Σ x̂·x̂ᵀ (close to the float inputs' Hessian), not corrected for int8 inputs the layer will
// not read. The result for the same scales is remembered: the guard emits the model many times.
func (st *gptqState) round(key string, w *ir.Tensor, axis int, scales []float32, floatInputs bool) (*ir.Tensor, error) {
	l := st.layers[key]
	if l == nil {
		return nil, nil
	}
	if l.err != nil {
		return nil, fmt.Errorf("gptq: %w", l.err)
	}
	kind := 0
	if floatInputs {
		kind = 1
	}
	if r := l.results[kind]; r.q != nil && slices.Equal(r.scales, scales) {
		return r.q, nil
	}
	if l.hs[0].N == 0 {
		return nil, errors.New("gptq: the layer never ran during calibration")
	}
	rows := w.Shape[axis]
	if len(scales) != rows {
		return nil, fmt.Errorf("gptq: %d scales for %d channels", len(scales), rows)
	}
	k := l.hs[0].K
	groups := len(l.hs)
	if rows%groups != 0 || w.Len() != rows*k {
		return nil, fmt.Errorf("gptq: weight shape %v does not match %d groups of K = %d", w.Shape, groups, k)
	}
	// W as rows×K float64 (transposed from [K, N] for axis 1).
	wf := make([]float64, rows*k)
	src := w.F32()
	if axis == 0 {
		for i, v := range src {
			wf[i] = float64(v)
		}
	} else {
		for r := 0; r < k; r++ {
			for c := 0; c < rows; c++ {
				wf[c*k+r] = float64(src[r*rows+c])
			}
		}
	}
	s := make([]float64, rows)
	for i, v := range scales {
		s[i] = float64(v)
	}
	per := rows / groups
	q := make([]int32, 0, rows*k)
	for g, h := range l.hs {
		cfg := GPTQConfig{QMin: -127, QMax: 127, Damp: gptqDamp, Block: 128}
		var f *gptqFactor
		var err error
		if g < len(l.factors) {
			f = l.factors[g]
		}
		if f == nil { // captured without done (tests)
			if f, err = newGPTQFactor(h.Matrix(), k, cfg.Damp); err != nil {
				return nil, err
			}
		}
		wg := wf[g*per*k : (g+1)*per*k]
		if l.cs != nil && !floatInputs {
			if wg, err = correctForInputs(wg, per, l.cs[g].Matrix(), f); err != nil {
				return nil, err
			}
		}
		qg, err := f.round(wg, per, s[g*per:(g+1)*per], cfg)
		if err != nil {
			return nil, err
		}
		q = append(q, qg...)
	}
	out := ir.New(ir.Int8, w.Shape...)
	dst := out.I8()
	if axis == 0 {
		for i, v := range q {
			dst[i] = int8(v)
		}
	} else {
		for c := 0; c < rows; c++ {
			for r := 0; r < k; r++ {
				dst[r*rows+c] = int8(q[c*k+r])
			}
		}
	}
	l.results[kind].scales, l.results[kind].q = slices.Clone(scales), out
	return out, nil
}

// convIm2col is a Conv's patch geometry (1-D or 2-D; 1-D as height 1): each output position of each group reads
// the K = C_in/group·kH·kW inputs in the weight's [C_in/group, kH, kW] order, zeros where the window overlaps the
// padding.
type convIm2col struct {
	groups, cin, k         int // cin: input channels per group
	kh, kw, sh, sw, dh, dw int
	pt, pl, pb, pr         int // explicit pads (NOTSET)
	autoPad                string
	spatial                int // 1 or 2
}

func newConvIm2col(n *ir.Node, wshape []int) (*convIm2col, error) {
	r := len(wshape)
	if r != 3 && r != 4 {
		return nil, fmt.Errorf("%d-D convolution", r-2)
	}
	c := &convIm2col{groups: int(n.AttrInt("group", 1)), cin: wshape[1], spatial: r - 2,
		autoPad: n.AttrString("auto_pad", "NOTSET")}
	if c.groups <= 0 || wshape[0]%c.groups != 0 {
		return nil, fmt.Errorf("group %d does not divide %d output channels", c.groups, wshape[0])
	}
	if c.autoPad == "" {
		c.autoPad = "NOTSET"
	}
	// ints reads an attribute of cnt values (one per spatial axis; pads: two, begins then ends), def where absent; nil
	// when its length is wrong.
	ints := func(name string, cnt, def int) []int {
		v := n.AttrInts(name, nil)
		if v != nil && len(v) != cnt {
			return nil
		}
		out := make([]int, cnt)
		for i := range out {
			out[i] = def
			if v != nil {
				out[i] = int(v[i])
			}
		}
		return out
	}
	st, dl, pd := ints("strides", c.spatial, 1), ints("dilations", c.spatial, 1), ints("pads", 2*c.spatial, 0)
	if st == nil || dl == nil || pd == nil {
		return nil, errors.New("strides, dilations or pads do not match the kernel")
	}
	if c.spatial == 2 {
		c.kh, c.kw, c.sh, c.sw, c.dh, c.dw = wshape[2], wshape[3], st[0], st[1], dl[0], dl[1]
		c.pt, c.pl, c.pb, c.pr = pd[0], pd[1], pd[2], pd[3]
	} else {
		c.kh, c.kw, c.sh, c.sw, c.dh, c.dw = 1, wshape[2], 1, st[0], 1, dl[0]
		c.pl, c.pr = pd[0], pd[1]
	}
	if c.sh <= 0 || c.sw <= 0 || c.dh <= 0 || c.dw <= 0 || c.pt < 0 || c.pl < 0 || c.pb < 0 || c.pr < 0 {
		return nil, errors.New("non-positive strides or dilations, or negative pads")
	}
	switch c.autoPad {
	case "NOTSET", "VALID", "SAME_UPPER", "SAME_LOWER":
	default:
		return nil, fmt.Errorf("auto_pad %q", c.autoPad)
	}
	c.k = c.cin * c.kh * c.kw
	return c, nil
}

// axis returns the output size and begin pad of one spatial axis of size in.
func (c *convIm2col) axis(in, k, s, d, pb, pe int) (int, int) {
	ext := (k-1)*d + 1
	switch c.autoPad {
	case "VALID":
		pb, pe = 0, 0
	case "SAME_UPPER", "SAME_LOWER":
		out := (in + s - 1) / s
		total := max(0, (out-1)*s+ext-in)
		pb = total / 2
		if c.autoPad == "SAME_LOWER" {
			pb = total - total/2
		}
		return out, pb
	}
	span := in + pb + pe - ext
	if span < 0 {
		return 0, pb
	}
	return span/s + 1, pb
}

// accumulate adds the im2col patches of x (N, C, [H,] W) to the per-group Hessians, a chunk of output positions at
// a time through the scratch *buf. With cs (quantized inputs), hs takes the patches of xq, the quantized x, and cs
// the pairs of x's and xq's patches (*bufq holds xq's).
func (c *convIm2col) accumulate(x, xq *ir.Tensor, hs, cs []*Hessian, buf, bufq *[]float32) error {
	if x.Rank() != c.spatial+2 || x.Shape[1] != c.cin*c.groups {
		return fmt.Errorf("input shape %v does not match %d groups of %d channels", x.Shape, c.groups, c.cin)
	}
	nb, ih, iw := x.Shape[0], 1, x.Shape[2]
	if c.spatial == 2 {
		ih, iw = x.Shape[2], x.Shape[3]
	}
	oh, pt := c.axis(ih, c.kh, c.sh, c.dh, c.pt, c.pb)
	ow, pl := c.axis(iw, c.kw, c.sw, c.dw, c.pl, c.pr)
	if oh <= 0 || ow <= 0 {
		return fmt.Errorf("input shape %v is smaller than the window", x.Shape)
	}
	k, pos := c.k, oh*ow
	xs, xqs := x.F32(), xq.F32()
	if c.kh == 1 && c.kw == 1 && c.sh == 1 && c.sw == 1 && oh == ih && ow == iw {
		// A pointwise convolution: the patches are the columns of each group's [C/group, H·W] block as it is.
		for b := 0; b < nb; b++ {
			for g := 0; g < c.groups; g++ {
				base := (b*c.groups + g) * c.cin * pos
				hs[g].AddColumns(xqs[base:base+c.cin*pos], pos)
				if cs != nil {
					cs[g].AddColumnPairs(xs[base:base+c.cin*pos], xqs[base:base+c.cin*pos], pos)
				}
			}
		}
		return nil
	}
	chunk := min(pos, hessianChunk)
	p := slices.Grow((*buf)[:0], chunk*k)[:chunk*k]
	*buf = p
	pq := p
	if cs != nil {
		pq = slices.Grow((*bufq)[:0], chunk*k)[:chunk*k]
		*bufq = pq
	}
	// fill writes the patches of output positions p0…p0+n−1 of group g's planes in src to dst.
	fill := func(dst, src []float32, base, p0, n int) {
		for j := 0; j < n; j++ {
			oy, ox := (p0+j)/ow, (p0+j)%ow
			row := dst[j*k : (j+1)*k]
			idx := 0
			for ci := 0; ci < c.cin; ci++ {
				plane := src[base+ci*ih*iw : base+(ci+1)*ih*iw]
				for ky := 0; ky < c.kh; ky++ {
					y, x0 := oy*c.sh-pt+ky*c.dh, ox*c.sw-pl
					switch {
					case y < 0 || y >= ih: // the window row lies in the padding
						clear(row[idx : idx+c.kw])
					case c.dw == 1 && x0 >= 0 && x0+c.kw <= iw: // inside the image: one contiguous run
						copy(row[idx:idx+c.kw], plane[y*iw+x0:])
					default:
						for kx := 0; kx < c.kw; kx++ {
							if xx := x0 + kx*c.dw; xx >= 0 && xx < iw {
								row[idx+kx] = plane[y*iw+xx]
							} else {
								row[idx+kx] = 0
							}
						}
					}
					idx += c.kw
				}
			}
		}
	}
	for b := 0; b < nb; b++ {
		for g := 0; g < c.groups; g++ {
			base := (b*c.cin*c.groups + g*c.cin) * ih * iw
			for p0 := 0; p0 < pos; p0 += chunk {
				n := min(chunk, pos-p0)
				if cs == nil {
					fill(p, xs, base, p0, n)
					hs[g].Add(p[:n*k])
					continue
				}
				fill(p, xs, base, p0, n)
				fill(pq, xqs, base, p0, n)
				hs[g].Add(pq[:n*k])
				cs[g].AddPair(p[:n*k], pq[:n*k])
			}
		}
	}
	return nil
}

// correctForInputs returns the rows×K weights w′ that best map the quantized inputs x̂ to what w computes from the
// float inputs x, min ‖W·X − W′·X̂‖² + λ‖W′ − W‖²: W′ = W·(C + λI)·(H + λI)⁻¹, with C = Σ x·x̂ᵀ, H = Σ x̂·x̂ᵀ and
// λ = damp·mean(diag H), from f, GPTQ's factor of that H. This is the asymmetric calibration of Li et al., "GPTAQ:
// Efficient Finetuning-Free Quantization for Asymmetric Calibration" (2025), with each layer's input quantized
// alone; GPTQ then rounds W′ against H, so the result minimises the output error the quantized layer makes from
// the inputs it will see. The ridge term keeps W′ = W where X̂ = X and where the data does not determine it.
func correctForInputs(w []float64, rows int, c []float64, f *gptqFactor) ([]float64, error) {
	k, u, lambda := f.k, f.u, f.lambda
	out := make([]float64, rows*k)
	v, t := make([]float64, k), make([]float64, k)
	for r := 0; r < rows; r++ {
		wr := w[r*k : (r+1)*k]
		// v = (C + λI)ᵀ·w_r
		for j := range v {
			v[j] = lambda * wr[j]
		}
		for i, x := range wr {
			if x != 0 {
				axpy(x, c[i*k:(i+1)*k], v)
			}
		}
		// w′_r = Uᵀ·(U·v)
		for i := range t {
			t[i] = dot(u[i*k+i:(i+1)*k], v[i:])
		}
		or := out[r*k : (r+1)*k]
		for i, x := range t {
			if x != 0 {
				axpy(x, u[i*k+i:(i+1)*k], or[i:])
			}
		}
	}
	for _, x := range out {
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return nil, errors.New("gptq: input correction is not finite")
		}
	}
	return out, nil
}

// dot is Σ a[i]·b[i] (len(b) ≥ len(a)), four partial sums: the Cholesky factorization's inner loop.
func dot(a, b []float64) float64 {
	b = b[:len(a)]
	var s0, s1, s2, s3 float64
	i := 0
	for ; i+4 <= len(a); i += 4 {
		s0 += a[i] * b[i]
		s1 += a[i+1] * b[i+1]
		s2 += a[i+2] * b[i+2]
		s3 += a[i+3] * b[i+3]
	}
	for ; i < len(a); i++ {
		s0 += a[i] * b[i]
	}
	return (s0 + s1) + (s2 + s3)
}

// axpy is y[i] += f·x[i] (len(y) ≥ len(x)), unrolled by four.
func axpy(f float64, x, y []float64) {
	y = y[:len(x)]
	i := 0
	for ; i+4 <= len(x); i += 4 {
		y[i] += f * x[i]
		y[i+1] += f * x[i+1]
		y[i+2] += f * x[i+2]
		y[i+3] += f * x[i+3]
	}
	for ; i < len(x); i++ {
		y[i] += f * x[i]
	}
}
