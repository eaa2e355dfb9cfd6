package runtime

import (
	"github.com/hone-ml/hone/ir"
	"github.com/hone-ml/hone/kernels"
)

// nnGemm is a compiled Gemm or hone:FusedGemm node: Y = act(alpha·op(A)·op(B) + beta·C).
type nnGemm struct {
	transA, transB bool
	alpha, beta    float32
	act            kernels.Activation
	packed         *kernels.PackedB // alpha·op(B), packed, when B is a float constant
	sparse         *sparseRows      // CSR copy of alpha·op(B) when ≥ 90 % zero (sparse_gemm.go)
	// colBias is beta·C as a per-column vector when C is a constant that broadcasts along rows (shape [N], [1,N],
	// a scalar) so it folds into the GEMM epilogue; rowBias likewise for a constant column vector [M,1].
	colBias, rowBias []float32
	cFolded          bool
}

func nnBuildGemm(b *BuildCtx) (Kernel, error) {
	n := b.Node
	g := &nnGemm{
		transA: n.AttrInt("transA", 0) != 0,
		transB: n.AttrInt("transB", 0) != 0,
		alpha:  n.AttrFloat("alpha", 1),
		beta:   n.AttrFloat("beta", 1),
	}
	if n.OpType == ir.OpFusedGemm {
		var err error
		if g.act, err = nnActivation(n); err != nil {
			return nil, err
		}
	}
	bt := nnConst(b, 1)
	if bt != nil && nnIsFloat(bt.DType) {
		if bt.Rank() != 2 {
			return nil, Invalidf("B of shape %v is not a matrix", bt.Shape)
		}
		bf, err := nnF32(bt)
		if err != nil {
			return nil, err
		}
		k, nn := bt.Shape[0], bt.Shape[1]
		if g.transB {
			k, nn = nn, k
		}
		if g.alpha != 1 {
			scaled := make([]float32, len(bf))
			kernels.MulScalar(scaled, bf, g.alpha)
			bf = scaled
		}
		g.packed = kernels.PackB(g.transB, k, nn, bf, bt.Shape[1])
		g.sparse = newSparseGemm(bf, g.transB, k, nn, bt.Shape[1])
		if ct := nnConst(b, 2); ct != nil && nnIsFloat(ct.DType) && ct.Rank() <= 2 {
			cf, err := nnF32(ct)
			if err != nil {
				return nil, err
			}
			vec := func(v []float32) []float32 {
				out := make([]float32, len(v))
				kernels.MulScalar(out, v, g.beta)
				return out
			}
			switch {
			case ct.Len() == 1:
				g.colBias = make([]float32, nn)
				for i := range g.colBias {
					g.colBias[i] = g.beta * cf[0]
				}
				g.cFolded = true
			case ct.Len() == nn && (ct.Rank() == 1 || ct.Shape[0] == 1):
				g.colBias, g.cFolded = vec(cf), true
			case ct.Rank() == 2 && ct.Shape[1] == 1:
				g.rowBias, g.cFolded = vec(cf), true
			}
		}
	}
	return KernelFunc(g.run), nil
}

