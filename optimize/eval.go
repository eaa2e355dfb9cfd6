package optimize

import (
	"fmt"

	"github.com/hone-ml/hone/ir"
	"github.com/hone-ml/hone/runtime"
)

// EvalSet is the data a recipe is judged on: one array per model input (all with N rows along axis 0; the key ""
// feeds a one-input model whatever its input's name) and, optionally, N class labels.
//
// With labels the score is top-1 accuracy. Without labels it is agreement with the fp32 model's answers, the
// usual stand-in when only the original model is trusted: for a classifier ([N, C] output) the fraction of rows
// whose top-1 class matches; for a dense map ([N, C, …] output) the fraction of positions whose decision matches,
// the decision being the argmax over C channels, or, for a single-channel score map such as a text detector's
// probability map, whether the score exceeds MapThreshold.
type EvalSet struct {
	Inputs map[string]*ir.Tensor
	Labels []int64
	// MapThreshold binarizes single-channel maps (default 0.5; PP-OCR's DB post-processing uses 0.3).
	MapThreshold float64
}

// N is the number of examples.
func (e *EvalSet) N() int {
	for _, t := range e.Inputs {
		if t.Rank() > 0 {
			return t.Shape[0]
		}
	}
	return 0
}

// scorer turns a model into a score in [0, 1] on an EvalSet.
type scorer struct {
	set     *EvalSet
	want    []int64 // labels, or the fp32 model's decisions
	metric  string  // "accuracy" or "agreement"
	batch   int
	threads int
}

func newScorer(ref *ir.Model, set *EvalSet, batch, threads int) (*scorer, error) {
	s := &scorer{set: set, batch: batch, threads: threads, metric: "accuracy", want: set.Labels}
	if s.batch <= 0 {
		s.batch = 1
	}
	if set.Labels == nil {
		p, err := s.decisions(ref)
		if err != nil {
			return nil, fmt.Errorf("optimize: evaluating the fp32 model: %w", err)
		}
		s.want, s.metric = p, "agreement"
		return s, nil
	}
	if len(set.Labels) != set.N() {
		return nil, fmt.Errorf("optimize: eval data has %d labels for %d examples", len(set.Labels), set.N())
	}
	return s, nil
}

// score is the fraction of decisions equal to the wanted ones.
func (s *scorer) score(m *ir.Model) (float64, error) {
	p, err := s.decisions(m)
	if err != nil {
		return 0, err
	}
	if len(p) != len(s.want) {
		if s.set.Labels != nil {
			return 0, fmt.Errorf("optimize: labels need one class per example, but the model's first output gives %d decisions for %d examples", len(p), len(s.want))
		}
		return 0, fmt.Errorf("optimize: the model gives %d decisions, the fp32 model %d: the output shape changed", len(p), len(s.want))
	}
	k := 0
	for i := range p {
		if p[i] == s.want[i] {
			k++
		}
	}
	return float64(k) / float64(len(p)), nil
}

// decisions runs m over the set in batches and returns its decisions: one per row for a [N, C] output, one per
// position for a [N, C, …] map.
func (s *scorer) decisions(m *ir.Model) ([]int64, error) {
	p, err := runtime.Compile(m, runtime.Options{Threads: s.threads})
	if err != nil {
		return nil, err
	}
	ins := m.Graph.RealInputs()
	if len(ins) == 0 || len(m.Graph.Outputs) == 0 {
		return nil, fmt.Errorf("optimize: eval: the model has no inputs or no outputs")
	}
	arrays := make([]*ir.Tensor, len(ins))
	n := -1
	for i, vi := range ins {
		t := s.set.Inputs[vi.Name]
		if t == nil && len(ins) == 1 {
			t = s.set.Inputs[""]
		}
		if t == nil && len(ins) == 1 && len(s.set.Inputs) == 1 {
			for _, v := range s.set.Inputs {
				t = v // a one-array set feeds a one-input model whatever the array's name
			}
		}
		if t == nil {
			return nil, fmt.Errorf("optimize: eval: no data for model input %q", vi.Name)
		}
		if t.Rank() == 0 || (n >= 0 && t.Shape[0] != n) {
			return nil, fmt.Errorf("optimize: eval: data for input %q has shape %v; every input needs the same N rows", vi.Name, t.Shape)
		}
		n = t.Shape[0]
		arrays[i] = t
	}
	if n == 0 {
		return nil, fmt.Errorf("optimize: eval: no examples")
	}
	batch := s.batch
	if sh := ins[0].Type.Shape; ins[0].Type.HasShape && len(sh) > 0 && sh[0].Known() {
		batch = int(sh[0].Size) // a fixed batch dimension must be fed as it is
		if n%batch != 0 {
			return nil, fmt.Errorf("optimize: eval: %d examples do not split into the model's fixed batch of %d", n, batch)
		}
	}
	thr := s.set.MapThreshold
	if thr == 0 {
		thr = 0.5
	}
	out := m.Graph.Outputs[0].Name
	var preds []int64
	for lo := 0; lo < n; lo += batch {
		hi := min(lo+batch, n)
		feed := map[string]*ir.Tensor{}
		for i, vi := range ins {
			per := arrays[i].NumBytes() / n
			t, err := ir.FromBytes(arrays[i].DType, append([]int{hi - lo}, arrays[i].Shape[1:]...), arrays[i].Bytes()[lo*per:hi*per])
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
		if y == nil || y.Rank() < 2 || y.Shape[0] != hi-lo || y.Len() == 0 || !y.DType.IsFloat() {
			return nil, fmt.Errorf("optimize: eval: output %q is %v, not %d rows of float scores", out, y, hi-lo)
		}
		preds = appendDecisions(preds, y.Shape, y.Float64s(), thr)
	}
	return preds, nil
}

// appendDecisions appends the decisions of one batch of output y (shape [B, C, …], values v).
func appendDecisions(preds []int64, shape []int, v []float64, thr float64) []int64 {
	b, c := shape[0], shape[1]
	inner := len(v) / (b * c) // positions per channel; 1 for a [B, C] classifier output
	for r := range b {
		row := v[r*c*inner : (r+1)*c*inner]
		for pos := range inner {
			if c == 1 {
				d := int64(0)
				if row[pos] > thr {
					d = 1
				}
				preds = append(preds, d)
				continue
			}
			best := 0
			for j := 1; j < c; j++ {
				if row[j*inner+pos] > row[best*inner+pos] {
					best = j
				}
			}
			preds = append(preds, int64(best))
		}
	}
	return preds
}
