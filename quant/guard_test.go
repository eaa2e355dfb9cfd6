package quant

import (
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/hone-ml/hone/internal/irtest"
	"github.com/hone-ml/hone/ir"
)

// TestEvaluate checks the measures against values worked out by hand: y = x against y = 2x (SQNR
// 10·log10(Σx²/Σx²) = 0 dB, cosine 1, same argmax) and against y = −x (SQNR 10·log10(1/4) = −6.02 dB,
// cosine −1, every argmax moved), with labels for accuracy.
func TestEvaluate(t *testing.T) {
	model := func(op string, k float32) *ir.Model {
		b := irtest.New("g")
		x := b.Input("x", ir.Float32, 1, 3)
		c := b.Init("k", ir.Scalar(k))
		b.Output(b.Op(op, []string{x, c}))
		return b.Model(13)
	}
	data := BatchSamples{"x": ir.FromFloat32([]int{2, 3}, []float32{1, 2, 3, 3, 1, 2})}
	labels := []int64{2, 1} // the float model gets the first right, the second wrong
	for _, tc := range []struct {
		name                 string
		q                    *ir.Model
		top1, sqnr, cos, acc float64
	}{
		{"same", model("Mul", 1), 1, math.Inf(1), 1, 0.5},
		{"double", model("Mul", 2), 1, 0, 1, 0.5},
		{"negated", model("Mul", -1), 0, 10 * math.Log10(0.25), -1, 0.5}, // argmaxes 0 and 1: the second is right
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := Evaluate(model("Mul", 1), tc.q, data, labels, Metric{}, "")
			if err != nil {
				t.Fatal(err)
			}
			if r.Samples != 2 || r.Top1 != tc.top1 || !(r.SQNR == tc.sqnr || math.Abs(r.SQNR-tc.sqnr) < 1e-9) ||
				math.Abs(r.Cosine-tc.cos) > 1e-12 || !r.Labeled || r.AccFloat != 0.5 || r.AccQuant != tc.acc {
				t.Errorf("got %+v", r)
			}
		})
	}
	// IoU@1.5: the float outputs above 1.5 are {2, 3} and {3, 2} (4 values); doubled, all 6 are: 4/6. Negated,
	// none are: 0/4. The drop is 1 − IoU, and with the cosine metric 1 − cosine.
	iou := Metric{Kind: MetricIoU, Threshold: 1.5}
	for _, tc := range []struct {
		q        *ir.Model
		iou, cos float64
	}{{model("Mul", 2), 4.0 / 6, 0}, {model("Mul", -1), 0, 2}} {
		r, err := Evaluate(model("Mul", 1), tc.q, data, nil, iou, "")
		if err != nil {
			t.Fatal(err)
		}
		if r.Metric != iou || math.Abs(r.IoU-tc.iou) > 1e-15 || math.Abs(r.Drop()-(1-tc.iou)) > 1e-15 || r.Top1 != 0 ||
			!strings.Contains(r.String(), "IoU@1.5") || strings.Contains(r.String(), "top-1") {
			t.Errorf("iou: %+v %s", r, r)
		}
		r, err = Evaluate(model("Mul", 1), tc.q, data, nil, Metric{Kind: MetricCosine}, "")
		if err != nil {
			t.Fatal(err)
		}
		if math.Abs(r.Drop()-tc.cos) > 1e-12 || strings.Contains(r.String(), "top-1") {
			t.Errorf("cosine: %+v %s", r, r)
		}
	}
	if _, err := Evaluate(model("Mul", 1), model("Mul", 1), data, labels, iou, ""); err == nil || !strings.Contains(err.Error(), "labels") {
		t.Errorf("labels with iou@1.5: %v", err)
	}
	if _, err := Evaluate(model("Mul", 1), model("Mul", 1), data, []int64{1}, Metric{}, ""); err == nil {
		t.Error("1 label for 2 samples accepted")
	}
	if _, err := Evaluate(model("Mul", 1), model("Mul", 1), BatchSamples{}, nil, Metric{}, ""); err == nil {
		t.Error("empty evaluation set accepted")
	}
}