func (g *nnGemm) run(ctx *Ctx, in []*ir.Tensor) ([]*ir.Tensor, error) {
	a, bt, ct := nnInput(in, 0), nnInput(in, 1), nnInput(in, 2)
	if a == nil || bt == nil {
		return nil, Invalidf("Gemm needs inputs A and B")
	}
	if a.Rank() != 2 || bt.Rank() != 2 {
		return nil, Invalidf("A %v and B %v must be matrices", a.Shape, bt.Shape)
	}
	if a.DType != bt.DType || (ct != nil && ct.DType != a.DType) {
		return nil, Invalidf("A, B and C have different dtypes (%s, %s)", a.DType, bt.DType)
	}
	M, K := a.Shape[0], a.Shape[1]
	if g.transA {
		M, K = K, M
	}
	K2, N := bt.Shape[0], bt.Shape[1]
	if g.transB {
		K2, N = N, K2
	}
	if K != K2 {
		return nil, Invalidf("inner dimensions differ: op(A) is %d×%d, op(B) is %d×%d", M, K, K2, N)
	}
	if ct != nil && ct.Rank() > 2 {
		return nil, Invalidf("C of shape %v does not broadcast to %d×%d", ct.Shape, M, N)
	}
	if !nnIsFloat(a.DType) {
		return nnGemmInt(ctx, g, a, bt, ct, M, N, K)
	}
	af, err := nnF32(a)
	if err != nil {
		return nil, err
	}
	o := nnAlloc(ctx, a.DType, M, N)
	lda := a.Shape[1]
	if g.packed != nil {
		ep := &kernels.Epilogue{Act: g.act}
		if g.cFolded {
			if g.rowBias != nil {
				if len(g.rowBias) != M {
					return nil, Invalidf("C has %d rows, want %d", len(g.rowBias), M)
				}
				ep.Bias, ep.BiasPerRow = g.rowBias, true
			} else {
				ep.Bias = g.colBias
			}
		} else if ct != nil {
			ep.Act = kernels.Activation{}
		}
		if !g.sparse.gemm(ctx.Par, g.transA, M, af, lda, o.F, N, ep) {
			kernels.SgemmPackedB(ctx.Par, g.transA, M, af, lda, g.packed, o.F, N, ep)
		}
		if ct != nil && !g.cFolded {
			cf, err := nnBroadcastF32(ct, []int{M, N})
			if err != nil {
				return nil, err
			}
			for i := range o.F {
				o.F[i] += g.beta * cf[i]
			}
			g.act.Apply(o.F)
		}
		return []*ir.Tensor{o.done()}, nil
	}
	bf, err := nnF32(bt)
	if err != nil {
		return nil, err
	}
	beta := float32(0)
	if ct != nil && g.beta != 0 {
		cf, err := nnBroadcastF32(ct, []int{M, N})
		if err != nil {
			return nil, err
		}
		copy(o.F, cf)
		beta = g.beta
	}
	kernels.Sgemm(ctx.Par, g.transA, g.transB, M, N, K, g.alpha, af, lda, bf, bt.Shape[1], beta, o.F, N)
	g.act.Apply(o.F)
	return []*ir.Tensor{o.done()}, nil
}

// nnInt is the integer element types Gemm and MatMul accept.
type nnInt interface {
	~int32 | ~int64 | ~uint32 | ~uint64
}

func nnGemmInt(ctx *Ctx, g *nnGemm, a, b, c *ir.Tensor, M, N, K int) ([]*ir.Tensor, error) {
	if g.act.Kind != kernels.ActNone {
		return nil, Unsupportedf("fused activation on %s", a.DType)
	}
	out := ctx.Alloc(a.DType, M, N)
	var err error
	switch a.DType {
	case ir.Int32:
		err = nnGemmIntT(g, a.I32(), b.I32(), c, a.Shape[1], b.Shape[1], out.I32(), M, N, K, func(t *ir.Tensor) []int32 { return t.I32() })
	case ir.Int64:
		err = nnGemmIntT(g, a.I64(), b.I64(), c, a.Shape[1], b.Shape[1], out.I64(), M, N, K, func(t *ir.Tensor) []int64 { return t.I64() })
	case ir.Uint32:
		err = nnGemmIntT(g, a.U32(), b.U32(), c, a.Shape[1], b.Shape[1], out.U32(), M, N, K, func(t *ir.Tensor) []uint32 { return t.U32() })
	case ir.Uint64:
		err = nnGemmIntT(g, a.U64(), b.U64(), c, a.Shape[1], b.Shape[1], out.U64(), M, N, K, func(t *ir.Tensor) []uint64 { return t.U64() })
	default:
		return nil, Unsupportedf("dtype %s", a.DType)
	}
	if err != nil {
		return nil, err
	}
	return []*ir.Tensor{out}, nil
}

