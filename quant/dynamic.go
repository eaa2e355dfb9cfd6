package quant

import (
	"fmt"
	"slices"
	"strings"

	"github.com/hone-ml/hone/ir"
	"github.com/hone-ml/hone/opt"
)

// DynamicConfig configures Dynamic.
type DynamicConfig struct {
	// PerTensor uses one weight scale per matrix instead of one per output column.
	PerTensor bool
	// Exclude names nodes to keep in floating point.
	Exclude []string
	// OpTypes are the op types to quantize (DynamicOpTypes): MatMul and Gemm when empty, as ORT's quantize_dynamic
	// is used for transformers. Conv becomes ConvInteger (see Dynamic).
	OpTypes []string
}

// DynamicOpTypes are the op types Dynamic can quantize. Gather is its constant table alone (an embedding), stored
// int8 one scale per row behind a DequantizeLinear that both runtimes compute once at load, as Static does.
var DynamicOpTypes = []string{"MatMul", "Gemm", "Conv", "Gather"}

// Dynamic quantizes the weights of every MatMul and Gemm with a constant 2-D float32 weight to int8 (symmetric,
// per output column by default) and quantizes their activations at run time, as ONNX Runtime's quantize_dynamic
// does in its QOperator format:
//
//	A → DynamicQuantizeLinear → (A_q uint8, A_scale, A_zp)
//	MatMulInteger(A_q, W_q int8, A_zp, W_zp) → int32 → Cast(float) → Mul(A_scale·W_scale) [→ Add(bias)]
//
// Gemm becomes the same chain with alpha folded into the weight, transB applied to it, transA as a Transpose and
// beta·C as the Add. With "Conv" in cfg.OpTypes each Conv with constant float32 weights (and bias) becomes
//
//	ConvInteger(X_q, W_q uint8, X_zp, 128) → int32 → Cast(float) → Mul(X_scale·W_scale) [→ Add(bias)]
//
// in the form every ONNX Runtime CPU build runs: uint8 weights with one zero point for the tensor (ORT 1.30
// refuses a per-channel zero point, "Non per-tensor quantization is not supported now", and older builds register
// ConvInteger for uint8 weights only). The weights stay symmetric per output channel by storing q + 128 for q in
// [−127, 127], so the zero point is 128 throughout while the scales (in the Mul) are per channel.
// The input model is not modified; the result shares its unchanged tensors.
func Dynamic(m *ir.Model, cfg DynamicConfig) (*ir.Model, *Report, error) {
	if err := checkInput(m, cfg.Exclude); err != nil {
		return nil, nil, err
	}
	ops := cfg.OpTypes
	if len(ops) == 0 {
		ops = []string{"MatMul", "Gemm"}
	}
	for _, op := range ops {
		if !slices.Contains(DynamicOpTypes, op) {
			return nil, nil, fmt.Errorf("quant: dynamic: cannot quantize op type %q (want %s)", op, strings.Join(DynamicOpTypes, ", "))
		}
	}
	rep := &Report{Mode: "dynamic", BytesFloat: initBytes(m.Graph)}
	// DynamicQuantizeLinear first appears in opset 11: older models (PP-OCR's mobile cls declares 9) are converted
	// as Static converts them.
	if have := m.Opset(""); have != 0 && have < 11 {
		up, err := upgradeTo13(m, "dynamic")
		if err != nil {
			return nil, nil, err
		}
		m = up
		rep.Notes = append(rep.Notes, upgradeNote(have))
	}
	out := m.Clone()
	g := out.Graph
	if slices.Contains(ops, "Conv") {
		folded, err := foldIntoConvs(g, opsetMap(m))
		if err != nil {
			return nil, nil, fmt.Errorf("quant: dynamic: %w", err)
		}
		if folded > 0 {
			rep.Notes = append(rep.Notes, fmt.Sprintf("%d BatchNormalization and bias Add nodes folded into their Conv before quantizing", folded))
		}
	}
	d := &dynamic{g: g, cfg: cfg, nm: newNamer(g), prod: g.Producers(), dq: map[string][3]string{}, rep: rep}
	for _, n := range slices.Clone(g.Nodes) {
		if !n.IsDefaultDomain() {
			continue
		}
		if !slices.Contains(ops, n.OpType) {
			continue
		}
		if slices.Contains(cfg.Exclude, n.Name) {
			rep.keep(n, "excluded")
			continue
		}
		rewrite := d.rewrite
		switch n.OpType {
		case "Conv":
			rewrite = d.rewriteConv
		case "Gather":
			rewrite = d.rewriteGather
		}
		if err := rewrite(n); err != nil {
			return nil, nil, err
		}
	}
	if len(rep.Quantized) == 0 {
		return nil, nil, fmt.Errorf("quant: dynamic: no %s with a constant float32 weight to quantize", strings.Join(ops, ", "))
	}
	// The float weights the rewrites replaced are unused now; exporters such as paddle2onnx hold them in Constant
	// nodes, which RemoveUnused (initializers only) leaves: they go first.
	if _, err := runPasses(g, opsetMap(m), "eliminate_dead"); err != nil {
		return nil, nil, fmt.Errorf("quant: dynamic: %w", err)
	}
	g.RemoveUnused()
	if err := g.Sort(nil); err != nil {
		return nil, nil, fmt.Errorf("quant: dynamic: %w", err)
	}
	rep.BytesQuant = initBytes(g)
	if note := floatWeightsNote(m.Graph, ops, len(cfg.OpTypes) == 0, rep.BytesFloat); note != "" {
		rep.Notes = append(rep.Notes, note)
	}
	return out, rep, nil
}