// TestGuardMNIST runs the accuracy guard on the MNIST CNN. Without labels the bound is on top-1 agreement with
// the float model, set to zero disagreements on 500 held-out digits (full int8 changes a few), so the guard must
// keep layers float; the returned model is then measured again, independently of the guard's own numbers. With
// labels the bound is the 0.3 points of top-1 accuracy.
func TestGuardMNIST(t *testing.T) {
	m, x, y := mnist(t)
	calib := BatchSamples{"input": rows(x, 200)}
	eval := BatchSamples{"input": rows(x, 500)}
	if _, _, err := Static(m, calib, StaticConfig{MaxAccuracyDrop: 0.01}); err == nil || !strings.Contains(err.Error(), "--eval") {
		t.Errorf("--max-accuracy-drop without data: %v", err)
	}
	full, _, err := Static(m, calib, StaticConfig{})
	if err != nil {
		t.Fatal(err)
	}
	r0, err := Evaluate(m, full, eval, nil, Metric{}, "")
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("all int8: %s", r0)
	if r0.Drop() == 0 {
		t.Fatal("full int8 agrees on every digit: the unlabeled case would not exercise the guard")
	}
	var log []string
	q, rep, err := Static(m, calib, StaticConfig{Eval: eval, MaxAccuracyDrop: 1e-9, Guard: func(s string) { log = append(log, s) }})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("guard:\n%s\n%v", strings.Join(log, "\n"), rep.Notes)
	r, err := Evaluate(m, q, eval, nil, Metric{}, "")
	if err != nil {
		t.Fatal(err)
	}
	if r.Drop() != 0 || rep.Eval == nil || rep.Eval.Top1 != r.Top1 || len(rep.GuardFloat) == 0 || len(rep.Quantized) == 0 {
		t.Errorf("guarded model: %s; report %+v", r, rep)
	}
	kept := 0
	for _, k := range rep.KeptFloat {
		if strings.HasPrefix(k.Reason, "accuracy guard") {
			kept++
		}
	}
	if kept != len(rep.GuardFloat) {
		t.Errorf("%d guard entries in KeptFloat, %d in GuardFloat", kept, len(rep.GuardFloat))
	}

	// With labels the bound is the 0.3 points of top-1 accuracy; full int8 drops 0.4 on these 500 digits.
	// A fifth of them (every fifth digit) is held out: the guard chooses by the other 400, and the report's two
	// results must be what Evaluate measures on each part.
	labels := y[:500]
	q, rep, err = Static(m, calib, StaticConfig{Eval: eval, Labels: labels, MaxAccuracyDrop: 0.003, HoldOut: 0.2})
	if err != nil {
		t.Fatal(err)
	}
	var sel, held []int
	for i := range 500 {
		if i%5 == 4 {
			held = append(held, i)
		} else {
			sel = append(sel, i)
		}
	}
	pick := func(idx []int) (BatchSamples, []int64) {
		x5 := rows(x, 500)
		r := x5.NumBytes() / 500
		var b []byte
		var l []int64
		for _, i := range idx {
			b = append(b, x5.Bytes()[i*r:(i+1)*r]...)
			l = append(l, labels[i])
		}
		t5, _ := ir.FromBytes(x5.DType, append([]int{len(idx)}, x5.Shape[1:]...), b)
		return BatchSamples{"input": t5}, l
	}
	selData, selLabels := pick(sel)
	r, err = Evaluate(m, q, selData, selLabels, Metric{}, "")
	if err != nil {
		t.Fatal(err)
	}
	if !r.Labeled || r.Drop() > 0.003 || r.Samples != 400 || rep.Eval == nil || *rep.Eval != r {
		t.Errorf("labeled: %s; report %v", r, rep.Eval)
	}
	heldData, heldLabels := pick(held)
	h, err := Evaluate(m, q, heldData, heldLabels, Metric{}, "")
	if err != nil {
		t.Fatal(err)
	}
	if h.Samples != 100 || rep.HeldOut == nil || *rep.HeldOut != h {
		t.Errorf("held out: %s; report %v", h, rep.HeldOut)
	}
	t.Logf("labeled, kept float %v: %v", rep.GuardFloat, rep.Notes)
	t.Logf("labeled: %s; held out: %s", rep.Eval, rep.HeldOut)
}

