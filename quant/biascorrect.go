package quant

import (
	"fmt"

	"github.com/hone-ml/hone/ir"
	"github.com/hone-ml/hone/runtime"
)

// bcLayer is one layer bias correction adjusts: the per-channel output sums of the float and the quantized model.
type bcLayer struct {
	bias      string
	channels  int
	fp, q     []float64
	nfp, nq   int64
	corrected bool
}

// biasCorrect is empirical bias correction (Nagel et al. 2019, "Data-Free Quantization Through Weight Equalization
// and Bias Correction", §4.2, the variant with data): quantization shifts the mean of a layer's output channels
// (rounding of its weights, clipping and rounding of its inputs, and — through HardSwish and the like, whose mean
// moves with the noise of their input — the layers before), and a shift in the mean is a bias. It subtracts from
// each quantized Conv's and Gemm's float bias (before emit quantizes it) the difference of its output's
// per-channel means on the calibration samples, E[y_q] − E[y]. The layers are corrected in graph order, `chunk`
// at a time, each measured on the quantized model with the layers before already corrected: correcting all at
// once counts an upstream shift again in every layer it reaches. It returns the number of layers corrected.
func (sp *staticPrep) biasCorrect(data Samples, chunk int) (int, error) {
	chunk = max(chunk, 1)
	g := sp.m.Graph
	prod, cons := g.Producers(), g.Consumers()
	layers := map[string]*bcLayer{} // by node name (emit keeps them; output names may change)
	var order []string
	for _, i := range sp.cand {
		n := g.Nodes[i]
		plain := n.OpType == "Conv" || (n.OpType == "Gemm" && n.AttrFloat("alpha", 1) == 1 && n.AttrFloat("beta", 1) == 1)
		b := constTensor(g, prod, n.Input(2))
		if !plain || b == nil || b.DType != ir.Float32 || len(cons[n.Input(2)]) != 1 || len(n.Outputs) != 1 {
			continue
		}
		layers[n.Name] = &bcLayer{bias: n.Input(2), channels: b.Len()}
		order = append(order, n.Name)
	}
	if len(layers) == 0 {
		return 0, nil
	}
	// Without the runtime's fusions every layer output stays observable; the QDQ model then runs as float with
	// fake quantization, which rounds as the integer kernels do.
	fp, err := runtime.Compile(sp.m, runtime.Options{NoOptimize: true})
	if err != nil {
		return 0, fmt.Errorf("quant: bias correction: %w", err)
	}
	if err := observeMeans(fp, data, layers, false); err != nil {
		return 0, err
	}
	corrected := 0
	for start := 0; start < len(order); start += chunk {
		qm, _, err := sp.emit(nil)
		if err != nil {
			return 0, err
		}
		q, err := runtime.Compile(qm, runtime.Options{NoOptimize: true})
		if err != nil {
			return 0, fmt.Errorf("quant: bias correction: %w", err)
		}
		for _, l := range layers {
			l.q, l.nq = make([]float64, l.channels), 0
		}
		if err := observeMeans(q, data, layers, true); err != nil {
			return 0, err
		}
		for _, name := range order[start:min(start+chunk, len(order))] {
			l := layers[name]
			if l.nfp == 0 || l.nfp != l.nq {
				continue
			}
			b := constTensor(g, prod, l.bias).Clone()
			for c := range b.F32() {
				b.F32()[c] -= float32((l.q[c] - l.fp[c]) / float64(l.nq))
			}
			if _, ok := g.Initializers[l.bias]; ok {
				g.SetInitializer(l.bias, b)
			} else {
				prod[l.bias].Attr("value").T = b
			}
			corrected++
		}
	}
	return corrected, nil
}

// observeMeans runs p over data and adds each layer's output to its per-channel sums (axis 1: NCHW for Conv,
// [batch, features] for Gemm), into q or fp.
func observeMeans(p *runtime.Plan, data Samples, layers map[string]*bcLayer, quant bool) error {
	for _, l := range layers {
		if quant {
			l.q, l.nq = make([]float64, l.channels), 0
		} else {
			l.fp, l.nfp = make([]float64, l.channels), 0
		}
	}
	for i := 0; i < data.Len(); i++ {
		in, err := data.Sample(i)
		if err != nil {
			return fmt.Errorf("quant: bias correction sample %d: %w", i, err)
		}
		_, err = p.RunHook(in, func(n *ir.Node, _, outs []*ir.Tensor, _, _ int64) {
			l := layers[n.Name]
			if l == nil || len(outs) == 0 || outs[0] == nil || outs[0].DType != ir.Float32 || outs[0].Rank() < 2 ||
				outs[0].Shape[1] != l.channels {
				return
			}
			sum, cnt := l.fp, &l.nfp
			if quant {
				sum, cnt = l.q, &l.nq
			}
			x := outs[0].F32()
			inner := ir.NumElements(outs[0].Shape[2:])
			for j, v := range x {
				sum[(j/inner)%l.channels] += float64(v)
			}
			*cnt += int64(len(x) / l.channels)
		})
		if err != nil {
			return fmt.Errorf("quant: bias correction sample %d: %w", i, err)
		}
	}
	return nil
}
