package bench

import (
	"fmt"
	"sort"
	"strings"

	"github.com/hone-ml/hone/ir"
	"github.com/hone-ml/hone/npy"
)

// EvalSet is a labelled (or unlabelled) evaluation set: one array per model input, all sharing the first
// dimension N, and optionally N class labels.
type EvalSet struct {
	Name string
	// Inputs holds the arrays by model input name; the key "" stands for the only input of a one-input model.
	Inputs map[string]*ir.Tensor
	// Labels are the true classes. Without labels a variant is scored by top-1 agreement with the first variant,
	// which is how a lossy variant is judged when only the fp32 model's answers are known.
	Labels []int64
}

// N is the number of examples.
func (e *EvalSet) N() int {
	for _, t := range e.Inputs {
		if len(t.Shape) > 0 {
			return t.Shape[0]
		}
	}
	return 0
}

// LoadEvalNPZ reads an evaluation set from a .npz archive: an optional int array "labels" (N) and one array per
// model input, named like the input; an archive with a single other array feeds a one-input model whatever its name.
func LoadEvalNPZ(path string) (*EvalSet, error) {
	arrays, order, err := npy.ReadNPZ(path)
	if err != nil {
		return nil, fmt.Errorf("bench: eval data %s: %w", path, err)
	}
	set := &EvalSet{Name: path, Inputs: map[string]*ir.Tensor{}}
	n := -1
	for _, name := range order {
		t := arrays[name]
		if name == "labels" {
			l, err := t.Int64s()
			if err != nil || t.Rank() != 1 {
				return nil, fmt.Errorf("bench: eval data %s: labels are %v, want an integer vector", path, t)
			}
			set.Labels = l
			continue
		}
		if t.Rank() == 0 {
			return nil, fmt.Errorf("bench: eval data %s: array %q is a scalar, want N examples along the first axis", path, name)
		}
		if n >= 0 && t.Shape[0] != n {
			return nil, fmt.Errorf("bench: eval data %s: array %q has %d examples, others have %d", path, name, t.Shape[0], n)
		}
		n = t.Shape[0]
		set.Inputs[name] = t
	}
	if len(set.Inputs) == 0 {
		return nil, fmt.Errorf("bench: eval data %s holds no input arrays (have %s)", path, strings.Join(order, ", "))
	}
	if set.Labels != nil && len(set.Labels) != n {
		return nil, fmt.Errorf("bench: eval data %s: %d labels for %d examples", path, len(set.Labels), n)
	}
	if len(set.Inputs) == 1 {
		for _, t := range set.Inputs {
			set.Inputs[""] = t // a lone array feeds a one-input model whatever its name
		}
	}
	return set, nil
}

// arrayFor finds the eval array that feeds the model input vi.
func (e *EvalSet) arrayFor(vi *ir.ValueInfo, only bool) (*ir.Tensor, error) {
	if t, ok := e.Inputs[vi.Name]; ok {
		return t, nil
	}
	if t, ok := e.Inputs[""]; ok && only {
		return t, nil
	}
	var have []string
	for k := range e.Inputs {
		if k != "" {
			have = append(have, k)
		}
	}
	sort.Strings(have)
	return nil, fmt.Errorf("bench: eval data %s has no array for input %q (have %s)", e.Name, vi.Name, strings.Join(have, ", "))
}

// Predict runs the eval set through s in chunks of batch rows and returns the top-1 class of each example
// (argmax of the first output's row).
func Predict(s Session, inputs []*ir.ValueInfo, set *EvalSet, batch int) ([]int64, error) {
	n := set.N()
	if n == 0 {
		return nil, fmt.Errorf("bench: eval data %s is empty", set.Name)
	}
	arrays := make([]*ir.Tensor, len(inputs))
	for i, vi := range inputs {
		t, err := set.arrayFor(vi, len(inputs) == 1)
		if err != nil {
			return nil, err
		}
		if t, err = castTo(t, vi); err != nil {
			return nil, fmt.Errorf("bench: eval data %s: %w", set.Name, err)
		}
		arrays[i] = t
	}
	// A model whose batch dimension is fixed gets chunks of exactly that size.
	if len(inputs) > 0 && inputs[0].Type.HasShape && len(inputs[0].Type.Shape) > 0 && inputs[0].Type.Shape[0].Known() {
		batch = int(inputs[0].Type.Shape[0].Size)
	}
	batch = max(batch, 1)
	preds := make([]int64, 0, n)
	for lo := 0; lo < n; lo += batch {
		hi := min(lo+batch, n)
		feed := map[string]*ir.Tensor{}
		for i, vi := range inputs {
			t, err := rows(arrays[i], lo, hi)
			if err != nil {
				return nil, err
			}
			feed[vi.Name] = t
		}
		out, err := s.Run(feed)
		if err != nil {
			return nil, err
		}
		p, err := argmaxRows(firstOutput(out), hi-lo)
		if err != nil {
			return nil, err
		}
		preds = append(preds, p...)
	}
	return preds, nil
}

// Score is the fraction of preds equal to want.
func Score(preds, want []int64) float64 {
	if len(preds) == 0 || len(preds) != len(want) {
		return 0
	}
	ok := 0
	for i := range preds {
		if preds[i] == want[i] {
			ok++
		}
	}
	return float64(ok) / float64(len(preds))
}

func firstOutput(out map[string]*ir.Tensor) *ir.Tensor {
	// Sessions return a map; the classifier's logits are the only output in the models bench evaluates, and
	// with several the lexically first name keeps the choice stable across backends.
	var names []string
	for k := range out {
		names = append(names, k)
	}
	sort.Strings(names)
	if len(names) == 0 {
		return nil
	}
	return out[names[0]]
}

func argmaxRows(t *ir.Tensor, n int) ([]int64, error) {
	if t == nil || t.Len() == 0 || t.Len()%n != 0 {
		return nil, fmt.Errorf("bench: eval: output %v does not split into %d rows of class scores", t, n)
	}
	v := t.Float64s()
	classes := len(v) / n
	out := make([]int64, n)
	for i := range out {
		row := v[i*classes : (i+1)*classes]
		best := 0
		for j := range row {
			if row[j] > row[best] {
				best = j
			}
		}
		out[i] = int64(best)
	}
	return out, nil
}

// rows returns rows [lo, hi) of t along the first axis as a new tensor.
func rows(t *ir.Tensor, lo, hi int) (*ir.Tensor, error) {
	per := t.NumBytes() / max(t.Shape[0], 1)
	shape := append([]int{hi - lo}, t.Shape[1:]...)
	return ir.FromBytes(t.DType, shape, t.Bytes()[lo*per:hi*per])
}

// castTo converts float eval arrays to the input's float type; any other mismatch is an error, since guessing a
// scaling (uint8 pixels to [0,1]?) would silently change the accuracy.
func castTo(t *ir.Tensor, vi *ir.ValueInfo) (*ir.Tensor, error) {
	want := vi.Type.DType
	if want == ir.Undefined || want == t.DType {
		return t, nil
	}
	if want == ir.Float32 && t.DType.IsFloat() {
		v := t.Float64s()
		f := make([]float32, len(v))
		for i, x := range v {
			f[i] = float32(x)
		}
		return ir.FromFloat32(t.Shape, f), nil
	}
	return nil, fmt.Errorf("array for input %q is %s, the model wants %s", vi.Name, t.DType, want)
}
