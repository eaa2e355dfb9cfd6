package quant

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/hone-ml/hone/ir"
	"github.com/hone-ml/hone/npy"
)

// BatchSamples serves the rows of in-memory batches as samples of batch size 1: sample i is row i of every
// tensor (all must have the same first dimension).
type BatchSamples map[string]*ir.Tensor

// Len is the batch size.
func (b BatchSamples) Len() int {
	for _, t := range b {
		if t.Rank() == 0 {
			return 0
		}
		return t.Shape[0]
	}
	return 0
}

// Sample returns row i of each tensor, keeping a leading dimension of 1.
func (b BatchSamples) Sample(i int) (map[string]*ir.Tensor, error) {
	out := map[string]*ir.Tensor{}
	for name, t := range b {
		if t.Rank() == 0 || i >= t.Shape[0] {
			return nil, fmt.Errorf("batch %q of shape %v has no row %d", name, t.Shape, i)
		}
		row := t.NumBytes() / t.Shape[0]
		shape := append([]int{1}, t.Shape[1:]...)
		r, err := ir.FromBytes(t.DType, shape, t.Bytes()[i*row:(i+1)*row])
		if err != nil {
			return nil, err
		}
		out[name] = r
	}
	return out, nil
}

// DirSamples is a calibration directory: each .npy file is one sample of the model's single input, and each .npz
// file one sample with an array per input name. Files are read when asked for, in name order.
type DirSamples struct {
	files []string
	input string // the single input .npy files feed
}

// OpenDir lists the samples in dir. input names the model input that .npy files feed ("" when the model has
// several: then only .npz files are accepted).
func OpenDir(dir, input string) (*DirSamples, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("quant: calibration data: %w", err)
	}
	d := &DirSamples{input: input}
	for _, e := range ents {
		ext := strings.ToLower(filepath.Ext(e.Name()))
		if e.IsDir() || (ext != ".npy" && ext != ".npz") {
			continue
		}
		if ext == ".npy" && input == "" {
			return nil, fmt.Errorf("quant: calibration file %s: a model with several inputs needs .npz samples naming each", e.Name())
		}
		d.files = append(d.files, filepath.Join(dir, e.Name()))
	}
	sort.Strings(d.files)
	if len(d.files) == 0 {
		return nil, fmt.Errorf("%w: no .npy or .npz files in %s", ErrNoCalibrationData, dir)
	}
	return d, nil
}

// Len is the number of sample files.
func (d *DirSamples) Len() int { return len(d.files) }

// Sample reads file i.
func (d *DirSamples) Sample(i int) (map[string]*ir.Tensor, error) {
	f := d.files[i]
	if strings.EqualFold(filepath.Ext(f), ".npz") {
		arrs, _, err := npy.ReadNPZ(f)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", f, err)
		}
		return arrs, nil
	}
	t, err := npy.ReadFile(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", f, err)
	}
	return map[string]*ir.Tensor{d.input: t}, nil
}
