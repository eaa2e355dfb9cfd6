package prune

import (
	"fmt"

	"github.com/hone-ml/hone/ir"
	"github.com/hone-ml/hone/runtime"
)

// Evaluate scores a model, higher being better: top-1 accuracy on labelled data, or agreement with the
// unpruned model's answers. Sensitivity analysis calls it once per pruned variant.
type Evaluate func(m *ir.Model) (float64, error)

// EvalData is a classification set for a model: one array per model input (all with N rows along axis 0;
// the key "" feeds a one-input model whatever its input's name) and, optionally, N labels.
type EvalData struct {
	Inputs map[string]*ir.Tensor
	Labels []int64
	// Batch is how many rows one run feeds (default 256); a model with a fixed batch size gets that instead.
	Batch   int
	Threads int
}

// Classify runs m over the rows of the data and returns each row's top-1 class (argmax of the first graph
// output's row).
func Classify(m *ir.Model, d EvalData) ([]int64, error) {
	p, err := runtime.Compile(m, runtime.Options{Threads: d.Threads})
	if err != nil {
		return nil, err
	}
	ins := m.Graph.RealInputs()
	if len(ins) == 0 || len(m.Graph.Outputs) == 0 {
		return nil, invalidf("eval: the model has no inputs or no outputs")
	}
	arrays := make([]*ir.Tensor, len(ins))
	n := -1
	for i, vi := range ins {
		t := d.Inputs[vi.Name]
		if t == nil && len(ins) == 1 {
			t = d.Inputs[""]
		}
		if t == nil {
			return nil, invalidf("eval: no data for model input %q", vi.Name)
		}
		if t.Rank() == 0 || (n >= 0 && t.Shape[0] != n) {
			return nil, invalidf("eval: data for input %q has shape %v; every input needs the same N rows", vi.Name, t.Shape)
		}
		n = t.Shape[0]
		arrays[i] = t
	}
	if n == 0 {
		return nil, invalidf("eval: no examples")
	}
	if d.Labels != nil && len(d.Labels) != n {
		return nil, invalidf("eval: %d labels for %d examples", len(d.Labels), n)
	}
	batch := d.Batch
	if batch <= 0 {
		batch = 256
	}
	if s := ins[0].Type.Shape; ins[0].Type.HasShape && len(s) > 0 && s[0].Known() {
		batch = int(s[0].Size)
	}
	out := m.Graph.Outputs[0].Name
	preds := make([]int64, 0, n)
	for lo := 0; lo < n; lo += batch {
		hi := min(lo+batch, n)
		if hi-lo != batch && ins[0].Type.HasShape && len(ins[0].Type.Shape) > 0 && ins[0].Type.Shape[0].Known() {
			return nil, invalidf("eval: %d examples do not split into batches of the model's fixed %d", n, batch)
		}
		feed := map[string]*ir.Tensor{}
		for i, vi := range ins {
			per := arrays[i].NumBytes() / n
			t, err := ir.FromBytes(arrays[i].DType, append([]int{hi - lo}, arrays[i].Shape[1:]...),
				arrays[i].Bytes()[lo*per:hi*per])
			if err != nil {
				return nil, err
			}
			feed[vi.Name] = t
		}
		res, err := p.Run(feed)
		if err != nil {
			return nil, err
		}
		y := res[out]
		if y == nil || y.Len() == 0 || y.Len()%(hi-lo) != 0 || !y.DType.IsFloat() {
			return nil, invalidf("eval: output %q is %v, not %d rows of class scores", out, y, hi-lo)
		}
		v := y.Float64s()
		k := len(v) / (hi - lo)
		for r := range hi - lo {
			row := v[r*k : (r+1)*k]
			best := 0
			for j, s := range row {
				if s > row[best] {
					best = j
				}
			}
			preds = append(preds, int64(best))
		}
	}
	return preds, nil
}

// Agreement is the fraction of a equal to b.
func Agreement(a, b []int64) float64 {
	if len(a) == 0 || len(a) != len(b) {
		return 0
	}
	k := 0
	for i := range a {
		if a[i] == b[i] {
			k++
		}
	}
	return float64(k) / float64(len(a))
}

// Evaluator returns an Evaluate for d: accuracy against d.Labels, or, without labels, agreement with ref's
// predictions (ref is the unpruned model, which then scores 1).
func Evaluator(ref *ir.Model, d EvalData) (Evaluate, error) {
	want := d.Labels
	if want == nil {
		p, err := Classify(ref, d)
		if err != nil {
			return nil, fmt.Errorf("prune: eval of the unpruned model: %w", err)
		}
		want = p
	}
	return func(m *ir.Model) (float64, error) {
		p, err := Classify(m, d)
		if err != nil {
			return 0, err
		}
		return Agreement(p, want), nil
	}, nil
}