// nnGemmIntT is Gemm over integers; alpha and beta are truncated to integers as ONNX Runtime does.
func nnGemmIntT[T nnInt](g *nnGemm, a, b []T, c *ir.Tensor, lda, ldb int, y []T, M, N, K int, data func(*ir.Tensor) []T) error {
	alpha, beta := T(g.alpha), T(g.beta)
	for i := 0; i < M; i++ {
		for j := 0; j < N; j++ {
			var s T
			for p := 0; p < K; p++ {
				av, bv := a[i*lda+p], b[p*ldb+j]
				if g.transA {
					av = a[p*lda+i]
				}
				if g.transB {
					bv = b[j*ldb+p]
				}
				s += av * bv
			}
			y[i*N+j] = alpha * s
		}
	}
	if c == nil {
		return nil
	}
	cd := data(c)
	r0, c0 := 1, 1
	switch c.Rank() {
	case 1:
		c0 = c.Shape[0]
	case 2:
		r0, c0 = c.Shape[0], c.Shape[1]
	}
	if (r0 != 1 && r0 != M) || (c0 != 1 && c0 != N) {
		return Invalidf("C of shape %v does not broadcast to %d×%d", c.Shape, M, N)
	}
	for i := 0; i < M; i++ {
		for j := 0; j < N; j++ {
			y[i*N+j] += beta * cd[(i%r0)*c0+j%c0]
		}
	}
	return nil
}

// nnMatMul is a compiled MatMul: NumPy matmul semantics (batched, broadcast batch dims, 1-D operands).
type nnMatMul struct {
	packed *kernels.PackedB // constant 1-D or 2-D float B, packed once
}

func nnBuildMatMul(b *BuildCtx) (Kernel, error) {
	mm := &nnMatMul{}
	if bt := nnConst(b, 1); bt != nil && nnIsFloat(bt.DType) && (bt.Rank() == 1 || bt.Rank() == 2) {
		bf, err := nnF32(bt)
		if err != nil {
			return nil, err
		}
		k, n := bt.Shape[0], 1
		if bt.Rank() == 2 {
			n = bt.Shape[1]
		}
		mm.packed = kernels.PackB(false, k, n, bf, n)
	}
	return KernelFunc(mm.run), nil
}

func (mm *nnMatMul) run(ctx *Ctx, in []*ir.Tensor) ([]*ir.Tensor, error) {
	a, b := nnInput(in, 0), nnInput(in, 1)
	if a == nil || b == nil {
		return nil, Invalidf("MatMul needs inputs A and B")
	}
	if a.DType != b.DType {
		return nil, Invalidf("A is %s, B is %s", a.DType, b.DType)
	}
	ms, err := nnMatMulShapes(a, b)
	if err != nil {
		return nil, err
	}
	as, bs, M, K, N, batch, final := ms.as, ms.bs, ms.M, ms.K, ms.N, ms.batch, ms.final
	nb := nnProd(batch)
	aOff, bOff := nnBatchOffsets(as[:len(as)-2], batch, M*K), nnBatchOffsets(bs[:len(bs)-2], batch, K*N)
	if !nnIsFloat(a.DType) {
		out := ctx.Alloc(a.DType, final...)
		switch a.DType {
		case ir.Int32:
			nnMatMulInt(a.I32(), b.I32(), out.I32(), aOff, bOff, M, N, K)
		case ir.Int64:
			nnMatMulInt(a.I64(), b.I64(), out.I64(), aOff, bOff, M, N, K)
		case ir.Uint32:
			nnMatMulInt(a.U32(), b.U32(), out.U32(), aOff, bOff, M, N, K)
		case ir.Uint64:
			nnMatMulInt(a.U64(), b.U64(), out.U64(), aOff, bOff, M, N, K)
		default:
			return nil, Unsupportedf("dtype %s", a.DType)
		}
		return []*ir.Tensor{out}, nil
	}
	af, err := nnF32(a)
	if err != nil {
		return nil, err
	}
	o := nnAllocRaw(ctx, a.DType, final...) // Sgemm with beta 0 writes every element, zeros when K is 0
	if mm.packed != nil && len(bs) == 2 {
		// A constant matrix B serves every batch: fold the batch into M for one large product.
		kernels.SgemmPackedB(ctx.Par, false, nb*M, af, K, mm.packed, o.F, N, nil)
		return []*ir.Tensor{o.done()}, nil
	}
	bf, err := nnF32(b)
	if err != nil {
		return nil, err
	}
	if nb == 1 {
		kernels.Sgemm(ctx.Par, false, false, M, N, K, 1, af[aOff[0]:], K, bf[bOff[0]:], N, 0, o.F, N)
		return []*ir.Tensor{o.done()}, nil
	}
	// Many small products (attention heads): one product per task, each sequential.
	nnParallel(ctx, nb, M*N*K, func(i int) {
		kernels.Sgemm(nil, false, false, M, N, K, 1, af[aOff[i]:], K, bf[bOff[i]:], N, 0, o.F[i*M*N:], N)
	})
	return []*ir.Tensor{o.done()}, nil
}

