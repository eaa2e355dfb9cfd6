package runtime

import (
	"math"

	"github.com/hone-ml/hone/ir"
	"github.com/hone-ml/hone/kernels"
)

// nnBuildBatchNorm compiles BatchNormalization in inference form: y = x·s + t per channel with
// s = scale/√(var+ε) and t = B − mean·s, precomputed when the four parameters are constants.
// Training mode (opset ≥ 14 training_mode=1, or the running-statistics outputs of older opsets) is unsupported.
func nnBuildBatchNorm(b *BuildCtx) (Kernel, error) {
	n := b.Node
	if n.AttrInt("training_mode", 0) != 0 {
		return nil, Unsupportedf("BatchNormalization in training mode")
	}
	for i := 1; i < len(n.Outputs); i++ {
		if nnHasOutput(n, i) {
			return nil, Unsupportedf("BatchNormalization training outputs (running mean/variance)")
		}
	}
	eps := n.AttrFloat("epsilon", 1e-5)
	spatial := b.Opset >= 9 || n.AttrInt("spatial", 1) != 0
	fold := func(p [4][]float32) ([]float32, []float32, error) {
		m := len(p[0])
		for i := 1; i < 4; i++ {
			if len(p[i]) != m {
				return nil, nil, Invalidf("scale, B, mean and var have %d, %d, %d and %d elements", len(p[0]), len(p[1]), len(p[2]), len(p[3]))
			}
		}
		s, t := make([]float32, m), make([]float32, m)
		for c := range s {
			s[c] = float32(float64(p[0][c]) / math.Sqrt(float64(p[3][c])+float64(eps)))
			t[c] = p[1][c] - p[2][c]*s[c]
		}
		return s, t, nil
	}
	params := func(ts []*ir.Tensor) ([4][]float32, error) {
		var p [4][]float32
		names := [4]string{"scale", "B", "mean", "var"}
		for i := range p {
			t := ts[i]
			if t == nil {
				return p, Invalidf("missing input %s", names[i])
			}
			f, err := nnF32(t)
			if err != nil {
				return p, err
			}
			p[i] = f
		}
		return p, nil
	}
	var cs, ct []float32
	if c := b.Const; len(c) >= 5 && c[1] != nil && c[2] != nil && c[3] != nil && c[4] != nil {
		p, err := params(c[1:5])
		if err != nil {
			return nil, err
		}
		if cs, ct, err = fold(p); err != nil {
			return nil, err
		}
	}
	return KernelFunc(func(ctx *Ctx, in []*ir.Tensor) ([]*ir.Tensor, error) {
		x, err := nnFloatInput(in, 0, "X")
		if err != nil {
			return nil, err
		}
		if len(in) < 5 {
			return nil, Invalidf("BatchNormalization needs 5 inputs, got %d", len(in))
		}
		s, t := cs, ct
		if s == nil {
			p, err := params(in[1:5])
			if err != nil {
				return nil, err
			}
			if s, t, err = fold(p); err != nil {
				return nil, err
			}
		}
		if x.Rank() < 2 {
			return nil, Invalidf("input X of shape %v needs at least 2 dims", x.Shape)
		}
		// Per-channel (spatial) statistics cover dim 1; the old spatial=0 form has one per element of dims 1….
		C, plane := x.Shape[1], nnProd(x.Shape[2:])
		if !spatial {
			C, plane = nnProd(x.Shape[1:]), 1
		}
		if len(s) != C {
			return nil, Invalidf("parameters have %d elements, input %v has %d channels", len(s), x.Shape, C)
		}
		xf, err := nnF32(x)
		if err != nil {
			return nil, err
		}
		o := nnAlloc(ctx, x.DType, x.Shape...)
		N := x.Shape[0]
		if plane == 1 {
			for i := 0; i < N; i++ {
				kernels.Mul(o.F[i*C:(i+1)*C], xf[i*C:(i+1)*C], s)
				kernels.Add(o.F[i*C:(i+1)*C], o.F[i*C:(i+1)*C], t)
			}
		} else {
			nnParallel(ctx, N*C, plane, func(j int) {
				c := j % C
				kernels.MulAddScalar(o.F[j*plane:(j+1)*plane], xf[j*plane:(j+1)*plane], s[c], t[c])
			})
		}
		return []*ir.Tensor{o.done()}, nil
	}), nil
}

