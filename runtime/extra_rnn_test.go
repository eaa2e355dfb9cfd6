package runtime

import (
	"encoding/json"
	"errors"
	"math"
	"math/cmplx"
	"os"
	"testing"

	"github.com/hone-ml/hone/ir"
)

// xRun compiles and runs a one-node model at the given default-domain opset; every input is fed.
func xRun(t *testing.T, opset int64, n *ir.Node, feeds map[string]*ir.Tensor) (map[string]*ir.Tensor, error) {
	t.Helper()
	g := ir.NewGraph("x")
	for _, name := range n.Inputs {
		if name != "" {
			g.Inputs = append(g.Inputs, &ir.ValueInfo{Name: name})
		}
	}
	for _, o := range n.Outputs {
		if o != "" {
			g.Outputs = append(g.Outputs, &ir.ValueInfo{Name: o})
		}
	}
	g.Nodes = []*ir.Node{n}
	m := &ir.Model{Graph: g, Opsets: []ir.OpsetImport{{Domain: "", Version: opset}}}
	p, err := Compile(m, Options{NoOptimize: true, Threads: 2})
	if err != nil {
		return nil, err
	}
	return p.Run(feeds)
}

func xClose(t *testing.T, what string, got *ir.Tensor, want []float64, tol float64) {
	t.Helper()
	if got == nil {
		t.Fatalf("%s: missing", what)
	}
	g := got.Float64s()
	if len(g) != len(want) {
		t.Fatalf("%s: %d values, want %d", what, len(g), len(want))
	}
	for i := range g {
		if math.Abs(g[i]-want[i]) > tol*(1+math.Abs(want[i])) {
			t.Fatalf("%s[%d] = %v, want %v", what, i, g[i], want[i])
		}
	}
}

func xF32(shape []int, v []float64) *ir.Tensor {
	f := make([]float32, len(v))
	for i, x := range v {
		f[i] = float32(x)
	}
	return ir.FromFloat32(shape, f)
}

type xRNNCase struct {
	Name, Kind, Direction         string
	Seq, Batch, Input, Hidden     int
	X, W, R, B, H0, C0, Y, Yh, Yc []float64
}

// TestXRNNPyTorch checks LSTM, GRU and RNN against PyTorch on random weights (scripts/fixtures/extra_rnn.py),
// in both layouts.
func TestXRNNPyTorch(t *testing.T) {
	raw, err := os.ReadFile("testdata/extra_rnn.json")
	if err != nil {
		t.Fatal(err)
	}
	var cases []xRNNCase
	if err := json.Unmarshal(raw, &cases); err != nil {
		t.Fatal(err)
	}
	for _, c := range cases {
		for _, layout := range []int{0, 1} {
			t.Run(c.Name+map[int]string{0: "", 1: "_layout1"}[layout], func(t *testing.T) {
				D := 1
				if c.Direction == "bidirectional" {
					D = 2
				}
				G := map[string]int{"RNN": 1, "GRU": 3, "LSTM": 4}[c.Kind]
				S, B, I, H := c.Seq, c.Batch, c.Input, c.Hidden
				// swap01 transposes the first two dims of a row-major [a, b, rest] array.
				swap01 := func(v []float64, a, b, rest int) []float64 {
					o := make([]float64, len(v))
					for i := range a {
						for j := range b {
							copy(o[(j*a+i)*rest:][:rest], v[(i*b+j)*rest:][:rest])
						}
					}
					return o
				}
				x, h0, c0 := c.X, c.H0, c.C0
				xs, ss := []int{S, B, I}, []int{D, B, H}
				if layout == 1 {
					x, h0 = swap01(x, S, B, I), swap01(h0, D, B, H)
					if c0 != nil {
						c0 = swap01(c0, D, B, H)
					}
					xs, ss = []int{B, S, I}, []int{B, D, H}
				}
				feeds := map[string]*ir.Tensor{
					"X": xF32(xs, x), "W": xF32([]int{D, G * H, I}, c.W), "R": xF32([]int{D, G * H, H}, c.R),
					"B": xF32([]int{D, 2 * G * H}, c.B), "h0": xF32(ss, h0),
				}
				in := []string{"X", "W", "R", "B", "", "h0"}
				out := []string{"Y", "Yh"}
				if c.Kind == "LSTM" {
					feeds["c0"] = xF32(ss, c0)
					in = append(in, "c0")
					out = append(out, "Yc")
				}
				n := &ir.Node{Name: "rnn", OpType: c.Kind, Inputs: in, Outputs: out, Attrs: []*ir.Attr{
					{Name: "hidden_size", Type: ir.AttrInt, I: int64(H)},
					{Name: "direction", Type: ir.AttrString, S: c.Direction},
					{Name: "layout", Type: ir.AttrInt, I: int64(layout)},
				}}
				if c.Kind == "GRU" {
					n.Attrs = append(n.Attrs, &ir.Attr{Name: "linear_before_reset", Type: ir.AttrInt, I: 1})
				}
				got, err := xRun(t, 14, n, feeds)
				if err != nil {
					t.Fatal(err)
				}
				y, yh, yc := c.Y, c.Yh, c.Yc
				if layout == 1 {
					// ONNX Y [S, D, B, H] → [B, S, D, H]; states [D, B, H] → [B, D, H].
					y = make([]float64, len(c.Y))
					for s := range S {
						for d := range D {
							for b := range B {
								copy(y[((b*S+s)*D+d)*H:][:H], c.Y[((s*D+d)*B+b)*H:][:H])
							}
						}
					}
					yh = swap01(yh, D, B, H)
					if yc != nil {
						yc = swap01(yc, D, B, H)
					}
				}
				xClose(t, "Y", got["Y"], y, 1e-5)
				xClose(t, "Y_h", got["Yh"], yh, 1e-5)
				if yc != nil {
					xClose(t, "Y_c", got["Yc"], yc, 1e-5)
				}
			})
		}
	}
}

