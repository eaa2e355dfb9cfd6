package runtime

import (
	"github.com/hone-ml/hone/ir"
	"github.com/hone-ml/hone/kernels"
)

// qBinary compiles ONNX Runtime's QLinearAdd and QLinearMul (com.microsoft; inputs A, A_scale, A_zero_point, B,
// B_scale, B_zero_point, C_scale, C_zero_point), which opt's fuse_qdq_binary makes of DQ(a), DQ(b) → Add/Mul →
// Q. It computes exactly what that chain computes, C = Q(DQ(A) op DQ(B)) with DequantizeLinear's, the float op's
// and QuantizeLinear's float32 arithmetic, without float tensors the size of A:
//   - when one operand is constant over runs of the other's innermost elements (a per-channel [N, C, 1, 1] or a
//     scalar operand, as in squeeze-and-excitation scaling), each run is one byte lookup whose 256-entry table
//     is that chain evaluated on every byte;
//   - for equal shapes (residual and FPN sums), kernels.QBinary dequantizes, combines and quantizes each element
//     in one pass;
//   - any other broadcast goes through the float ops.
type qBinary struct {
	op tBinOp
}

func qBuildQLinearAdd(*BuildCtx) (Kernel, error) {
	return KernelFunc((&qBinary{op: tOpAdd}).run), nil
}

func qBuildQLinearMul(*BuildCtx) (Kernel, error) {
	return KernelFunc((&qBinary{op: tOpMul}).run), nil
}

// q8Param is one per-tensor quantized operand: its bytes' dtype, scale and zero point.
type q8Param struct {
	dt    ir.DType
	scale float32
	zp    int32
}

// q8Params reads a per-tensor scale and optional zero point for data of dtype dt (int8 or uint8).
func q8Params(dt ir.DType, scale, zp *ir.Tensor, what string) (q8Param, error) {
	if dt != ir.Int8 && dt != ir.Uint8 {
		return q8Param{}, Unsupportedf("%s of dtype %s (want int8 or uint8)", what, dt)
	}
	s, err := qScalarF32(scale, what+" scale")
	if err != nil {
		return q8Param{}, err
	}
	z, err := qZeroVector(zp, dt, 1, 0, what)
	if err != nil {
		return q8Param{}, err
	}
	if len(z) != 1 {
		return q8Param{}, Unsupportedf("%s zero point must be a scalar", what)
	}
	return q8Param{dt: dt, scale: s, zp: z[0]}, nil
}

// bounds returns the integer range of p's dtype.
func (p q8Param) bounds() (int32, int32) {
	if p.dt == ir.Int8 {
		return -128, 127
	}
	return 0, 255
}

// dequant is DequantizeLinear of bytes of p's dtype into y.
func (p q8Param) dequant(y []float32, x []uint8) {
	qDequantize8(y, x, p.dt == ir.Int8, float32(p.zp), p.scale)
}

// quant is QuantizeLinear of x into bytes of p's dtype.
func (p q8Param) quant(y []uint8, x []float32) {
	lo, hi := p.bounds()
	qQuantize8(y, x, p.scale, p.zp, lo, hi)
}

// dequantAll is the dequantized value of every byte 0…255 read as p's dtype.
func (p q8Param) dequantAll() []float32 {
	var all [256]uint8
	for i := range all {
		all[i] = uint8(i)
	}
	out := make([]float32, 256)
	p.dequant(out, all[:])
	return out
}

