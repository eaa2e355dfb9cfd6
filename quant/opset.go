package quant

import (
	"fmt"
	"math"
	"slices"

	"github.com/hone-ml/hone/ir"
	"github.com/hone-ml/hone/opt"
)

// upgradeTo13 returns a copy of m rewritten for default-domain opset 13 when it declares 6 to 12, nil when it
// already declares 13 or later (or no default domain), and an error when it uses an op whose older form it cannot
// convert. Static mode needs 13 for DequantizeLinear's axis (per-channel weights); PP-OCR's rec and cls exports
// declare 9, det declares 11, and the ONNX model zoo's classic CNNs 7 and 8.
//
// The conversions follow the ONNX operator changelog (docs/Changelog.md):
//   - attributes that became inputs move to int64/float constant initializers (Clip 11, Slice 10, Pad 11,
//     Squeeze/Unsqueeze/Split/ReduceSum 13, TopK 10);
//   - Softmax-like ops, which before 13 flattened the input to 2-D at axis, keep their meaning only where axis
//     is the last dimension (then the flattening is a no-op), checked with the inferred rank;
//   - arithmetic before 7 that broadcasts B from an axis of A (broadcast=1, axis) gets B reshaped to NumPy's
//     alignment, and PRelu's per-channel slope likewise;
//   - attributes that were dropped go where they meant the only behaviour later opsets have: BatchNormalization's
//     is_test (7) and spatial=1 (9), Gemm's broadcast (7); Dropout before 12 becomes the Identity it is in
//     inference, where its mask is unread;
//   - Upsample (removed in 10) and Resize-10 become Resize-13 with their asymmetric coordinates and ONNX
//     Runtime's rounding for nearest ("floor" when upsampling, "ceil" when downsampling), and Scatter
//     (removed in 11) ScatterElements.
//
// Every other op the models use (Conv, pooling, elementwise, MatMul, Reshape, Concat, …) reads the same from 6
// to 13; the ops listed in opsetBlocked do not, and are refused, as are models older than 6 (whose ops carried
// consumed_inputs and other forms ONNX 1.1 dropped).
func upgradeTo13(m *ir.Model, mode string) (*ir.Model, error) {
	have := m.Opset("")
	if have == 0 || have >= 13 {
		return nil, nil
	}
	if have < 6 {
		return nil, fmt.Errorf("quant: %s mode needs opset 13 or later; the model declares %d, older than the 6 hone converts from (convert it first)", mode, have)
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
	floats := func(v []float32) string {
		name := nm.value("opset13_f")
		g.SetInitializer(name, ir.FromFloat32([]int{len(v)}, v))
		return name
	}
	rank := func(v string) (int, bool) {
		t, ok := g.TypeOfValue(v)
		return len(t.Shape), ok && t.HasShape
	}
	cons := g.Consumers()
	unread := func(n *ir.Node, from int) bool { // n's outputs from index from on are unread
		for _, o := range n.Outputs[min(from, len(n.Outputs)):] {
			if o != "" && (len(cons[o]) > 0 || g.IsGraphOutput(o)) {
				return false
			}
		}
		return true
	}
	for _, n := range slices.Clone(g.Nodes) { // AlignInput inserts Unsqueeze nodes, already in opset 13's form
		if !n.IsDefaultDomain() {
			continue
		}
		if removedOps[n.OpType] {
			return nil, fmt.Errorf("quant: %s is an experimental op ONNX removed in opset 10, which hone does not convert", n)
		}
		if since, ok := opsetBlocked[n.OpType]; ok && have < since {
			return nil, fmt.Errorf("quant: %s mode needs opset 13; the model declares %d and %s changed form in %d (convert it first)", mode, have, n, since)
		}
		if ir.UsesLegacyBroadcast(n, have) {
			ra, okA := rank(n.Input(0))
			rb, okB := rank(n.Input(1))
			if !okA || !okB {
				return nil, fmt.Errorf("quant: converting to opset 13: %s broadcasts by axis and its inputs' ranks are unknown", n)
			}
			k, err := ir.LegacyBroadcastOnes(n, have, ra, rb)
			if err != nil {
				return nil, fmt.Errorf("quant: converting to opset 13: %s: %w", n, err)
			}
			if err := opt.AlignInput(g, n, rb, k, 13); err != nil {
				return nil, fmt.Errorf("quant: converting to opset 13: %w", err)
			}
		}
		if have < 7 && ir.LegacyBroadcastOp(n.OpType) {
			removeAttrs(n, "broadcast", "axis")
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
		case "Gemm":
			if have < 7 {
				removeAttrs(n, "broadcast")
			}
		case "PRelu":
			// Before 7 a 1-D slope of C > 1 values applied along axis 1 (the runtime's reading); NumPy's rule
			// needs it as [C, 1, …].
			rx, okX := rank(n.Input(0))
			rs, okS := rank(n.Input(1))
			if have >= 7 || okS && rs != 1 {
				continue
			}
			if !okX || !okS {
				return nil, fmt.Errorf("quant: converting to opset 13: %s: its inputs' ranks are unknown", n)
			}
			if t, _ := g.TypeOfValue(n.Input(1)); rx >= 2 && t.Shape[0].Size != 1 {
				if err := opt.AlignInput(g, n, rs, rx-2, 13); err != nil {
					return nil, fmt.Errorf("quant: converting to opset 13: %w", err)
				}
			}
		case "BatchNormalization":
			if have < 9 && n.AttrInt("spatial", 1) == 0 {
				return nil, fmt.Errorf("quant: converting to opset 13: %s normalises each activation on its own (spatial=0), which opset 9 dropped", n)
			}
			if !unread(n, 1) {
				return nil, fmt.Errorf("quant: converting to opset 13: %s: its running statistics outputs are read (training mode)", n)
			}
			removeAttrs(n, "spatial", "is_test")
			n.Outputs = n.Outputs[:1]
		case "Dropout":
			if have >= 12 {
				continue
			}
			if !unread(n, 1) || have < 7 && n.AttrInt("is_test", 0) == 0 && n.AttrFloat("ratio", 0.5) != 0 {
				return nil, fmt.Errorf("quant: converting to opset 13: %s is in training mode (its mask is read, or is_test=0)", n)
			}
			n.OpType, n.Attrs, n.Inputs, n.Outputs = "Identity", nil, n.Inputs[:1], n.Outputs[:1]
		case "Upsample", "Resize":
			if n.OpType == "Resize" && have >= 11 {
				continue
			}
			scales := n.Input(1)
			if n.OpType == "Upsample" && have < 9 {
				v := n.AttrFloats("scales", nil)
				if v == nil {
					return nil, fmt.Errorf("quant: converting to opset 13: %s lacks scales", n)
				}
				scales = floats(v)
			}
			mode := n.AttrString("mode", "nearest")
			switch mode {
			case "bilinear", "trilinear":
				mode = "linear"
			case "nearest", "linear":
			default:
				return nil, fmt.Errorf("quant: converting to opset 13: %s: mode %q", n, mode)
			}
			attrs := []*ir.Attr{{Name: "mode", Type: ir.AttrString, S: mode},
				{Name: "coordinate_transformation_mode", Type: ir.AttrString, S: "asymmetric"}}
			if mode == "nearest" {
				// ONNX Runtime's rounding for both: floor when upsampling, ceil when downsampling (exact where the
				// scale is 1). Upsample's scales are at least 1 by its definition, so only Resize's need to be known.
				rounding := "floor"
				c := g.Initializers[scales]
				if c == nil && n.OpType == "Resize" || c != nil && c.DType != ir.Float32 {
					return nil, fmt.Errorf("quant: converting to opset 13: %s: its nearest rounding depends on scales that are not a float32 constant", n)
				}
				if c != nil {
					up, down := false, false
					for _, v := range c.F32() {
						up, down = up || v > 1, down || v < 1
					}
					if up && down {
						return nil, fmt.Errorf("quant: converting to opset 13: %s: scales %v up- and downsample, which one nearest_mode cannot round alike", n, c.F32())
					}
					if down {
						rounding = "ceil"
					}
				}
				attrs = append(attrs, &ir.Attr{Name: "nearest_mode", Type: ir.AttrString, S: rounding})
			}
			n.OpType, n.Attrs, n.Inputs = "Resize", attrs, []string{n.Input(0), "", scales}
		case "TopK":
			if have >= 10 {
				continue
			}
			n.Inputs = []string{n.Input(0), ints([]int64{n.AttrInt("k", 0)})}
			removeAttrs(n, "k")
		case "Scatter":
			n.OpType = "ScatterElements"
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
	out.IRVersion = max(out.IRVersion, 7) // opset 13's; before 4, every initializer also had to be a graph input
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
	"RNN": 7, "GRU": 7, "LSTM": 7, "If": 14, "Loop": 14, "Scan": 14,
}

// removedOps are the experimental ops of ONNX's first opsets, which opset 10 dropped.
var removedOps = map[string]bool{"ImageScaler": true, "Crop": true, "Affine": true, "ScaledTanh": true, "ParametricSoftplus": true,
	"GivenTensorFill": true, "ConstantFill": true, "GRUUnit": true, "DynamicSlice": true, "Scale": true}

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