func nnMatMulInt[T nnInt](a, b, y []T, aOff, bOff []int, M, N, K int) {
	for bi := range aOff {
		ab, bb, yb := a[aOff[bi]:], b[bOff[bi]:], y[bi*M*N:]
		for i := 0; i < M; i++ {
			for j := 0; j < N; j++ {
				var s T
				for p := 0; p < K; p++ {
					s += ab[i*K+p] * bb[p*N+j]
				}
				yb[i*N+j] = s
			}
		}
	}
}

// nnBroadcastShapes applies NumPy broadcasting to two shapes.
func nnBroadcastShapes(a, b []int) ([]int, error) {
	r := max(len(a), len(b))
	out := make([]int, r)
	for i := 0; i < r; i++ {
		da, db := 1, 1
		if j := i - (r - len(a)); j >= 0 {
			da = a[j]
		}
		if j := i - (r - len(b)); j >= 0 {
			db = b[j]
		}
		switch {
		case da == db || db == 1:
			out[i] = da
		case da == 1:
			out[i] = db
		default:
			return nil, Invalidf("batch dims %v and %v do not broadcast", a, b)
		}
	}
	return out, nil
}

// nnBatchOffsets returns, for each batch index of the broadcast batch shape, the element offset of the matching
// matrix in an operand with batch shape own and matrices of size mat.
func nnBatchOffsets(own, batch []int, mat int) []int {
	n := nnProd(batch)
	out := make([]int, n)
	r := len(batch)
	strides := make([]int, r)
	acc := mat
	for i := len(own) - 1; i >= 0; i-- {
		if own[i] != 1 {
			strides[i+r-len(own)] = acc
		}
		acc *= own[i]
	}
	idx := make([]int, r)
	off := 0
	for i := 0; i < n; i++ {
		out[i] = off
		for j := r - 1; j >= 0; j-- {
			idx[j]++
			off += strides[j]
			if idx[j] < batch[j] {
				break
			}
			off -= strides[j] * idx[j]
			idx[j] = 0
		}
	}
	return out
}

// nnMatShapes is the NumPy-matmul geometry of two operands: 1-D operands promoted to matrices, the broadcast batch
// shape, and the output shape with the promoted dims dropped again.
type nnMatShapes struct {
	as, bs       []int // operand shapes as matrices (rank ≥ 2)
	M, K, N      int
	batch, final []int
}

// nnMatMulShapes resolves the geometry shared by MatMul, MatMulInteger and QLinearMatMul.
func nnMatMulShapes(a, b *ir.Tensor) (nnMatShapes, error) {
	var s nnMatShapes
	if a.Rank() == 0 || b.Rank() == 0 {
		return s, Invalidf("MatMul operands must have rank ≥ 1, got %v and %v", a.Shape, b.Shape)
	}
	s.as, s.bs = a.Shape, b.Shape
	if a.Rank() == 1 {
		s.as = []int{1, s.as[0]}
	}
	if b.Rank() == 1 {
		s.bs = []int{s.bs[0], 1}
	}
	var k2 int
	s.M, s.K = s.as[len(s.as)-2], s.as[len(s.as)-1]
	k2, s.N = s.bs[len(s.bs)-2], s.bs[len(s.bs)-1]
	if s.K != k2 {
		return s, Invalidf("inner dimensions differ: A %v, B %v", a.Shape, b.Shape)
	}
	batch, err := nnBroadcastShapes(s.as[:len(s.as)-2], s.bs[:len(s.bs)-2])
	if err != nil {
		return s, err
	}
	s.batch = batch
	s.final = append([]int(nil), batch...)
	if a.Rank() > 1 {
		s.final = append(s.final, s.M)
	}
	if b.Rank() > 1 {
		s.final = append(s.final, s.N)
	}
	return s, nil
}