// floatWeightsNote tells, when op types Dynamic can quantize but was not asked to hold a large share (over a
// tenth) of g's weight bytes, which they are and how to include them: `hone quantize resnet18.onnx --mode dynamic`
// quantizes the one Gemm, as ORT's quantize_dynamic does, and the file shrinks to only 0.97×.
func floatWeightsNote(g *ir.Graph, ops []string, byDefault bool, total int64) string {
	prod := g.Producers()
	bytes := map[string]int64{}
	count := map[string]int{}
	for _, n := range g.Nodes {
		if slices.Contains(ops, n.OpType) || !slices.Contains(DynamicOpTypes, n.OpType) || !n.IsDefaultDomain() {
			continue
		}
		in := 1
		if n.OpType == "Gather" {
			in = 0
		}
		if t := constTensor(g, prod, n.Input(in)); t != nil && t.DType == ir.Float32 {
			bytes[n.OpType] += int64(t.NumBytes())
			count[n.OpType]++
		}
	}
	var left int64
	var parts []string
	for _, op := range DynamicOpTypes {
		if count[op] > 0 {
			left += bytes[op]
			parts = append(parts, fmt.Sprintf("%d %s", count[op], op))
		}
	}
	if total <= 0 || left*10 <= total {
		return ""
	}
	want := append(slices.Clone(ops), slices.DeleteFunc(slices.Clone(DynamicOpTypes), func(op string) bool {
		return count[op] == 0 || slices.Contains(ops, op)
	})...)
	why := "as --op-types asks"
	if byDefault {
		why = fmt.Sprintf("as dynamic mode quantizes %s by default", strings.Join(ops, " and "))
	}
	return fmt.Sprintf("%s (%.0f%% of the weight bytes) stay float, %s; --op-types %s stores them int8 too (or use "+
		"--mode static)", strings.Join(parts, ", "), 100*float64(left)/float64(total), why, strings.Join(want, ","))
}

// convFolds are the lossless rewrites Dynamic applies before quantizing Conv, as ORT's quantization
// pre-processing and Static do: a BatchNormalization after a Conv would otherwise run in float after the
// ConvInteger, an extra pass over every activation that neither hone nor ONNX Runtime fuses into the integer
// convolution (torchvision's MobileNetV2 export keeps its 52 BatchNormalizations: 15 % of the dynamic model's
// time), and the weights rounded are then the folded ones. The bias the folds leave becomes the chain's bias Add,
// which hone's QConvFloat takes in its epilogue. fold_constant_node first turns Constant nodes (paddle2onnx's
// weights) into the initializers the folds read.
var convFolds = []string{"fold_constant_node", "fuse_conv_bn", "fuse_conv_add"}