// nnParallel runs fn over n jobs of about work elements each, in parallel when the total is large enough to pay
// for the hand-off.
func nnParallel(ctx *Ctx, n, work int, fn func(i int)) {
	if ctx.Par == nil || n*work < 1<<15 || n == 1 {
		for i := 0; i < n; i++ {
			fn(i)
		}
		return
	}
	ctx.Par.Run(n, fn)
}

// nnBuildInstanceNorm compiles InstanceNormalization: y = scale·(x−mean)/√(var+ε) + B over each (n, c) plane.
func nnBuildInstanceNorm(b *BuildCtx) (Kernel, error) {
	eps := float64(b.Node.AttrFloat("epsilon", 1e-5))
	return KernelFunc(func(ctx *Ctx, in []*ir.Tensor) ([]*ir.Tensor, error) {
		x, err := nnFloatInput(in, 0, "input")
		if err != nil {
			return nil, err
		}
		st, err := nnFloatInput(in, 1, "scale")
		if err != nil {
			return nil, err
		}
		bt, err := nnFloatInput(in, 2, "B")
		if err != nil {
			return nil, err
		}
		if x.Rank() < 3 {
			return nil, Invalidf("input of shape %v needs at least 3 dims", x.Shape)
		}
		C, plane := x.Shape[1], nnProd(x.Shape[2:])
		if st.Len() != C || bt.Len() != C {
			return nil, Invalidf("scale %v and B %v must have %d elements", st.Shape, bt.Shape, C)
		}
		xf, err := nnF32(x)
		if err != nil {
			return nil, err
		}
		s, _ := nnF32(st)
		sh, _ := nnF32(bt)
		o := nnAlloc(ctx, x.DType, x.Shape...)
		nnParallel(ctx, x.Shape[0]*C, plane, func(j int) {
			c := j % C
			mean, v := kernels.MeanVar(xf[j*plane : (j+1)*plane])
			k := float32(float64(s[c]) / math.Sqrt(v+eps))
			kernels.MulAddScalar(o.F[j*plane:(j+1)*plane], xf[j*plane:(j+1)*plane], k, sh[c]-float32(mean)*k)
		})
		return []*ir.Tensor{o.done()}, nil
	}), nil
}

// nnBuildLayerNorm compiles LayerNormalization (opset 17): statistics over dims axis…, then ·Scale + B, with the
// optional Mean and InvStdDev outputs (shape X.shape[:axis] followed by ones).
func nnBuildLayerNorm(b *BuildCtx) (Kernel, error) {
	n := b.Node
	axis := n.AttrInt("axis", -1)
	eps := float64(n.AttrFloat("epsilon", 1e-5))
	if st := n.AttrInt("stash_type", 1); st != 1 {
		return nil, Unsupportedf("stash_type %d (only float32 statistics)", st)
	}
	return KernelFunc(func(ctx *Ctx, in []*ir.Tensor) ([]*ir.Tensor, error) {
		x, err := nnFloatInput(in, 0, "X")
		if err != nil {
			return nil, err
		}
		ax, err := nnAxis(axis, x.Rank())
		if err != nil {
			return nil, err
		}
		outer, inner := nnProd(x.Shape[:ax]), nnProd(x.Shape[ax:])
		st, err := nnFloatInput(in, 1, "Scale")
		if err != nil {
			return nil, err
		}
		scale, err := nnBroadcastF32(st, x.Shape[ax:])
		if err != nil {
			return nil, Invalidf("Scale: %v", err)
		}
		var bias []float32
		if bt := nnInput(in, 2); bt != nil {
			if bias, err = nnBroadcastF32(bt, x.Shape[ax:]); err != nil {
				return nil, Invalidf("B: %v", err)
			}
		}
		xf, err := nnF32(x)
		if err != nil {
			return nil, err
		}
		o := nnAllocRaw(ctx, x.DType, x.Shape...) // every row is normalized into it
		statShape := append([]int(nil), x.Shape...)
		for i := ax; i < len(statShape); i++ {
			statShape[i] = 1
		}
		mo := nnAlloc(ctx, ir.Float32, statShape...)
		io := nnAlloc(ctx, ir.Float32, statShape...)
		nnParallel(ctx, outer, inner, func(i int) {
			src, dst := xf[i*inner:(i+1)*inner], o.F[i*inner:(i+1)*inner]
			mean, v := kernels.MeanVar(src)
			inv := 1 / math.Sqrt(v+eps)
			mo.F[i], io.F[i] = float32(mean), float32(inv)
			// One pass, bit-identical to MulAddScalar(inv, −mean·inv), then Mul(scale), then Add(bias).
			kernels.NormalizeScaleBias(dst, src, float32(inv), float32(-mean*inv), scale, bias)
		})
		return []*ir.Tensor{o.done(), mo.done(), io.done()}, nil
	}), nil
}