// nnMatMulPerm is hone's MatMulPerm (ir.OpMatMulPerm): MatMul of transposed operands into a transposed result,
// computed as one strided product per batch entry. Each operand is read in place when its perm leaves a unit
// stride in one of its two matrix dims (Sgemm's row-major or transposed form, with the other dim's stride as
// the leading dimension), and each product is written in place when the result's last dim stays last. BERT's
// head transposes ([B, S, H, D] → [B, H, S, D] and back, K as [B, H, D, S]) all qualify; other layouts, and batch
// dims that broadcast, are copied as the Transpose nodes would have done.
type nnMatMulPerm struct {
	pa, pb, py []int
}

func nnBuildMatMulPerm(b *BuildCtx) (Kernel, error) {
	perm := func(name string) []int {
		var out []int
		for _, v := range b.Node.AttrInts(name, nil) {
			out = append(out, int(v))
		}
		return out
	}
	mm := &nnMatMulPerm{pa: perm("perm_a"), pb: perm("perm_b"), py: perm("perm_y")}
	return KernelFunc(mm.run), nil
}

// nnPermView is a tensor of shape Shape read through Strides (values, not bytes) from a flat slice.
type nnPermView struct {
	shape, strides []int
}

// nnPermuted returns the view of a contiguous tensor of the given shape transposed by perm (nil: identity).
func nnPermuted(shape, perm []int) (nnPermView, error) {
	st := tStrides(shape)
	if perm == nil {
		return nnPermView{shape, st}, nil
	}
	if len(perm) != len(shape) {
		return nnPermView{}, Invalidf("perm %v does not match rank %d", perm, len(shape))
	}
	v := nnPermView{make([]int, len(perm)), make([]int, len(perm))}
	seen := make([]bool, len(perm))
	for i, p := range perm {
		if p < 0 || p >= len(shape) || seen[p] {
			return nnPermView{}, Invalidf("perm %v is not a permutation of 0..%d", perm, len(shape)-1)
		}
		seen[p] = true
		v.shape[i], v.strides[i] = shape[p], st[p]
	}
	return v, nil
}

// matrix returns Sgemm's (trans, ld) for the view's last two dims, or ok false when neither has unit stride.
func (v nnPermView) matrix() (trans bool, ld int, ok bool) {
	r := len(v.shape)
	switch {
	case v.strides[r-1] == 1 || v.shape[r-1] == 1:
		return false, max(v.strides[r-2], v.shape[r-1]), true
	case v.strides[r-2] == 1 || v.shape[r-2] == 1:
		return true, max(v.strides[r-1], v.shape[r-2]), true
	}
	return false, 0, false
}

