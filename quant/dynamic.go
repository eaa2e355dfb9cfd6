package quant

import (
	"fmt"
	"slices"

	"github.com/hone-ml/hone/ir"
)

// DynamicConfig configures Dynamic.
type DynamicConfig struct {
	// PerTensor uses one weight scale per matrix instead of one per output column.
	PerTensor bool
	// Exclude names nodes to keep in floating point.
	Exclude []string
}

// Dynamic quantizes the weights of every MatMul and Gemm with a constant 2-D float32 weight to int8 (symmetric,
// per output column by default) and quantizes their activations at run time, as ONNX Runtime's quantize_dynamic
// does in its QOperator format:
//
//	A → DynamicQuantizeLinear → (A_q uint8, A_scale, A_zp)
//	MatMulInteger(A_q, W_q int8, A_zp, W_zp) → int32 → Cast(float) → Mul(A_scale·W_scale) [→ Add(bias)]
//
// Gemm becomes the same chain with alpha folded into the weight, transB applied to it, transA as a Transpose and
// beta·C as the Add. The input model is not modified; the result shares its unchanged tensors.
func Dynamic(m *ir.Model, cfg DynamicConfig) (*ir.Model, *Report, error) {
	if err := checkInput(m, cfg.Exclude); err != nil {
		return nil, nil, err
	}
	// DynamicQuantizeLinear first appears in opset 11.
	if err := requireOpset(m, 11, "dynamic"); err != nil {
		return nil, nil, err
	}
	out := m.Clone()
	g := out.Graph
	rep := &Report{Mode: "dynamic", BytesFloat: initBytes(m.Graph)}
	d := &dynamic{g: g, cfg: cfg, nm: newNamer(g), prod: g.Producers(), dq: map[string][3]string{}, rep: rep}
	for _, n := range slices.Clone(g.Nodes) {
		if n.Domain != "" && n.Domain != "ai.onnx" {
			continue
		}
		if n.OpType != "MatMul" && n.OpType != "Gemm" {
			continue
		}
		if slices.Contains(cfg.Exclude, n.Name) {
			rep.keep(n, "excluded")
			continue
		}
		if err := d.rewrite(n); err != nil {
			return nil, nil, err
		}
	}
	if len(rep.Quantized) == 0 {
		return nil, nil, fmt.Errorf("quant: dynamic: no MatMul or Gemm with a constant float32 weight to quantize")
	}
	g.RemoveUnused()
	if err := g.Sort(nil); err != nil {
		return nil, nil, fmt.Errorf("quant: dynamic: %w", err)
	}
	rep.BytesQuant = initBytes(g)
	return out, rep, nil
}

type dynamic struct {
	g    *ir.Graph
	cfg  DynamicConfig
	nm   *namer
	prod map[string]*ir.Node
	dq   map[string][3]string // activation → its DynamicQuantizeLinear outputs, shared by every reader
	rep  *Report
}