// TestXRNNReverseSeqLens checks the sequence_lens semantics of a reverse LSTM against their definition: batch
// entry b sees its first lens[b] steps backwards, so running a forward LSTM on those steps reversed by hand must
// give the same Y (at mirrored times) and Y_h, with zeros past lens[b].
func TestXRNNReverseSeqLens(t *testing.T) {
	const S, B, I, H = 4, 3, 2, 3
	lens := []int32{4, 2, 0}
	x := nnRamp(S, B, I).F32()
	for i := range x {
		x[i] = float32(math.Sin(float64(i)))
	}
	w, r := make([]float32, 4*H*I), make([]float32, 4*H*H)
	for i := range w {
		w[i] = float32(math.Cos(float64(i) * 0.7))
	}
	for i := range r {
		r[i] = float32(math.Sin(float64(i)*1.3)) * 0.5
	}
	node := func(dir string) *ir.Node {
		return &ir.Node{Name: "l", OpType: "LSTM", Inputs: []string{"X", "W", "R", "", "L"}, Outputs: []string{"Y", "Yh"},
			Attrs: []*ir.Attr{{Name: "hidden_size", Type: ir.AttrInt, I: H}, {Name: "direction", Type: ir.AttrString, S: dir}}}
	}
	feeds := func(x []float32) map[string]*ir.Tensor {
		return map[string]*ir.Tensor{"X": ir.FromFloat32([]int{S, B, I}, x), "W": ir.FromFloat32([]int{1, 4 * H, I}, w),
			"R": ir.FromFloat32([]int{1, 4 * H, H}, r), "L": ir.FromInt32([]int{B}, lens)}
	}
	rev, err := xRun(t, 14, node("reverse"), feeds(x))
	if err != nil {
		t.Fatal(err)
	}
	// Reverse each batch entry's valid prefix by hand and run forward.
	xr := make([]float32, len(x))
	copy(xr, x)
	for b, l := range lens {
		for s := range int(l) {
			copy(xr[(s*B+b)*I:][:I], x[((int(l)-1-s)*B+b)*I:][:I])
		}
	}
	fwd, err := xRun(t, 14, node("forward"), feeds(xr))
	if err != nil {
		t.Fatal(err)
	}
	yr, yf := rev["Y"].F32(), fwd["Y"].F32()
	for b, l := range lens {
		for s := range S {
			for j := range H {
				got := yr[(s*B+b)*H+j]
				want := float32(0)
				if s < int(l) {
					want = yf[((int(l)-1-s)*B+b)*H+j]
				}
				if math.Abs(float64(got-want)) > 1e-6 {
					t.Fatalf("Y[s=%d,b=%d,%d] = %v, want %v", s, b, j, got, want)
				}
			}
		}
	}
	xClose(t, "Y_h", rev["Yh"], fwd["Yh"].Float64s(), 1e-6)
}