// TestGuardWeightsInt8 checks what a layer the guard keeps with int8 weights computes: Conv → Relu → Gemm with both
// layers kept (emitKept with weightsInt8) must have no QuantizeLinear (activations float), read each weight through
// a DequantizeLinear of an int8 constant, and compute exactly the float model with its weights replaced by their
// per-channel symmetric int8 round trip, worked out here from ONNX's formulas (scale max|w|/127, round half to even;
// the layers are too narrow for the emitter's float16 scales).
func TestGuardWeightsInt8(t *testing.T) {
	b := irtest.New("wo")
	x := b.Input("x", ir.Float32, 1, 3, 6, 6)
	w1, w2 := irtest.Rand(1, 4, 3, 3, 3), irtest.Rand(2, 5, 64)
	y := b.Op("Conv", []string{x, b.Init("w1", w1), b.Init("b1", irtest.Rand(3, 4))})
	y = b.Op("Relu", []string{y})
	y = b.Op("Reshape", []string{y, b.Init("shape", ir.FromInt64([]int{2}, []int64{1, 64}))})
	b.Output(b.Op("Gemm", []string{y, b.Init("w2", w2), b.Init("b2", irtest.Rand(4, 5))}, irtest.Int("transB", 1)))
	m := b.Model(13)
	calib := BatchSamples{"x": irtest.Rand(5, 4, 3, 6, 6)}
	sp, err := prepareStatic(m, calib, StaticConfig{WeightRounding: RoundNearest})
	if err != nil {
		t.Fatal(err)
	}
	all := map[int]string{}
	for _, i := range sp.cand {
		all[i] = "kept"
	}
	q, _, err := sp.emitKept(all, true)
	if err != nil {
		t.Fatal(err)
	}
	ops := irtest.OpCount(q.Graph)
	if ops["QuantizeLinear"] != 0 || ops["DequantizeLinear"] != 2 {
		t.Fatalf("ops %v: want 2 DequantizeLinear (the weights) and no QuantizeLinear", ops)
	}
	roundTrip := func(w *ir.Tensor) *ir.Tensor {
		out := w.Clone()
		rows := w.Shape[0]
		inner := w.Len() / rows
		for r := 0; r < rows; r++ {
			row := out.F32()[r*inner : (r+1)*inner]
			var hi float64
			for _, v := range row {
				hi = math.Max(hi, math.Abs(float64(v)))
			}
			s := float32(hi / 127)
			for i, v := range row {
				row[i] = float32(math.RoundToEven(float64(v/s))) * s
			}
		}
		return out
	}
	ref := m.Clone()
	ref.Graph.SetInitializer("w1", roundTrip(w1))
	ref.Graph.SetInitializer("w2", roundTrip(w2))
	in, _ := calib.Sample(0)
	got := runHone(t, q, in)[q.Graph.Outputs[0].Name].F32()
	want := runHone(t, ref, in)[ref.Graph.Outputs[0].Name].F32()
	for i := range want {
		if math.Abs(float64(got[i]-want[i])) > 1e-5*(1+math.Abs(float64(want[i]))) {
			t.Fatalf("output %d: %g, float model with round-tripped weights %g", i, got[i], want[i])
		}
	}
}

func TestParseMetric(t *testing.T) {
	for in, want := range map[string]Metric{"": {}, "auto": {}, "top1": {Kind: MetricTop1}, "cosine": {Kind: MetricCosine}, "pixel": {Kind: MetricPixel},
		"iou@0.3": {Kind: MetricIoU, Threshold: 0.3}, "iou@-1": {Kind: MetricIoU, Threshold: -1}} {
		got, err := ParseMetric(in)
		if err != nil || got != want {
			t.Errorf("%q: %+v, %v", in, got, err)
		}
		if back, _ := ParseMetric(got.String()); back != got {
			t.Errorf("%q: String %q reads back as %+v", in, got.String(), back)
		}
	}
	for _, in := range []string{"iou", "iou@", "iou@x", "iou@NaN", "iou@inf", "top5", "Top1"} {
		if m, err := ParseMetric(in); err == nil {
			t.Errorf("%q accepted as %+v", in, m)
		}
	}
}

