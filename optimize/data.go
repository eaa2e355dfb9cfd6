package optimize

import (
	"fmt"
	"os"
	"strings"

	"github.com/hone-ml/hone/internal/assets"
	"github.com/hone-ml/hone/ir"
	"github.com/hone-ml/hone/npy"
	"github.com/hone-ml/hone/quant"
)

// MNISTCalib is how many of the embedded held-out digits calibrate when both --calib and --eval are "mnist";
// the evaluation takes the rest, so no digit is used for both.
const MNISTCalib = 200

// MNIST splits the embedded held-out digits into a calibration slice (the first calib) and an evaluation slice
// (the rest, with labels).
func MNIST(calib int) (quant.Samples, *EvalSet, error) {
	images, labels, err := assets.MNISTHeldOut()
	if err != nil {
		return nil, nil, err
	}
	n := images.Shape[0]
	if calib <= 0 || calib >= n {
		return nil, nil, fmt.Errorf("optimize: the calibration slice must hold 1 to %d of the %d digits, got %d", n-1, n, calib)
	}
	c, err := rows(images, 0, calib)
	if err != nil {
		return nil, nil, err
	}
	e, err := rows(images, calib, n)
	if err != nil {
		return nil, nil, err
	}
	return quant.BatchSamples{"": c}, &EvalSet{Inputs: map[string]*ir.Tensor{"": e}, Labels: labels[calib:]}, nil
}

// rows returns rows [lo, hi) of t along axis 0 (a copy).
func rows(t *ir.Tensor, lo, hi int) (*ir.Tensor, error) {
	per := t.NumBytes() / t.Shape[0]
	data := append([]byte(nil), t.Bytes()[lo*per:hi*per]...)
	return ir.FromBytes(t.DType, append([]int{hi - lo}, t.Shape[1:]...), data)
}

// LoadEval reads evaluation data from a .npz: one array per model input, named like it (a single array feeds a
// one-input model whatever its name), plus an optional integer array "labels".
func LoadEval(path string) (*EvalSet, error) {
	arrays, _, err := npy.ReadNPZ(path)
	if err != nil {
		return nil, fmt.Errorf("optimize: eval data: %w", err)
	}
	set := &EvalSet{Inputs: map[string]*ir.Tensor{}}
	for name, t := range arrays {
		if name == "labels" {
			if set.Labels, err = t.Int64s(); err != nil {
				return nil, fmt.Errorf("optimize: eval data %s: labels: %w", path, err)
			}
			continue
		}
		if t.Rank() == 0 {
			return nil, fmt.Errorf("optimize: eval data %s: array %q is a scalar, not N examples", path, name)
		}
		set.Inputs[name] = t
	}
	if len(set.Inputs) == 0 {
		return nil, fmt.Errorf("optimize: eval data %s holds no input arrays", path)
	}
	n := -1
	for name, t := range set.Inputs {
		if n >= 0 && t.Shape[0] != n {
			return nil, fmt.Errorf("optimize: eval data %s: array %q has %d rows, another %d", path, name, t.Shape[0], n)
		}
		n = t.Shape[0]
	}
	if set.Labels != nil && len(set.Labels) != n {
		return nil, fmt.Errorf("optimize: eval data %s: %d labels for %d examples", path, len(set.Labels), n)
	}
	return set, nil
}

// LoadCalib opens calibration data for a model with the given real inputs: a directory of .npy/.npz samples
// (quant.OpenSamples) or one .npz whose arrays hold N rows each, one sample per row.
func LoadCalib(path string, inputs []*ir.ValueInfo) (quant.Samples, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("optimize: calibration data: %w", err)
	}
	if st.IsDir() {
		return quant.OpenSamples(path, inputs)
	}
	input := ""
	if len(inputs) == 1 {
		input = inputs[0].Name
	}
	if !strings.HasSuffix(path, ".npz") {
		return nil, fmt.Errorf("optimize: calibration data %s: want a directory of samples or a .npz", path)
	}
	arrays, _, err := npy.ReadNPZ(path)
	if err != nil {
		return nil, fmt.Errorf("optimize: calibration data: %w", err)
	}
	delete(arrays, "labels")
	if len(arrays) == 1 && input != "" {
		for name, t := range arrays {
			delete(arrays, name)
			arrays[input] = t
		}
	}
	n := -1
	for name, t := range arrays {
		if t.Rank() == 0 || (n >= 0 && t.Shape[0] != n) {
			return nil, fmt.Errorf("optimize: calibration data %s: array %q has shape %v; every array needs the same N rows", path, name, t.Shape)
		}
		n = t.Shape[0]
	}
	if n <= 0 {
		return nil, quant.ErrNoCalibrationData
	}
	return quant.BatchSamples(arrays), nil
}

// named feeds the samples' "" array to a one-input model under its real name, so callers need not know it.
type named struct {
	quant.Samples
	input string
}

func (n named) Sample(i int) (map[string]*ir.Tensor, error) {
	s, err := n.Samples.Sample(i)
	if err != nil {
		return nil, err
	}
	if t, ok := s[""]; ok {
		s = map[string]*ir.Tensor{n.input: t}
	}
	return s, nil
}