func (q *qBinary) run(ctx *Ctx, in []*ir.Tensor) ([]*ir.Tensor, error) {
	a, b := nnInput(in, 0), nnInput(in, 3)
	if a == nil || b == nil {
		return nil, Invalidf("needs inputs A and B")
	}
	pa, err := q8Params(a.DType, nnInput(in, 1), nnInput(in, 2), "A")
	if err != nil {
		return nil, err
	}
	pb, err := q8Params(b.DType, nnInput(in, 4), nnInput(in, 5), "B")
	if err != nil {
		return nil, err
	}
	cdt := a.DType
	if cz := nnInput(in, 7); cz != nil {
		cdt = cz.DType
	}
	pc, err := q8Params(cdt, nnInput(in, 6), nnInput(in, 7), "C")
	if err != nil {
		return nil, err
	}
	switch {
	case nnEqualInts(a.Shape, b.Shape):
		y := ctx.allocRaw(cdt, a.Shape...) // every element is written
		q.chunks(ctx, y.Bytes(), a.Bytes(), b.Bytes(), pa, pb, pc)
		return []*ir.Tensor{y}, nil
	case qRunConstant(b.Shape, a.Shape) > 0:
		return []*ir.Tensor{q.lookup(ctx, a, b, pa, pb, pc, true)}, nil
	case qRunConstant(a.Shape, b.Shape) > 0:
		return []*ir.Tensor{q.lookup(ctx, b, a, pb, pa, pc, false)}, nil
	}
	// General broadcasting: the unfused chain itself.
	fa, fb := ctx.allocRaw(ir.Float32, a.Shape...), ctx.allocRaw(ir.Float32, b.Shape...)
	defer ctx.recycle(fa)
	defer ctx.recycle(fb)
	pa.dequant(fa.F32(), a.Bytes())
	pb.dequant(fb.F32(), b.Bytes())
	fy, err := tArith(ctx, q.op, fa, fb)
	if err != nil {
		return nil, err
	}
	y := ctx.allocRaw(cdt, fy.Shape...)
	pc.quant(y.Bytes(), fy.F32())
	return []*ir.Tensor{y}, nil
}

// qBinaryChunk is the number of elements per task of the equal-shape path.
const qBinaryChunk = 16384

// chunks computes y = Q(DQ(a) op DQ(b)) for equal-length a and b with kernels.QBinary, which fuses the three
// steps (ResNet-18's eight residual sums: 0.29 → 0.19 ms), in chunks split across threads.
func (q *qBinary) chunks(ctx *Ctx, y, a, b []uint8, pa, pb, pc q8Param) {
	ka, kb, kc := pa.k8(), pb.k8(), pc.k8()
	mul := q.op == tOpMul
	ctx.Par.Run((len(y)+qBinaryChunk-1)/qBinaryChunk, func(c int) {
		lo, hi := c*qBinaryChunk, min(len(y), (c+1)*qBinaryChunk)
		kernels.QBinary(y[lo:hi], a[lo:hi], b[lo:hi], ka, kb, kc, mul)
	})
}

// k8 is p as the kernels' Q8.
func (p q8Param) k8() kernels.Q8 {
	return kernels.Q8{Scale: p.scale, Zero: p.zp, Signed: p.dt == ir.Int8}
}

// qRunConstant reports whether s broadcasts against the shape full (which must be the result's shape) as one
// value per run of full's innermost elements: s's dims, aligned right, are 1 from some axis on and equal full's
// before it. It returns the run length, or 0.
func qRunConstant(s, full []int) int {
	if len(s) > len(full) {
		return 0
	}
	pad := len(full) - len(s)
	dim := func(i int) int { // s's dim aligned to full's axis i
		if i < pad {
			return 1
		}
		return s[i-pad]
	}
	k := len(full) // first axis of the constant tail
	for k > 0 && dim(k-1) == 1 {
		k--
	}
	for i := 0; i < k; i++ {
		if dim(i) != full[i] {
			return 0
		}
	}
	run := 1
	for _, d := range full[k:] {
		run *= d
	}
	return run
}

// lookup computes the result when s is constant over runs of x (qRunConstant): for each of s's values, the
// chain on all 256 bytes of x gives a table, and the run is mapped through it. xFirst says x is the op's A.
func (q *qBinary) lookup(ctx *Ctx, x, s *ir.Tensor, px, ps, pc q8Param, xFirst bool) *ir.Tensor {
	run := qRunConstant(s.Shape, x.Shape)
	y := ctx.allocRaw(pc.dt, x.Shape...) // every element is written
	xs, ys, sv := x.Bytes(), y.Bytes(), s.Bytes()
	dx := px.dequantAll()
	sf := make([]float32, len(sv))
	ps.dequant(sf, sv)
	ctx.Par.Run(len(sv), func(r int) {
		// Scalar float32 ops round exactly as the vector kernels do; written out here so the tables stay on
		// the stack.
		var f [256]float32
		var table [256]uint8
		v := sf[r]
		for i, d := range dx {
			switch {
			case q.op == tOpAdd && xFirst:
				f[i] = d + v
			case q.op == tOpAdd:
				f[i] = v + d
			case xFirst:
				f[i] = d * v
			default:
				f[i] = v * d
			}
		}
		pc.quant(table[:], f[:])
		kernels.QLookup(ys[r*run:(r+1)*run], xs[r*run:(r+1)*run], &table)
	})
	return y
}