// rewrite replaces one MatMul or Gemm, or records why it stays float.
func (d *dynamic) rewrite(n *ir.Node) error {
	if len(n.Inputs) < 2 || len(n.Outputs) < 1 {
		return fmt.Errorf("quant: %s: needs two inputs and an output", n)
	}
	w := constTensor(d.g, d.prod, n.Inputs[1])
	switch {
	case w == nil:
		d.rep.keep(n, "weight is not a constant")
		return nil
	case w.DType != ir.Float32:
		d.rep.keep(n, "weight is %s, not float32", w.DType)
		return nil
	case w.Rank() != 2:
		d.rep.keep(n, "weight has rank %d (MatMulInteger quantizes 2-D weights)", w.Rank())
		return nil
	}
	a := n.Inputs[0]
	var (
		pre         []*ir.Node
		weight      = w
		bias        string
		biasScale   float32 = 1
		alpha       float32 = 1
		transposedW         = false
	)
	if n.OpType == "Gemm" {
		alpha = n.AttrFloat("alpha", 1)
		biasScale = n.AttrFloat("beta", 1)
		transposedW = n.AttrInt("transB", 0) != 0
		bias = n.Input(2)
		if n.AttrInt("transA", 0) != 0 {
			at := d.nm.value(a + "_transposed")
			pre = append(pre, &ir.Node{Name: d.nm.node(n.Name + "_TransposeA"), OpType: "Transpose", Inputs: []string{a},
				Outputs: []string{at}, Attrs: []*ir.Attr{{Name: "perm", Type: ir.AttrInts, Ints: []int64{1, 0}}}})
			a = at
		}
	}
	if transposedW || alpha != 1 {
		weight = effectiveWeight(w, transposedW, alpha)
	}
	N := weight.Shape[1]
	wq, scales, err := quantizeWeightColumns(weight, !d.cfg.PerTensor)
	if err != nil {
		return fmt.Errorf("quant: %s: %w", n, err)
	}
	base := n.Name
	if base == "" {
		base = n.Outputs[0]
	}
	wName := d.addInit(n.Inputs[1]+"_quantized", wq)
	scaleShape := []int{N}
	if d.cfg.PerTensor {
		scaleShape = nil
	}
	wScale := d.addInit(n.Inputs[1]+"_scale", ir.FromFloat32(scaleShape, scales))
	wzp := ir.New(ir.Int8, scaleShape...)
	wZP := d.addInit(n.Inputs[1]+"_zero_point", wzp)

	q, ok := d.dq[a]
	if !ok {
		q = [3]string{d.nm.value(a + "_quantized"), d.nm.value(a + "_scale"), d.nm.value(a + "_zero_point")}
		pre = append(pre, &ir.Node{Name: d.nm.node(base + "_QuantizeLinear"), OpType: "DynamicQuantizeLinear",
			Inputs: []string{a}, Outputs: q[:]})
		d.dq[a] = q
	}
	yInt := d.nm.value(base + "_output_quantized")
	yF := d.nm.value(base + "_output_quantized_cast_output")
	sMul := d.nm.value(base + "_scales_mul")
	y := n.Outputs[0]
	if bias != "" {
		y = d.nm.value(base + "_output_unbiased")
	}
	pre = append(pre,
		&ir.Node{Name: d.nm.node(base + "_MatMulInteger"), OpType: "MatMulInteger", Inputs: []string{q[0], wName, q[2], wZP},
			Outputs: []string{yInt}},
		&ir.Node{Name: d.nm.node(base + "_cast"), OpType: "Cast", Inputs: []string{yInt}, Outputs: []string{yF},
			Attrs: []*ir.Attr{{Name: "to", Type: ir.AttrInt, I: int64(ir.Float32)}}},
		&ir.Node{Name: d.nm.node(base + "_scales_mul"), OpType: "Mul", Inputs: []string{q[1], wScale}, Outputs: []string{sMul}},
		&ir.Node{Name: d.nm.node(base + "_output_scale_mul"), OpType: "Mul", Inputs: []string{yF, sMul}, Outputs: []string{y}},
	)
	if bias != "" {
		if biasScale != 1 {
			scaled := d.nm.value(bias + "_beta")
			beta := d.addInit(bias+"_beta_value", ir.Scalar(biasScale))
			pre = append(pre, &ir.Node{Name: d.nm.node(base + "_beta"), OpType: "Mul", Inputs: []string{bias, beta},
				Outputs: []string{scaled}})
			bias = scaled
		}
		pre = append(pre, &ir.Node{Name: d.nm.node(base + "_bias_add"), OpType: "Add", Inputs: []string{y, bias},
			Outputs: []string{n.Outputs[0]}})
	}
	for _, p := range pre {
		d.g.InsertBefore(n, p)
	}
	d.g.RemoveNode(n)
	d.rep.Quantized = append(d.rep.Quantized, n.String())
	return nil
}

func (d *dynamic) addInit(base string, t *ir.Tensor) string {
	name := d.nm.value(base)
	d.g.SetInitializer(name, t)
	return name
}

// effectiveWeight returns alpha·B, transposed to [K, N] when transB is set: the matrix Gemm actually multiplies by.
func effectiveWeight(b *ir.Tensor, transB bool, alpha float32) *ir.Tensor {
	r, c := b.Shape[0], b.Shape[1]
	src := b.F32()
	if !transB {
		out := make([]float32, len(src))
		for i, v := range src {
			out[i] = alpha * v
		}
		return ir.FromFloat32([]int{r, c}, out)
	}
	out := make([]float32, len(src))
	for i := 0; i < r; i++ {
		for j := 0; j < c; j++ {
			out[j*r+i] = alpha * src[i*c+j]
		}
	}
	return ir.FromFloat32([]int{c, r}, out)
}

// quantizeWeightColumns quantizes a [K, N] matrix to symmetric int8 in [−127, 127], with one scale per column
// (the output channel of x·W) or one for the whole matrix; the zero point is 0 either way.
func quantizeWeightColumns(w *ir.Tensor, perColumn bool) (*ir.Tensor, []float32, error) {
	x := w.F32()
	var ps []Params
	if perColumn {
		var err error
		if ps, err = PerChannel(x, w.Shape, 1, -127, 127, Symmetric); err != nil {
			return nil, nil, err
		}
	} else {
		lo, hi := MinMax(x)
		ps = []Params{ComputeParams(lo, hi, -127, 127, Symmetric)}
	}
	N := w.Shape[1]
	q := ir.New(ir.Int8, w.Shape...)
	qd := q.I8()
	for i, v := range x {
		p := ps[0]
		if perColumn {
			p = ps[i%N]
		}
		qd[i] = int8(Quantize(v, p, -127, 127))
	}
	scales := make([]float32, len(ps))
	for i, p := range ps {
		scales[i] = p.Scale
	}
	return q, scales, nil
}
