package quant

import (
	"fmt"
	"math"

	"github.com/hone-ml/hone/ir"
)

// upgradeTo13 returns a copy of m rewritten for default-domain opset 13 when it declares 9 to 12, nil when it
// already declares 13 or later (or no default domain), and an error when it uses an op whose older form it cannot
// convert. Static mode needs 13 for DequantizeLinear's axis (per-channel weights); PP-OCR's rec and cls exports
// declare 9 and det declares 11.
//
// The conversions follow the ONNX operator changelog (docs/Changelog.md): attributes that became inputs move to
// int64/float constant initializers (Clip 11, Slice 10, Pad 11, Squeeze/Unsqueeze/Split/ReduceSum 13), and
// Softmax-like ops, which before 13 flattened the input to 2-D at axis, keep their meaning only where axis is the
// last dimension (then the flattening is a no-op), checked with the inferred rank. Every other op the models use
// (Conv, BatchNormalization, pooling, elementwise, MatMul, Reshape, Concat, …) reads the same from 9 to 13; the
// ops listed in opsetBlocked do not, and are refused.
func upgradeTo13(m *ir.Model, mode string) (*ir.Model, error) {
	have := m.Opset("")
	if have == 0 || have >= 13 {
		return nil, nil
	}
	if have < 9 {
		return nil, requireOpset(m, 13, mode)
	}
	out := m.Clone()
	g := out.Graph
	if err := ir.InferGraph(g, opsetMap(m)); err != nil {
		return nil, fmt.Errorf("quant: converting opset %d to 13: %w", have, err)
	}
	nm := newNamer(g)
	ints := func(v []int64) string {
		name := nm.value("opset13_i")
		g.SetInitializer(name, ir.FromInt64([]int{len(v)}, v))
		return name
	}
	scalar := func(f float32) string {
		name := nm.value("opset13_f")
		g.SetInitializer(name, ir.Scalar(f))
		return name
	}
	for _, n := range g.Nodes {
		if !n.IsDefaultDomain() {
			continue
		}
		if since, ok := opsetBlocked[n.OpType]; ok && have < since {
			return nil, fmt.Errorf("quant: %s mode needs opset 13; the model declares %d and %s changed form in %d (convert it first)", mode, have, n, since)
		}
		switch n.OpType {
		case "Clip":
			if have >= 11 {
				continue
			}
			// Before 11 the bounds were attributes defaulting to float's lowest and largest values.
			lo := n.AttrFloat("min", -math.MaxFloat32)
			hi := n.AttrFloat("max", math.MaxFloat32)
			n.Inputs = []string{n.Input(0), scalar(lo), scalar(hi)}
			removeAttrs(n, "min", "max")
		case "Slice":
			if have >= 10 {
				continue
			}
			starts, ends := n.AttrInts("starts", nil), n.AttrInts("ends", nil)
			if starts == nil || ends == nil {
				return nil, fmt.Errorf("quant: converting to opset 13: %s lacks starts or ends", n)
			}
			n.Inputs = []string{n.Input(0), ints(starts), ints(ends)}
			if axes := n.AttrInts("axes", nil); axes != nil {
				n.Inputs = append(n.Inputs, ints(axes))
			}
			removeAttrs(n, "starts", "ends", "axes")
		case "Pad":
			if have >= 11 {
				continue
			}
			n.Inputs = []string{n.Input(0), ints(n.AttrInts("pads", nil)), scalar(n.AttrFloat("value", 0))}
			removeAttrs(n, "pads", "value")
		case "Squeeze", "Unsqueeze", "Split", "ReduceSum":
			name := map[string]string{"Split": "split"}[n.OpType]
			if name == "" {
				name = "axes"
			}
			v := n.AttrInts(name, nil)
			if v == nil {
				if n.OpType == "Unsqueeze" {
					return nil, fmt.Errorf("quant: converting to opset 13: %s lacks axes", n)
				}
				continue
			}
			if len(n.Inputs) != 1 {
				return nil, fmt.Errorf("quant: converting to opset 13: %s has %d inputs, want 1", n, len(n.Inputs))
			}
			n.Inputs = append(n.Inputs, ints(v))
			removeAttrs(n, name)
		case "Softmax", "LogSoftmax", "Hardmax":
			t, ok := g.TypeOfValue(n.Input(0))
			axis := n.AttrInt("axis", 1)
			if !ok || !t.HasShape {
				return nil, fmt.Errorf("quant: converting to opset 13: %s: input rank unknown, so its opset-%d 2-D flattening cannot be checked", n, have)
			}
			r := int64(len(t.Shape))
			if axis < 0 {
				axis += r
			}
			if axis != r-1 {
				return nil, fmt.Errorf("quant: converting to opset 13: %s normalises over axes %d… of a rank-%d input together, which opset 13 cannot express", n, axis, r)
			}
			n.SetAttr(&ir.Attr{Name: "axis", Type: ir.AttrInt, I: axis})
		}
	}
	for i, o := range out.Opsets {
		if o.Domain == "" || o.Domain == "ai.onnx" {
			out.Opsets[i].Version = 13
		}
	}
	g.ValueInfo = map[string]*ir.ValueInfo{}
	return out, nil
}

// opsetBlocked maps ops whose meaning changed before 13 in a way upgradeTo13 does not convert to the opset that
// changed them: a model older than that is refused. Subgraph ops are refused because their bodies would need the
// same conversion.
var opsetBlocked = map[string]int64{
	"Upsample": 10, "Resize": 11, "TopK": 10, "Dropout": 12, "Scatter": 11,
	"If": 14, "Loop": 14, "Scan": 14,
}

func removeAttrs(n *ir.Node, names ...string) {
	kept := n.Attrs[:0]
	for _, a := range n.Attrs {
		drop := false
		for _, s := range names {
			drop = drop || a.Name == s
		}
		if !drop {
			kept = append(kept, a)
		}
	}
	n.Attrs = kept
}

// upgradeNote is the report's note for a model upgradeTo13 converted from opset from.
func upgradeNote(from int64) string {
	return fmt.Sprintf("default-domain opset raised from %d to 13 (ops whose form changed were converted)", from)
}
