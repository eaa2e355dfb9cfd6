package quant

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/hone-ml/hone/internal/irtest"
	"github.com/hone-ml/hone/ir"
	"github.com/hone-ml/hone/npy"
	"github.com/hone-ml/hone/onnx"
)

// TestOpenSamples checks how a sample directory counts: a file holding N rows of what the model takes one of at a
// time (leading dimension 1 or symbolic, same rank) is N samples, row by row; anything else is one sample as it
// is. Every sample's values are checked against the rows written.
func TestOpenSamples(t *testing.T) {
	dir := t.TempDir()
	seq := func(start float32, shape ...int) *ir.Tensor {
		x := ir.New(ir.Float32, shape...)
		for i := range x.F32() {
			x.F32()[i] = start + float32(i)
		}
		return x
	}
	write := func(name string, x *ir.Tensor) {
		if err := npy.WriteFile(filepath.Join(dir, name), x); err != nil {
			t.Fatal(err)
		}
	}
	write("a.npy", seq(0, 1, 3))  // one sample
	write("b.npy", seq(10, 4, 3)) // four rows
	if err := npy.WriteNPZ(filepath.Join(dir, "c.npz"), map[string]*ir.Tensor{"x": seq(30, 2, 3), "note": ir.Scalar(float32(1))}, nil, true); err != nil {
		t.Fatal(err)
	}
	write("d.npy", seq(50, 3)) // rank 1: one sample, which checkSample will refuse
	os.WriteFile(filepath.Join(dir, "labels.txt"), []byte("1\n"), 0o644)
	in := func(dims ...int64) []*ir.ValueInfo {
		return []*ir.ValueInfo{{Name: "x", Type: irtest.Type(ir.Float32, dims...)}}
	}
	sym := in(-1, 3)
	sym[0].Type.Shape[0].Param = "batch"
	for _, tc := range []struct {
		name   string
		inputs []*ir.ValueInfo
		starts []float32 // each sample's first value
		rows   []int     // each sample's leading dimension (0: rank 1)
	}{
		{"batch 1", in(1, 3), []float32{0, 10, 13, 16, 19, 30, 33, 50}, []int{1, 1, 1, 1, 1, 1, 1, 0}},
		{"symbolic batch", sym, []float32{0, 10, 13, 16, 19, 30, 33, 50}, []int{1, 1, 1, 1, 1, 1, 1, 0}},
		{"batch 4", in(4, 3), []float32{0, 10, 30, 50}, []int{1, 4, 2, 0}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, err := OpenSamples(dir, tc.inputs)
			if err != nil {
				t.Fatal(err)
			}
			if d.Len() != len(tc.starts) {
				t.Fatalf("%d samples, want %d", d.Len(), len(tc.starts))
			}
			// Out of order, so the one-file cache is refilled.
			for _, i := range []int{3, 0, 6, 1, 2, 7, 4, 5} {
				if i >= d.Len() {
					continue
				}
				s, err := d.Sample(i)
				if err != nil {
					t.Fatal(err)
				}
				x := s["x"]
				want := []int{tc.rows[i], 3}
				if tc.rows[i] == 0 {
					want = []int{3}
				}
				if x.F32()[0] != tc.starts[i] || !slices.Equal(x.Shape, want) || x.F32()[x.Len()-1] != tc.starts[i]+float32(x.Len()-1) {
					t.Errorf("sample %d: %v %v, want it to start at %g", i, x.Shape, x.F32(), tc.starts[i])
				}
				if _, ok := s["note"]; ok && tc.name != "batch 4" {
					t.Errorf("sample %d: a row sample carries the file's non-input array", i)
				}
			}
			if _, err := d.Sample(d.Len()); err == nil {
				t.Error("sample past the end served")
			}
		})
	}
	// One file: its rows; a single .npz's "labels" array comes with them, and must be one class per row.
	if d, err := OpenSamples(filepath.Join(dir, "b.npy"), in(1, 3)); err != nil || d.Len() != 4 || d.Labels() != nil {
		t.Errorf("b.npy alone: %v", err)
	}
	lab := filepath.Join(t.TempDir(), "l.npz")
	npy.WriteNPZ(lab, map[string]*ir.Tensor{"x": seq(0, 3, 3), "labels": irtest.I64(2, 0, 1)}, nil, false)
	if d, err := OpenSamples(lab, in(1, 3)); err != nil || d.Len() != 3 || !slices.Equal(d.Labels(), []int64{2, 0, 1}) {
		t.Errorf("l.npz: %v", err)
	}
	npy.WriteNPZ(lab, map[string]*ir.Tensor{"x": seq(0, 3, 3), "labels": seq(0, 3, 1)}, nil, false)
	if _, err := OpenSamples(lab, in(1, 3)); err == nil || !strings.Contains(err.Error(), "labels") {
		t.Errorf("float [3 1] labels: %v", err)
	}
	if _, err := OpenSamples(filepath.Join(dir, "labels.txt"), in(1, 3)); err == nil || !strings.Contains(err.Error(), ".npz") {
		t.Errorf("a text file: %v", err)
	}
	if _, err := OpenSamples(filepath.Join(dir, "missing"), in(1, 3)); err == nil || !strings.Contains(err.Error(), "missing") {
		t.Errorf("a missing path: %v", err)
	}
	// Two inputs of different row counts: the file is one sample.
	two := []*ir.ValueInfo{{Name: "x", Type: irtest.Type(ir.Float32, 1, 3)}, {Name: "y", Type: irtest.Type(ir.Float32, 1, 3)}}
	dir2 := t.TempDir()
	npy.WriteNPZ(filepath.Join(dir2, "s.npz"), map[string]*ir.Tensor{"x": seq(0, 2, 3), "y": seq(0, 3, 3)}, nil, false)
	if d, err := OpenSamples(dir2, two); err != nil || d.Len() != 1 {
		t.Errorf("rows 2 and 3: %v", err)
	}
	npy.WriteFile(filepath.Join(dir2, "t.npy"), seq(0, 1, 3))
	if _, err := OpenSamples(dir2, two); err == nil || !strings.Contains(err.Error(), "several inputs") {
		t.Errorf(".npy for a two-input model: %v", err)
	}
	os.Remove(filepath.Join(dir2, "t.npy"))
	os.WriteFile(filepath.Join(dir2, "u.npz"), []byte("PK not a zip"), 0o644)
	if _, err := OpenSamples(dir2, two); err == nil || !strings.Contains(err.Error(), "u.npz") {
		t.Errorf("corrupt .npz: %v", err)
	}
}