func (mm *nnMatMulPerm) run(ctx *Ctx, in []*ir.Tensor) ([]*ir.Tensor, error) {
	a, b := nnInput(in, 0), nnInput(in, 1)
	if a == nil || b == nil {
		return nil, Invalidf("MatMulPerm needs inputs A and B")
	}
	if a.DType != ir.Float32 || b.DType != ir.Float32 {
		return nil, Unsupportedf("A is %s, B is %s (float32 only)", a.DType, b.DType)
	}
	r := a.Rank()
	if r < 2 || b.Rank() != r {
		return nil, Invalidf("A has rank %d, B rank %d: want the same rank ≥ 2", r, b.Rank())
	}
	va, err := nnPermuted(a.Shape, mm.pa)
	if err != nil {
		return nil, Invalidf("A: %v", err)
	}
	vb, err := nnPermuted(b.Shape, mm.pb)
	if err != nil {
		return nil, Invalidf("B: %v", err)
	}
	if !nnEqualInts(va.shape[:r-2], vb.shape[:r-2]) { // broadcast batch dims: MatMul on copies, as unfused
		return mm.copied(ctx, a, b)
	}
	if va.shape[r-1] != vb.shape[r-2] {
		return nil, Invalidf("A is %v and B %v after their perms: A's columns must equal B's rows", va.shape, vb.shape)
	}
	M, K, N := va.shape[r-2], va.shape[r-1], vb.shape[r-1]
	yshape := append(append([]int(nil), va.shape[:r-2]...), M, N)
	// The result's view: where each element of MatMul's [batch…, M, N] goes in the output.
	var oshape []int
	vy := nnPermView{shape: yshape, strides: make([]int, r)}
	if mm.py == nil {
		oshape = yshape
		vy.strides = tStrides(yshape)
	} else {
		o, err := nnPermuted(yshape, mm.py)
		if err != nil {
			return nil, Invalidf("Y: %v", err)
		}
		oshape = o.shape
		ost := tStrides(oshape)
		for i, p := range mm.py {
			vy.strides[p] = ost[i]
		}
	}
	if vy.strides[r-1] != 1 && N > 1 { // the result's rows are not contiguous in the output: copy it, as unfused
		return mm.copied(ctx, a, b)
	}
	af, bf := a.F32(), b.F32()
	transA, lda, okA := va.matrix()
	if !okA { // copy A into MatMul's own layout
		t, err := tPermute(ctx, a, a.Shape, mm.pa)
		if err != nil {
			return nil, err
		}
		af, va.strides, transA, lda = t.F32(), tStrides(va.shape), false, K
	}
	transB, ldb, okB := vb.matrix()
	if !okB {
		t, err := tPermute(ctx, b, b.Shape, mm.pb)
		if err != nil {
			return nil, err
		}
		bf, vb.strides, transB, ldb = t.F32(), tStrides(vb.shape), false, N
	}
	y := ctx.allocRaw(ir.Float32, oshape...) // every element is written
	yf, ldc := y.F32(), max(vy.strides[r-2], N)
	nb := nnProd(yshape[:r-2])
	if M == 0 || N == 0 || nb == 0 {
		return []*ir.Tensor{y}, nil
	}
	product := func(par kernels.Runner, i int) {
		offA, offB, offC := 0, 0, 0
		for d, rem := r-3, i; d >= 0; d-- {
			idx := rem % yshape[d]
			rem /= yshape[d]
			offA, offB, offC = offA+idx*va.strides[d], offB+idx*vb.strides[d], offC+idx*vy.strides[d]
		}
		kernels.Sgemm(par, transA, transB, M, N, K, 1, af[offA:], lda, bf[offB:], ldb, 0, yf[offC:], ldc)
	}
	if nb == 1 {
		product(ctx.Par, 0)
		return []*ir.Tensor{y}, nil
	}
	nnParallel(ctx, nb, M*N*K, func(i int) { product(nil, i) })
	return []*ir.Tensor{y}, nil
}

// copied computes MatMulPerm as the nodes it replaced did: the operands transposed into copies, MatMul (which
// broadcasts batch dims), the result transposed.
func (mm *nnMatMulPerm) copied(ctx *Ctx, a, b *ir.Tensor) ([]*ir.Tensor, error) {
	var err error
	if mm.pa != nil {
		if a, err = tPermute(ctx, a, a.Shape, mm.pa); err != nil {
			return nil, err
		}
	}
	if mm.pb != nil {
		if b, err = tPermute(ctx, b, b.Shape, mm.pb); err != nil {
			return nil, err
		}
	}
	y, err := (&nnMatMul{}).run(ctx, []*ir.Tensor{a, b})
	if err != nil || mm.py == nil {
		return y, err
	}
	t, err := tPermute(ctx, y[0], y[0].Shape, mm.py)
	return []*ir.Tensor{t}, err
}
