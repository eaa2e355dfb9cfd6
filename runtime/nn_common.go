package runtime

import (
	"math"

	"github.com/hone-ml/hone/ir"
	"github.com/hone-ml/hone/kernels"
)

// Helpers shared by the NN ops (ops_nn.go, nn_*.go). The NN ops compute in float32; float16, bfloat16 and
// float64 tensors are converted on the way in and out, which keeps one code path per op.

// nnIsFloat reports whether dt is a float type the NN ops accept.
func nnIsFloat(dt ir.DType) bool {
	return dt == ir.Float32 || dt == ir.Float16 || dt == ir.BFloat16 || dt == ir.Float64
}

// nnF32 returns t's values as float32: t's own storage for float32 (must not be written), else a converted copy.
func nnF32(t *ir.Tensor) ([]float32, error) {
	switch t.DType {
	case ir.Float32:
		return t.F32(), nil
	case ir.Float16:
		out := make([]float32, t.Len())
		for i, v := range t.Bits16() {
			out[i] = ir.HalfToFloat(v)
		}
		return out, nil
	case ir.BFloat16:
		out := make([]float32, t.Len())
		for i, v := range t.Bits16() {
			out[i] = ir.BFloat16ToFloat(v)
		}
		return out, nil
	case ir.Float64:
		out := make([]float32, t.Len())
		for i, v := range t.F64() {
			out[i] = float32(v)
		}
		return out, nil
	case ir.Int8, ir.Uint8:
		out := make([]float32, t.Len())
		for i, v := range t.Float64s() {
			out[i] = float32(v)
		}
		return out, nil
	}
	return nil, Unsupportedf("dtype %s", t.DType)
}

// nnOut is an output under construction: F is where the kernel writes float32 results.
type nnOut struct {
	T *ir.Tensor
	F []float32
}

// nnAlloc allocates an output of dtype dt. For float32 the kernel writes straight into the tensor; for other
// dtypes into a scratch buffer that done converts.
func nnAlloc(ctx *Ctx, dt ir.DType, shape ...int) nnOut {
	t := ctx.Alloc(dt, shape...)
	if dt == ir.Float32 {
		return nnOut{T: t, F: t.F32()}
	}
	return nnOut{T: t, F: make([]float32, t.Len())}
}

// done converts the scratch buffer into the tensor's dtype and returns the tensor.
func (o nnOut) done() *ir.Tensor {
	switch o.T.DType {
	case ir.Float16:
		for i, v := range o.F {
			o.T.Bits16()[i] = ir.FloatToHalf(v)
		}
	case ir.BFloat16:
		for i, v := range o.F {
			o.T.Bits16()[i] = ir.FloatToBFloat16(v)
		}
	case ir.Float64:
		d := o.T.F64()
		for i, v := range o.F {
			d[i] = float64(v)
		}
	case ir.Int8:
		d := o.T.I8()
		for i, v := range o.F {
			d[i] = int8(v)
		}
	case ir.Uint8:
		d := o.T.U8()
		for i, v := range o.F {
			d[i] = uint8(v)
		}
	}
	return o.T
}

// nnRequire checks that input i is present and has a float dtype.
func nnFloatInput(in []*ir.Tensor, i int, what string) (*ir.Tensor, error) {
	if i >= len(in) || in[i] == nil {
		return nil, Invalidf("missing input %s", what)
	}
	if !nnIsFloat(in[i].DType) {
		return nil, Unsupportedf("input %s has dtype %s; want a float type", what, in[i].DType)
	}
	return in[i], nil
}

// nnInput returns input i or nil when it is omitted.
func nnInput(in []*ir.Tensor, i int) *ir.Tensor {
	if i < len(in) {
		return in[i]
	}
	return nil
}

// nnConst returns constant input i at build time, or nil.
func nnConst(b *BuildCtx, i int) *ir.Tensor {
	if i < len(b.Const) {
		return b.Const[i]
	}
	return nil
}

// nnHasInput reports whether the node names input i.
func nnHasInput(n *ir.Node, i int) bool { return n.Input(i) != "" }

// nnHasOutput reports whether the node names output i.
func nnHasOutput(n *ir.Node, i int) bool { return i < len(n.Outputs) && n.Outputs[i] != "" }

// nnActivation maps hone's fused "activation"/"activation_params" attributes (see ir/ops.go) to kernels.Activation.
func nnActivation(n *ir.Node) (kernels.Activation, error) {
	name := n.AttrString("activation", "")
	p := n.AttrFloats("activation_params", nil)
	param := func(i int, def float32) float32 {
		if i < len(p) {
			return p[i]
		}
		return def
	}
	switch name {
	case "":
		return kernels.Activation{}, nil
	case "Relu":
		return kernels.Activation{Kind: kernels.ActRelu}, nil
	case "Clip":
		return kernels.Activation{Kind: kernels.ActClip, Alpha: param(0, -nnInf), Beta: param(1, nnInf)}, nil
	case "LeakyRelu":
		return kernels.Activation{Kind: kernels.ActLeakyRelu, Alpha: param(0, 0.01)}, nil
	case "Sigmoid":
		return kernels.Activation{Kind: kernels.ActSigmoid}, nil
	case "Tanh":
		return kernels.Activation{Kind: kernels.ActTanh}, nil
	case "HardSigmoid":
		return kernels.Activation{Kind: kernels.ActHardSigmoid, Alpha: param(0, 0.2), Beta: param(1, 0.5)}, nil
	case "HardSwish":
		return kernels.Activation{Kind: kernels.ActHardSwish}, nil
	}
	return kernels.Activation{}, Unsupportedf("fused activation %q", name)
}

// nnInf is +Inf as float32 (the default Clip bounds are ±Inf).
var nnInf = float32(math.Inf(1))

// nnAxis normalises a possibly negative axis against rank r.
func nnAxis(axis int64, r int) (int, error) {
	if axis < -int64(r) || axis >= int64(r) {
		return 0, Invalidf("axis %d out of range for rank %d", axis, r)
	}
	if axis < 0 {
		axis += int64(r)
	}
	return int(axis), nil
}

// nnProd multiplies dims.
func nnProd(d []int) int {
	p := 1
	for _, v := range d {
		p *= v
	}
	return p
}