// TestStaticBatchFile: calibrating on one .npy holding 64 MNIST digits is calibrating on those 64 digits as
// BatchSamples serves them: the same report and the same bytes.
func TestStaticBatchFile(t *testing.T) {
	m, x, _ := mnist(t)
	dir := t.TempDir()
	if err := npy.WriteFile(filepath.Join(dir, "digits.npy"), rows(x, 64)); err != nil {
		t.Fatal(err)
	}
	d, err := OpenSamples(dir, m.Graph.RealInputs())
	if err != nil {
		t.Fatal(err)
	}
	if d.Len() != 64 {
		t.Fatalf("%d samples, want 64", d.Len())
	}
	cfg := StaticConfig{WeightRounding: RoundNearest}
	q1, r1, err := Static(m, d, cfg)
	if err != nil {
		t.Fatal(err)
	}
	q2, r2, err := Static(m, BatchSamples{m.Graph.RealInputs()[0].Name: rows(x, 64)}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	p1, p2 := filepath.Join(dir, "1.onnx"), filepath.Join(dir, "2.onnx")
	if err := onnx.Save(q1, p1); err != nil {
		t.Fatal(err)
	}
	if err := onnx.Save(q2, p2); err != nil {
		t.Fatal(err)
	}
	b1, _ := os.ReadFile(p1)
	b2, _ := os.ReadFile(p2)
	if !bytes.Equal(b1, b2) || !slices.Equal(r1.Notes, r2.Notes) || !strings.Contains(strings.Join(r1.Notes, " "), "over 64 samples") {
		t.Errorf("batch file and rows differ: %v / %v", r1.Notes, r2.Notes)
	}
}