// foldIntoConvs runs convFolds on g and returns how many nodes they folded into a Conv.
func foldIntoConvs(g *ir.Graph, opsets map[string]int64) (int, error) {
	st, err := runPasses(g, opsets, convFolds...)
	return st["fuse_conv_bn"] + st["fuse_conv_add"], err
}

// runPasses runs opt's passes of the given names on g, in the registry's order, and returns their rewrite counts.
func runPasses(g *ir.Graph, opsets map[string]int64, names ...string) (opt.Stats, error) {
	var disable []string
	for _, p := range opt.Passes(opt.LevelAll) {
		if !slices.Contains(names, p.Name) {
			disable = append(disable, p.Name)
		}
	}
	return opt.Run(g, opsets, opt.Options{Level: opt.LevelAll, Disable: disable})
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
	w, err := d.floatWeight(n)
	if w == nil || err != nil {
		return err
	}
	if w.Rank() != 2 {
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
	base := baseName(n)
	wName := d.addInit(n.Inputs[1]+"_quantized", wq)
	scaleShape := []int{N}
	if d.cfg.PerTensor {
		scaleShape = nil
	}
	wScale := d.addInit(n.Inputs[1]+"_scale", ir.FromFloat32(scaleShape, scales))
	wzp := ir.New(ir.Int8, scaleShape...)
	wZP := d.addInit(n.Inputs[1]+"_zero_point", wzp)

	q, pre := d.quantizeInput(a, base, pre)
	if bias != "" && biasScale != 1 {
		scaled := d.nm.value(bias + "_beta")
		beta := d.addInit(bias+"_beta_value", ir.Scalar(biasScale))
		pre = append(pre, &ir.Node{Name: d.nm.node(base + "_beta"), OpType: "Mul", Inputs: []string{bias, beta},
			Outputs: []string{scaled}})
		bias = scaled
	}
	d.replace(n, pre, &ir.Node{OpType: "MatMulInteger", Inputs: []string{q[0], wName, q[2], wZP}}, q[1], wScale, bias)
	return nil
}

// rewriteGather stores a Gather's constant float32 table as int8, symmetric, one scale per row (one for the
// whole table with PerTensor), behind a DequantizeLinear; a table of rank < 2 or under weightOnlyOps' minimum stays
// float.
func (d *dynamic) rewriteGather(n *ir.Node) error {
	if len(n.Inputs) != 2 || len(n.Outputs) != 1 {
		return fmt.Errorf("quant: %s: Gather needs a table, indices and an output", n)
	}
	w := constTensor(d.g, d.prod, n.Inputs[0])
	op := weightOnlyOps["Gather"]
	switch {
	case w == nil || w.DType != ir.Float32:
		d.rep.keep(n, "table is not a float32 constant")
		return nil
	case w.Rank() < op.rank || w.Len() < op.min:
		d.rep.keep(n, "table %v is too small to gain from int8", w.Shape)
		return nil
	}
	wq, ws, err := quantizeWeight(w, op.axis, nil, d.cfg.PerTensor)
	if err != nil {
		return fmt.Errorf("quant: %s: %w", n, err)
	}
	scales := ir.Scalar(ws.scales[0])
	if len(ws.scales) > 1 {
		scales = ir.FromFloat32([]int{len(ws.scales)}, ws.scales)
	}
	table := d.nm.value(n.Inputs[0] + "_dequantized")
	dq := &ir.Node{Name: d.nm.node(baseName(n) + "_DequantizeLinear"), OpType: "DequantizeLinear",
		Inputs: []string{d.addInit(n.Inputs[0]+"_quantized", wq), d.addInit(n.Inputs[0]+"_scale", scales)}, Outputs: []string{table}}
	if len(ws.scales) > 1 {
		dq.Attrs = []*ir.Attr{{Name: "axis", Type: ir.AttrInt, I: int64(op.axis)}}
	}
	d.g.InsertBefore(n, dq)
	n.Inputs[0] = table
	d.rep.Quantized = append(d.rep.Quantized, n.String())
	return nil
}

// floatWeight returns n's constant float32 weight (input 1), or nil after recording why n stays float; a node
// without two inputs and an output is an error.
func (d *dynamic) floatWeight(n *ir.Node) (*ir.Tensor, error) {
	if len(n.Inputs) < 2 || len(n.Outputs) < 1 {
		return nil, fmt.Errorf("quant: %s: needs an input, a weight and an output", n)
	}
	w := constTensor(d.g, d.prod, n.Inputs[1])
	switch {
	case w == nil:
		d.rep.keep(n, "weight is not a constant")
		return nil, nil
	case w.DType != ir.Float32:
		d.rep.keep(n, "weight is %s, not float32", w.DType)
		return nil, nil
	}
	return w, nil
}

// quantizeInput returns activation a's DynamicQuantizeLinear outputs (a_q, a_scale, a_zp), adding the node to pre
// for a's first quantized reader; later readers share it.
func (d *dynamic) quantizeInput(a, base string, pre []*ir.Node) ([3]string, []*ir.Node) {
	q, ok := d.dq[a]
	if !ok {
		q = [3]string{d.nm.value(a + "_quantized"), d.nm.value(a + "_scale"), d.nm.value(a + "_zero_point")}
		pre = append(pre, &ir.Node{Name: d.nm.node(base + "_QuantizeLinear"), OpType: "DynamicQuantizeLinear",
			Inputs: []string{a}, Outputs: q[:]})
		d.dq[a] = q
	}
	return q, pre
}

// rewriteConv replaces one Conv with ConvInteger and its dequantization (see Dynamic), or records why it stays
// float.
func (d *dynamic) rewriteConv(n *ir.Node) error {
	w, err := d.floatWeight(n)
	if w == nil || err != nil {
		return err
	}
	if w.Rank() < 3 || w.Shape[0] == 0 {
		d.rep.keep(n, "weight has shape %v", w.Shape)
		return nil
	}
	if w.Rank() > 4 {
		d.rep.keep(n, "%d-D convolution (hone's integer convolution takes 1-D and 2-D)", w.Rank()-2)
		return nil
	}
	M := w.Shape[0]
	// The scales and bias broadcast along Y's channel axis: [M, 1, …] against Y's [N, M, spatial…].
	chShape := append([]int{M}, make([]int, w.Rank()-2)...)
	for i := 1; i < len(chShape); i++ {
		chShape[i] = 1
	}
	var bias *ir.Tensor
	if n.Input(2) != "" {
		if bias = constTensor(d.g, d.prod, n.Input(2)); bias == nil || bias.DType != ir.Float32 || bias.Len() != M {
			d.rep.keep(n, "bias is not a constant float32 vector of %d values", M)
			return nil
		}
	}
	wq, scales, err := quantizeConvWeight(w, !d.cfg.PerTensor)
	if err != nil {
		return fmt.Errorf("quant: %s: %w", n, err)
	}
	base := baseName(n)
	wName := d.addInit(n.Inputs[1]+"_quantized", wq)
	scaleShape := chShape
	if d.cfg.PerTensor {
		scaleShape = nil
	}
	wScale := d.addInit(n.Inputs[1]+"_scale", ir.FromFloat32(scaleShape, scales))
	zp := ir.New(ir.Uint8)
	zp.U8()[0] = 128
	wZP := d.addInit(n.Inputs[1]+"_zero_point", zp)
	q, pre := d.quantizeInput(n.Inputs[0], base, nil)
	var attrs []*ir.Attr // Conv's geometry; ConvInteger has the same attributes
	for _, a := range n.Attrs {
		if slices.Contains([]string{"auto_pad", "dilations", "group", "kernel_shape", "pads", "strides"}, a.Name) {
			attrs = append(attrs, a)
		}
	}
	b := ""
	if bias != nil {
		b = d.addInit(n.Input(2)+"_channels", ir.FromFloat32(chShape, bias.F32()))
	}
	d.replace(n, pre, &ir.Node{OpType: "ConvInteger", Inputs: []string{q[0], wName, q[2], wZP}, Attrs: attrs}, q[1], wScale, b)
	return nil
}

// replace puts prod, the integer product (MatMulInteger or ConvInteger, its output unset), in n's place after the
// nodes pre, followed by the dequantization ORT's quantize_dynamic writes: Cast(float) → Mul(x_scale·w_scale) →
// Add(bias) where bias is not "".
func (d *dynamic) replace(n *ir.Node, pre []*ir.Node, prod *ir.Node, xScale, wScale, bias string) {
	base := baseName(n)
	yInt := d.nm.value(base + "_output_quantized")
	yF := d.nm.value(base + "_output_quantized_cast_output")
	sMul := d.nm.value(base + "_scales_mul")
	y := n.Outputs[0]
	if bias != "" {
		y = d.nm.value(base + "_output_unbiased")
	}
	prod.Name, prod.Outputs = d.nm.node(base+"_"+prod.OpType), []string{yInt}
	pre = append(pre, prod,
		&ir.Node{Name: d.nm.node(base + "_cast"), OpType: "Cast", Inputs: []string{yInt}, Outputs: []string{yF},
			Attrs: []*ir.Attr{{Name: "to", Type: ir.AttrInt, I: int64(ir.Float32)}}},
		&ir.Node{Name: d.nm.node(base + "_scales_mul"), OpType: "Mul", Inputs: []string{xScale, wScale}, Outputs: []string{sMul}},
		&ir.Node{Name: d.nm.node(base + "_output_scale_mul"), OpType: "Mul", Inputs: []string{yF, sMul}, Outputs: []string{y}},
	)
	if bias != "" {
		pre = append(pre, &ir.Node{Name: d.nm.node(base + "_bias_add"), OpType: "Add", Inputs: []string{y, bias},
			Outputs: []string{n.Outputs[0]}})
	}
	for _, p := range pre {
		d.g.InsertBefore(n, p)
	}
	d.g.RemoveNode(n)
	d.rep.Quantized = append(d.rep.Quantized, n.String())
}

// symmetricWeightParams returns the symmetric [−127, 127] parameters of float32 weights w: one per index of axis
// when perAxis is set, else one for the tensor.
func symmetricWeightParams(w *ir.Tensor, axis int, perAxis bool) ([]Params, error) {
	if perAxis {
		return PerChannel(w.F32(), w.Shape, axis, -127, 127, Symmetric)
	}
	lo, hi := MinMax(w.F32())
	return []Params{ComputeParams(lo, hi, -127, 127, Symmetric)}, nil
}

// quantizeConvWeight quantizes Conv weights [M, C/group, k…] symmetrically to [−127, 127] with one scale per
// output channel (or one for the tensor) and stores each q as the uint8 q + 128: ConvInteger's weights with the
// scalar zero point 128.
func quantizeConvWeight(w *ir.Tensor, perChannel bool) (*ir.Tensor, []float32, error) {
	x := w.F32()
	ps, err := symmetricWeightParams(w, 0, perChannel)
	if err != nil {
		return nil, nil, err
	}
	per := len(x) / w.Shape[0]
	q := ir.New(ir.Uint8, w.Shape...)
	qd := q.U8()
	for i, v := range x {
		p := ps[0]
		if perChannel {
			p = ps[i/per]
		}
		qd[i] = uint8(Quantize(v, p, -127, 127) + 128)
	}
	scales := make([]float32, len(ps))
	for i, p := range ps {
		scales[i] = p.Scale
	}
	return q, scales, nil
}

// baseName is what the names of n's replacement nodes and values start with: its name, else its output's.
func baseName(n *ir.Node) string {
	if n.Name != "" {
		return n.Name
	}
	return n.Outputs[0]
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
	ps, err := symmetricWeightParams(w, 1, perColumn)
	if err != nil {
		return nil, nil, err
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