// TestXBadInputs checks that malformed inputs give ErrInvalid (never a panic).
func TestXBadInputs(t *testing.T) {
	f := func(shape ...int) *ir.Tensor { return ir.New(ir.Float32, shape...) }
	i64 := func(shape []int, v ...int64) *ir.Tensor { return ir.FromInt64(shape, v) }
	cases := []struct {
		name  string
		node  *ir.Node
		feeds map[string]*ir.Tensor
	}{
		{"lstm W shape", &ir.Node{OpType: "LSTM", Inputs: []string{"X", "W", "R"}, Outputs: []string{"Y"},
			Attrs: []*ir.Attr{{Name: "hidden_size", Type: ir.AttrInt, I: 2}}},
			map[string]*ir.Tensor{"X": f(1, 1, 3), "W": f(1, 8, 2), "R": f(1, 8, 2)}},
		{"gru seq len", &ir.Node{OpType: "GRU", Inputs: []string{"X", "W", "R", "", "L"}, Outputs: []string{"Y"},
			Attrs: []*ir.Attr{{Name: "hidden_size", Type: ir.AttrInt, I: 2}}},
			map[string]*ir.Tensor{"X": f(2, 1, 3), "W": f(1, 6, 3), "R": f(1, 6, 2), "L": i64([]int{1}, 5)}},
		{"nll target range", &ir.Node{OpType: "NegativeLogLikelihoodLoss", Inputs: []string{"X", "T"}, Outputs: []string{"L"}},
			map[string]*ir.Tensor{"X": f(2, 3), "T": i64([]int{2}, 0, 3)}},
		{"sce target shape", &ir.Node{OpType: "SoftmaxCrossEntropyLoss", Inputs: []string{"X", "T"}, Outputs: []string{"L"}},
			map[string]*ir.Tensor{"X": f(2, 3), "T": i64([]int{3}, 0, 1, 2)}},
		{"nms boxes", &ir.Node{OpType: "NonMaxSuppression", Inputs: []string{"B", "S"}, Outputs: []string{"I"}},
			map[string]*ir.Tensor{"B": f(1, 2, 3), "S": f(1, 1, 2)}},
		{"roialign batch index", &ir.Node{OpType: "RoiAlign", Inputs: []string{"X", "R", "I"}, Outputs: []string{"Y"}},
			map[string]*ir.Tensor{"X": f(1, 1, 4, 4), "R": f(1, 4), "I": i64([]int{1}, 3)}},
		{"maxunpool index", &ir.Node{OpType: "MaxUnpool", Inputs: []string{"X", "I"}, Outputs: []string{"Y"},
			Attrs: []*ir.Attr{{Name: "kernel_shape", Type: ir.AttrInts, Ints: []int64{2, 2}}}},
			map[string]*ir.Tensor{"X": f(1, 1, 1, 1), "I": i64([]int{1, 1, 1, 1}, 99)}},
		{"reversesequence lens", &ir.Node{OpType: "ReverseSequence", Inputs: []string{"X", "L"}, Outputs: []string{"Y"}},
			map[string]*ir.Tensor{"X": f(2, 2), "L": i64([]int{2}, 1, 3)}},
		{"det not square", &ir.Node{OpType: "Det", Inputs: []string{"X"}, Outputs: []string{"Y"}},
			map[string]*ir.Tensor{"X": f(2, 3)}},
		{"gridsample grid", &ir.Node{OpType: "GridSample", Inputs: []string{"X", "G"}, Outputs: []string{"Y"}},
			map[string]*ir.Tensor{"X": f(1, 1, 2, 2), "G": f(1, 2, 2, 3)}},
		{"stft frame", &ir.Node{OpType: "STFT", Inputs: []string{"S", "P", "", "L"}, Outputs: []string{"Y"}},
			map[string]*ir.Tensor{"S": f(1, 4, 1), "P": i64(nil, 1), "L": i64(nil, 9)}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			c.node.Name = "bad"
			_, err := xRun(t, 17, c.node, c.feeds)
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("err = %v, want ErrInvalid", err)
			}
		})
	}
}

// TestXDFT checks both transform paths (radix-2 and direct) against the DFT's defining sum.
func TestXDFT(t *testing.T) {
	for _, n := range []int{1, 2, 5, 8, 12, 16} {
		re, im := make([]float64, n), make([]float64, n)
		for i := range n {
			re[i], im[i] = math.Sin(float64(i)+0.3), math.Cos(float64(2*i))
		}
		for _, inverse := range []bool{false, true} {
			sign := -1.0
			if inverse {
				sign = 1
			}
			want := make([]complex128, n)
			for k := range n {
				for j := range n {
					want[k] += complex(re[j], im[j]) * cmplx.Exp(complex(0, sign*2*math.Pi*float64(j*k)/float64(n)))
				}
			}
			gr, gi := append([]float64(nil), re...), append([]float64(nil), im...)
			xNewDFT(n).transform(gr, gi, inverse)
			for k := range n {
				if cmplx.Abs(complex(gr[k], gi[k])-want[k]) > 1e-9 {
					t.Fatalf("n=%d inverse=%v bin %d = %v, want %v", n, inverse, k, complex(gr[k], gi[k]), want[k])
				}
			}
		}
	}
}