// nnBroadcastF32 returns t's values as float32 broadcast (NumPy rules, t's rank ≤ len(shape)) to shape.
func nnBroadcastF32(t *ir.Tensor, shape []int) ([]float32, error) {
	f, err := nnF32(t)
	if err != nil {
		return nil, err
	}
	if nnEqualInts(t.Shape, shape) || (t.Len() == nnProd(shape) && t.Rank() <= 1) {
		return f, nil
	}
	if t.Rank() > len(shape) {
		return nil, Invalidf("shape %v does not broadcast to %v", t.Shape, shape)
	}
	// strides of t aligned to the right of shape, 0 along broadcast dims
	r := len(shape)
	strides := make([]int, r)
	acc := 1
	for i := t.Rank() - 1; i >= 0; i-- {
		d := t.Shape[i]
		j := i + r - t.Rank()
		switch d {
		case shape[j]:
			strides[j] = acc
		case 1:
		default:
			return nil, Invalidf("shape %v does not broadcast to %v", t.Shape, shape)
		}
		acc *= d
	}
	out := make([]float32, nnProd(shape))
	idx := make([]int, r)
	src := 0
	for i := range out {
		out[i] = f[src]
		for j := r - 1; j >= 0; j-- {
			idx[j]++
			src += strides[j]
			if idx[j] < shape[j] {
				break
			}
			src -= strides[j] * idx[j]
			idx[j] = 0
		}
	}
	return out, nil
}

// nnBuildGroupNorm compiles GroupNormalization: statistics over each group of C/num_groups channels, then a
// per-channel affine (opset 21) or, in opset 18, a per-group one.
func nnBuildGroupNorm(b *BuildCtx) (Kernel, error) {
	n := b.Node
	eps := float64(n.AttrFloat("epsilon", 1e-5))
	ng := int(n.AttrInt("num_groups", 0))
	if ng <= 0 {
		return nil, Invalidf("num_groups %d must be positive", ng)
	}
	if st := n.AttrInt("stash_type", 1); st != 1 {
		return nil, Unsupportedf("stash_type %d (only float32 statistics)", st)
	}
	perGroup := b.Opset < 21
	return KernelFunc(func(ctx *Ctx, in []*ir.Tensor) ([]*ir.Tensor, error) {
		x, err := nnFloatInput(in, 0, "X")
		if err != nil {
			return nil, err
		}
		if x.Rank() < 2 {
			return nil, Invalidf("input of shape %v needs at least 2 dims", x.Shape)
		}
		C, plane := x.Shape[1], nnProd(x.Shape[2:])
		if C%ng != 0 {
			return nil, Invalidf("%d channels are not divisible into %d groups", C, ng)
		}
		want := C
		if perGroup {
			want = ng
		}
		st, err := nnFloatInput(in, 1, "scale")
		if err != nil {
			return nil, err
		}
		bt, err := nnFloatInput(in, 2, "bias")
		if err != nil {
			return nil, err
		}
		if st.Len() != want || bt.Len() != want {
			return nil, Invalidf("scale %v and bias %v must have %d elements", st.Shape, bt.Shape, want)
		}
		s, _ := nnF32(st)
		sh, _ := nnF32(bt)
		xf, err := nnF32(x)
		if err != nil {
			return nil, err
		}
		o := nnAlloc(ctx, x.DType, x.Shape...)
		cpg := C / ng
		span := cpg * plane
		nnParallel(ctx, x.Shape[0]*ng, span, func(j int) {
			grp := j % ng
			mean, v := kernels.MeanVar(xf[j*span : (j+1)*span])
			inv := 1 / math.Sqrt(v+eps)
			for k := 0; k < cpg; k++ {
				p := grp
				if !perGroup {
					p = grp*cpg + k
				}
				sc := float32(float64(s[p]) * inv)
				off := j*span + k*plane
				kernels.MulAddScalar(o.F[off:off+plane], xf[off:off+plane], sc, sh[p]-float32(mean)*sc)
			}
		})
		return []*ir.Tensor{o.done()}, nil
	}), nil
}