// TestScoreRows checks which first outputs the auto metric scores by top-1: class scores in rows, not maps.
func TestScoreRows(t *testing.T) {
	for _, tc := range []struct {
		name  string
		build func(b *irtest.Builder, x string) string
		rank  int
		want  bool
	}{
		{"matrix", func(b *irtest.Builder, x string) string { return b.Op("Relu", []string{x}) }, 2, true},
		{"conv map", func(b *irtest.Builder, x string) string {
			return b.Op("Conv", []string{x, b.Init("w", irtest.Rand(1, 2, 3, 1, 1))})
		}, 4, false},
		{"sigmoid map", func(b *irtest.Builder, x string) string { return b.Op("Sigmoid", []string{x}) }, 4, false},
		{"softmax last", func(b *irtest.Builder, x string) string { return b.Op("Softmax", []string{x}, irtest.Int("axis", 2)) }, 3, true},
		{"softmax default", func(b *irtest.Builder, x string) string { return b.Op("Softmax", []string{x}) }, 3, true},
		{"softmax channels", func(b *irtest.Builder, x string) string { return b.Op("Softmax", []string{x}, irtest.Int("axis", 1)) }, 3, false},
		{"linear head", func(b *irtest.Builder, x string) string {
			y := b.Op("MatMul", []string{x, b.Init("w", irtest.Rand(1, 4, 5))})
			return b.Op("Add", []string{y, b.Init("b", irtest.Rand(2, 5))})
		}, 3, true},
		{"reshaped softmax", func(b *irtest.Builder, x string) string {
			return b.Op("Reshape", []string{b.Op("LogSoftmax", []string{x}), b.Init("s", irtest.I64(1, 2, 3, 4))})
		}, 4, true},
		{"transposed softmax", func(b *irtest.Builder, x string) string {
			return b.Op("Transpose", []string{b.Op("Softmax", []string{x})}, irtest.Ints("perm", 0, 2, 1))
		}, 3, false},
		{"graph input", func(b *irtest.Builder, x string) string { return x }, 3, false},
	} {
		b := irtest.New("g")
		x := b.Input("x", ir.Float32, 1, 3, 4)
		y := tc.build(b, x)
		if got := scoreRows(b.G, y, tc.rank); got != tc.want {
			t.Errorf("%s: scoreRows %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestHoldOut(t *testing.T) {
	for _, tc := range []struct {
		n    int
		f    float64
		held []int
	}{{8, 0.25, []int{3, 7}}, {10, 0.2, []int{4, 9}}, {10, 0.25, []int{3, 7}}, {5, 0, nil}, {3, 0.5, []int{1}}, {1, 0.5, nil}} {
		sel, held := holdOut(tc.n, tc.f)
		if !slices.Equal(held, tc.held) || len(sel)+len(held) != tc.n {
			t.Errorf("holdOut(%d, %g) = %v, %v; want held %v", tc.n, tc.f, sel, held, tc.held)
		}
		for _, i := range sel {
			if slices.Contains(held, i) {
				t.Errorf("holdOut(%d, %g): %d both chosen by and held out", tc.n, tc.f, i)
			}
		}
	}
}

// TestGuardErrors: the guard refuses what it cannot judge, naming why.
func TestGuardErrors(t *testing.T) {
	b := irtest.New("map")
	x := b.Input("x", ir.Float32, 1, 3, 4, 4)
	b.Output(b.Op("Sigmoid", []string{b.Op("Conv", []string{x, b.Init("w", irtest.Rand(1, 2, 3, 1, 1))})}))
	m := b.Model(13)
	data := BatchSamples{"x": irtest.Rand(2, 4, 3, 4, 4)}
	for _, tc := range []struct {
		cfg  StaticConfig
		want string
	}{
		{StaticConfig{Eval: data, MaxAccuracyDrop: 0.01}, "--eval-metric"},
		{StaticConfig{Eval: data, MaxAccuracyDrop: 0.01, Metric: Metric{Kind: MetricIoU, Threshold: 0.5}, HoldOut: 1}, "held-out fraction"},
		{StaticConfig{Eval: data, MaxAccuracyDrop: 0.01, Metric: Metric{Kind: MetricIoU, Threshold: 0.5}, HoldOut: -0.1}, "held-out fraction"},
		{StaticConfig{Eval: BatchSamples{"x": irtest.Rand(2, 1, 3, 4, 4)}, MaxAccuracyDrop: 0.01, Metric: Metric{Kind: MetricCosine}, HoldOut: 0.5}, "leaves 1 to choose by and 0 held out"},
	} {
		if _, _, err := Static(m, data, tc.cfg); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: %v, want an error naming %q", tc.cfg, err, tc.want)
		}
	}
	// Without the guard the map is measured, without a top-1 figure.
	_, rep, err := Static(m, data, StaticConfig{Eval: data})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Eval == nil || rep.Eval.Metric.Kind != MetricCosine || strings.Contains(rep.Eval.String(), "top-1") || rep.HeldOut != nil {
		t.Errorf("eval of a map: %+v", rep.Eval)
	}
}

// TestEvalOutput judges a two-output model by the output named: the first is a Conv's map (auto: cosine), the
// second a Gemm's [1, 5] scores (auto: top-1); a name the model lacks is an error listing its outputs.
func TestEvalOutput(t *testing.T) {
	b := irtest.New("two")
	x := b.Input("x", ir.Float32, 1, 3, 4, 4)
	c := b.Op("Conv", []string{x, b.Init("w", irtest.Rand(1, 2, 3, 1, 1))})
	f := b.Op("Reshape", []string{c, b.Init("s", irtest.I64(1, 32))})
	g := b.Op("Gemm", []string{f, b.Init("w2", irtest.Rand(2, 5, 32)), b.Init("b2", irtest.Rand(3, 5))}, irtest.Int("transB", 1))
	b.Output(c, g)
	m := b.Model(13)
	data := BatchSamples{"x": irtest.Rand(4, 6, 3, 4, 4)}
	for _, tc := range []struct {
		output string
		kind   MetricKind
	}{{"", MetricCosine}, {c, MetricCosine}, {g, MetricTop1}} {
		_, rep, err := Static(m, data, StaticConfig{Eval: data, EvalOutput: tc.output})
		if err != nil {
			t.Fatal(err)
		}
		if rep.Eval == nil || rep.Eval.Metric.Kind != tc.kind || rep.Eval.Samples != 6 {
			t.Errorf("output %q: %+v, want metric %d", tc.output, rep.Eval, tc.kind)
		}
	}
	// The guard on the scores, which it can judge by top-1.
	if _, rep, err := Static(m, data, StaticConfig{Eval: data, EvalOutput: g, MaxAccuracyDrop: 0.5}); err != nil || rep.Eval.Metric.Kind != MetricTop1 {
		t.Errorf("guard on %q: %v %+v", g, err, rep)
	}
	if _, _, err := Static(m, data, StaticConfig{Eval: data, EvalOutput: "nope"}); err == nil || !strings.Contains(err.Error(), `no output "nope"`) ||
		!strings.Contains(err.Error(), g) {
		t.Errorf("unknown output: %v", err)
	}
}

// TestPixelMetric checks the per-pixel class agreement against a hand-worked map: channels [1 5 3 0] and
// [2 4 3 1] have per-position classes 1 0 0 1 (a tie goes to the first channel); negated, 0 1 0 0: one position
// of four agrees. Doubled, all do. A Softmax over the channels of a map makes it the auto metric (and the guard
// then accepts auto); a single-channel map cannot be scored so.
func TestPixelMetric(t *testing.T) {
	model := func(k float32, softmax bool) *ir.Model {
		b := irtest.New("seg")
		x := b.Input("x", ir.Float32, 1, 2, 2, 2)
		y := b.Op("Mul", []string{x, b.Init("k", ir.Scalar(k))})
		if softmax {
			y = b.Op("Softmax", []string{y}, irtest.Int("axis", 1))
		}
		b.Output(y)
		return b.Model(13)
	}
	data := BatchSamples{"x": ir.FromFloat32([]int{1, 2, 2, 2}, []float32{1, 5, 3, 0, 2, 4, 3, 1})}
	for _, tc := range []struct {
		k    float32
		want float64
	}{{-1, 0.25}, {2, 1}} {
		r, err := Evaluate(model(1, false), model(tc.k, false), data, nil, Metric{Kind: MetricPixel}, "")
		if err != nil {
			t.Fatal(err)
		}
		if r.Top1 != tc.want || r.Drop() != 1-tc.want || !strings.Contains(r.String(), "pixel agreement") {
			t.Errorf("k=%g: %+v %s, want %g", tc.k, r, r, tc.want)
		}
	}
	r, err := Evaluate(model(1, true), model(1, true), data, nil, Metric{}, "")
	if err != nil || r.Metric.Kind != MetricPixel || r.Top1 != 1 {
		t.Errorf("auto on a channel Softmax: %+v, %v", r, err)
	}
	if r, err := Evaluate(model(1, false), model(1, false), data, nil, Metric{}, ""); err != nil || r.Metric.Kind != MetricCosine {
		t.Errorf("auto on a plain map: %+v, %v", r, err)
	}
	seg := irtest.New("convseg")
	sx := seg.Input("x", ir.Float32, 1, 3, 4, 4)
	seg.Output(seg.Op("Softmax", []string{seg.Op("Conv", []string{sx, seg.Init("w", irtest.Rand(5, 4, 3, 1, 1))})}, irtest.Int("axis", 1)))
	segData := BatchSamples{"x": irtest.Rand(6, 8, 3, 4, 4)}
	if _, rep, err := Static(seg.Model(13), segData, StaticConfig{Eval: segData, MaxAccuracyDrop: 0.5}); err != nil ||
		rep.Eval.Metric.Kind != MetricPixel {
		t.Errorf("guard on a segmentation, auto metric: %v %+v", err, rep)
	}
	b := irtest.New("one")
	x := b.Input("x", ir.Float32, 1, 1, 2, 2)
	b.Output(b.Op("Sigmoid", []string{x}))
	one := b.Model(13)
	if _, err := Evaluate(one, one, BatchSamples{"x": irtest.Rand(1, 1, 1, 2, 2)}, nil, Metric{Kind: MetricPixel}, ""); err == nil ||
		!strings.Contains(err.Error(), "C ≥ 2") {
		t.Errorf("one-channel map: %v", err)
	}
}
