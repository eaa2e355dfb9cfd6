package quant

import (
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"

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

// DirSamples is a directory of samples (or one file): each .npy file feeds the model's single input, and each
// .npz file holds an array per input name. A file whose arrays hold a batch of N > 1 rows, where the model takes
// one (its leading dimension 1 or symbolic, of the same rank), is N samples, row by row, so that labels.txt and
// the progress count rows as the model sees them and each run holds one row. Files are read when asked for, in
// name order; the last one read stays cached while its rows are served.
type DirSamples struct {
	files  []string
	input  string                   // the single input .npy files feed
	inputs map[string]*ir.ValueInfo // the model's inputs, which a row sample holds
	items  []dirEntry               // sample i
	labels []int64                  // a single .npz file's "labels" array

	mu     sync.Mutex
	cached int // index into files of arrays, or -1
	arrays map[string]*ir.Tensor
}

// dirEntry is one sample: a file whole (row < 0) or one row of its arrays.
type dirEntry struct{ file, row int }

// OpenSamples lists the samples at path, a directory of .npy/.npz files or one such file, for a model with the
// given real inputs (ir.Graph.RealInputs): a .npy file feeds the only one (a model with several takes .npz files
// naming each). A single .npz file's "labels" array, one class per row, is kept for Labels.
func OpenSamples(path string, inputs []*ir.ValueInfo) (*DirSamples, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("quant: samples: %w", err)
	}
	d := &DirSamples{cached: -1, inputs: map[string]*ir.ValueInfo{}}
	for _, vi := range inputs {
		d.inputs[vi.Name] = vi
	}
	if len(inputs) == 1 {
		d.input = inputs[0].Name
	}
	var names []string
	if st.IsDir() {
		ents, err := os.ReadDir(path)
		if err != nil {
			return nil, fmt.Errorf("quant: samples: %w", err)
		}
		for _, e := range ents {
			if !e.IsDir() {
				names = append(names, filepath.Join(path, e.Name()))
			}
		}
	} else {
		ext := strings.ToLower(filepath.Ext(path))
		if ext != ".npy" && ext != ".npz" {
			return nil, fmt.Errorf("quant: samples %s: want a directory, a .npy or a .npz file", path)
		}
		names = []string{path}
	}
	for _, f := range names {
		ext := strings.ToLower(filepath.Ext(f))
		if ext != ".npy" && ext != ".npz" {
			continue
		}
		if ext == ".npy" && d.input == "" {
			return nil, fmt.Errorf("quant: sample file %s: a model with several inputs needs .npz samples naming each", filepath.Base(f))
		}
		d.files = append(d.files, f)
	}
	sort.Strings(d.files)
	if len(d.files) == 0 {
		return nil, fmt.Errorf("%w: no .npy or .npz files in %s", ErrNoCalibrationData, path)
	}
	for fi, f := range d.files {
		infos := map[string]npy.Info{}
		if strings.EqualFold(filepath.Ext(f), ".npz") {
			if infos, err = npy.StatNPZ(f); err != nil {
				return nil, fmt.Errorf("quant: %w", err)
			}
			if _, ok := infos["labels"]; ok && !st.IsDir() && d.inputs["labels"] == nil {
				// The one file is read whole for its labels, and stays cached for its rows.
				if d.arrays, err = d.read(f); err != nil {
					return nil, err
				}
				d.cached = fi
				if d.labels, err = labelArray(f, d.arrays["labels"]); err != nil {
					return nil, err
				}
			}
		} else {
			info, err := npy.Stat(f)
			if err != nil {
				return nil, fmt.Errorf("quant: %w", err)
			}
			infos[d.input] = info
		}
		n := batchRows(infos, d.inputs)
		if n <= 1 {
			d.items = append(d.items, dirEntry{fi, -1})
			continue
		}
		for r := 0; r < n; r++ {
			d.items = append(d.items, dirEntry{fi, r})
		}
	}
	return d, nil
}

// batchRows returns N when every array of a file feeding a model input holds N rows of a sample the input takes
// one of at a time (leading dimension 1 or symbolic, same rank), else 0: the file is then one sample as it is,
// and checkSample judges it.
func batchRows(infos map[string]npy.Info, inputs map[string]*ir.ValueInfo) int {
	n := 0
	for name, info := range infos {
		vi := inputs[name]
		if vi == nil {
			continue
		}
		if !vi.Type.HasShape || len(vi.Type.Shape) == 0 || len(vi.Type.Shape) != len(info.Shape) {
			return 0
		}
		if d := vi.Type.Shape[0]; d.Known() && d.Size != 1 {
			return 0
		}
		if n != 0 && info.Shape[0] != n {
			return 0
		}
		n = info.Shape[0]
	}
	return n
}

// labelArray returns the "labels" array l of the .npz file f as classes, one per row.
func labelArray(f string, l *ir.Tensor) ([]int64, error) {
	v, err := l.Int64s()
	if err != nil || l.Rank() != 1 {
		return nil, fmt.Errorf("quant: %s: \"labels\" is %s, want one integer class per row", f, l)
	}
	return v, nil
}

// Labels returns the classes of a single .npz file's "labels" array, one per sample when the file's rows are the
// samples, or nil.
func (d *DirSamples) Labels() []int64 { return d.labels }

// Len is the number of samples: files, with a batch file counting its rows.
func (d *DirSamples) Len() int { return len(d.items) }

// Sample reads sample i: its file, or the file's row with a leading dimension of 1.
func (d *DirSamples) Sample(i int) (map[string]*ir.Tensor, error) {
	if i < 0 || i >= len(d.items) {
		return nil, fmt.Errorf("quant: sample %d of %d", i, len(d.items))
	}
	e := d.items[i]
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.cached != e.file {
		arrs, err := d.read(d.files[e.file])
		if err != nil {
			return nil, err
		}
		d.cached, d.arrays = e.file, arrs
	}
	if e.row < 0 {
		return maps.Clone(d.arrays), nil
	}
	in := BatchSamples{}
	for name, t := range d.arrays {
		if d.inputs[name] == nil {
			continue
		}
		if t.Rank() == 0 || t.Shape[0] <= e.row {
			return nil, fmt.Errorf("%s: array %q of shape %v has no row %d", d.files[e.file], name, t.Shape, e.row)
		}
		in[name] = t
	}
	return in.Sample(e.row)
}

func (d *DirSamples) read(f string) (map[string]*ir.Tensor, error) {
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