// nnBuildLRN compiles LRN (Krizhevsky et al. 2012, local response normalisation across channels):
// y = x / (bias + α/size · Σ x²)^β over channels c−⌊(size−1)/2⌋ … c+⌈(size−1)/2⌉.
func nnBuildLRN(b *BuildCtx) (Kernel, error) {
	n := b.Node
	size := int(n.AttrInt("size", 0))
	if size <= 0 {
		return nil, Invalidf("size %d must be positive", size)
	}
	alpha := float64(n.AttrFloat("alpha", 1e-4))
	beta := float64(n.AttrFloat("beta", 0.75))
	bias := float64(n.AttrFloat("bias", 1))
	lo, hi := (size-1)/2, size-1-(size-1)/2
	return KernelFunc(func(ctx *Ctx, in []*ir.Tensor) ([]*ir.Tensor, error) {
		x, err := nnFloatInput(in, 0, "X")
		if err != nil {
			return nil, err
		}
		if x.Rank() < 3 {
			return nil, Invalidf("input of shape %v needs at least 3 dims", x.Shape)
		}
		xf, err := nnF32(x)
		if err != nil {
			return nil, err
		}
		N, C, plane := x.Shape[0], x.Shape[1], nnProd(x.Shape[2:])
		o := nnAlloc(ctx, x.DType, x.Shape...)
		nnParallel(ctx, N*C, plane*size, func(j int) {
			nb, c := j/C, j%C
			c0, c1 := max(0, c-lo), min(C-1, c+hi)
			for p := 0; p < plane; p++ {
				var sum float64
				for k := c0; k <= c1; k++ {
					v := float64(xf[(nb*C+k)*plane+p])
					sum += v * v
				}
				o.F[j*plane+p] = float32(float64(xf[j*plane+p]) / math.Pow(bias+alpha/float64(size)*sum, beta))
			}
		})
		return []*ir.Tensor{o.done()}, nil
	}), nil
}

// nnBuildMVN compiles MeanVarianceNormalization: y = (x − E[x]) / (√Var[x] + 1e-9) over the given axes, with the
// 1e-9 of ONNX's function body.
func nnBuildMVN(b *BuildCtx) (Kernel, error) {
	axes := b.Node.AttrInts("axes", []int64{0, 2, 3})
	return KernelFunc(func(ctx *Ctx, in []*ir.Tensor) ([]*ir.Tensor, error) {
		x, err := nnFloatInput(in, 0, "X")
		if err != nil {
			return nil, err
		}
		r := x.Rank()
		reduced := make([]bool, r)
		for _, a := range axes {
			ax, err := nnAxis(a, r)
			if err != nil {
				return nil, err
			}
			reduced[ax] = true
		}
		// Flat index of each element's statistics slot: strides over the kept dims only.
		strides := make([]int, r)
		slots := 1
		for i := r - 1; i >= 0; i-- {
			if !reduced[i] {
				strides[i] = slots
				slots *= x.Shape[i]
			}
		}
		xf, err := nnF32(x)
		if err != nil {
			return nil, err
		}
		slotOf := make([]int, len(xf))
		idx := make([]int, r)
		s := 0
		for i := range slotOf {
			slotOf[i] = s
			for j := r - 1; j >= 0; j-- {
				idx[j]++
				s += strides[j]
				if idx[j] < x.Shape[j] {
					break
				}
				s -= strides[j] * idx[j]
				idx[j] = 0
			}
		}
		sum, cnt := make([]float64, slots), make([]float64, slots)
		for i, v := range xf {
			sum[slotOf[i]] += float64(v)
			cnt[slotOf[i]]++
		}
		for i := range sum {
			sum[i] /= max(cnt[i], 1)
		}
		sq := make([]float64, slots)
		for i, v := range xf {
			d := float64(v) - sum[slotOf[i]]
			sq[slotOf[i]] += d * d
		}
		o := nnAlloc(ctx, x.DType, x.Shape...)
		for i, v := range xf {
			k := slotOf[i]
			o.F[i] = float32((float64(v) - sum[k]) / (math.Sqrt(sq[k]/max(cnt[k], 1)) + 1e-9))
		}
		return []*ir.Tensor{o.done()}, nil
	}), nil
}
