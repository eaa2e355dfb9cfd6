package runtime_test

import (
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/hone-ml/hone/internal/irtest"
	"github.com/hone-ml/hone/ir"
	"github.com/hone-ml/hone/onnx"
	"github.com/hone-ml/hone/runtime"
)

const ctlNodeTests = "/usr/share/libonnx-testdata/data/node"

// TestControlFlowONNX runs the ONNX backend node tests for If, Loop and Scan (tensor-only variants) against
// their reference outputs, with and without the optimisation passes.
func TestControlFlowONNX(t *testing.T) {
	for _, name := range []string{"test_if", "test_loop11", "test_scan_sum", "test_scan9_sum"} {
		for _, noOpt := range []bool{true, false} {
			t.Run(fmt.Sprintf("%s/noopt=%v", name, noOpt), func(t *testing.T) {
				dir := filepath.Join(ctlNodeTests, name)
				if _, err := os.Stat(dir); err != nil {
					t.Skipf("ONNX test data not installed: %v", err)
				}
				m, err := onnx.Load(filepath.Join(dir, "model.onnx"))
				if err != nil {
					t.Fatal(err)
				}
				p, err := runtime.Compile(m, runtime.Options{NoOptimize: noOpt, Threads: 1})
				if err != nil {
					t.Fatal(err)
				}
				sets, _ := filepath.Glob(filepath.Join(dir, "test_data_set_*"))
				if len(sets) == 0 {
					t.Fatal("no test data sets")
				}
				for _, set := range sets {
					var in []*ir.Tensor
					for i := range p.Inputs() {
						x, err := onnx.ReadTensor(filepath.Join(set, fmt.Sprintf("input_%d.pb", i)))
						if err != nil {
							t.Fatal(err)
						}
						in = append(in, x)
					}
					got, err := p.RunOrdered(in)
					if err != nil {
						t.Fatal(err)
					}
					for i, g := range got {
						want, err := onnx.ReadTensor(filepath.Join(set, fmt.Sprintf("output_%d.pb", i)))
						if err != nil {
							t.Fatal(err)
						}
						ctlSame(t, fmt.Sprintf("output %d", i), g, want)
					}
				}
			})
		}
	}
}

func ctlSame(t *testing.T, what string, got, want *ir.Tensor) {
	t.Helper()
	if got == nil {
		t.Fatalf("%s: nil", what)
	}
	if got.DType != want.DType || fmt.Sprint(got.Shape) != fmt.Sprint(want.Shape) {
		t.Fatalf("%s: got %s, want %s", what, got, want)
	}
	g, w := got.Float64s(), want.Float64s()
	for i := range w {
		if math.Abs(g[i]-w[i]) > 1e-5*(1+math.Abs(w[i])) {
			t.Fatalf("%s[%d] = %v, want %v", what, i, g[i], w[i])
		}
	}
}

// TestLoopOuterScope checks that a Loop body reads an outer value computed before the Loop, that released
// values stay alive for the body, and that zero iterations give empty scan outputs of the body's declared type.
func TestLoopOuterScope(t *testing.T) {
	body := irtest.New("body")
	body.Input("i", ir.Int64)
	body.Input("c", ir.Bool)
	body.Input("acc", ir.Float32, 2)
	sum := body.Op("Add", []string{"acc", "step"}) // "step" comes from the outer graph
	cond := body.Op("Identity", []string{"c"})
	dup := body.Op("Identity", []string{sum})
	body.G.Outputs = []*ir.ValueInfo{{Name: cond}, {Name: sum}, {Name: dup, Type: irtest.Type(ir.Float32, 2)}}

	b := irtest.New("main")
	x := b.Input("x", ir.Float32, 2)
	trip := b.Input("trip", ir.Int64)
	step := b.Op("Mul", []string{x, x})
	b.G.Nodes[len(b.G.Nodes)-1].Outputs[0] = "step"
	_ = step
	tr := ir.New(ir.Bool)
	tr.BoolData()[0] = true
	b.Init("true", tr)
	outs := b.OpN("Loop", []string{trip, "true", x}, 2, irtest.GraphAttr("body", body.G))
	b.Output(outs...)
	p, err := runtime.Compile(b.Model(13), runtime.Options{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	xv := irtest.F32([]int{2}, 1, 2)
	for _, tc := range []struct {
		trip      int64
		acc       []float32
		scanShape []int
	}{{3, []float32{4, 14}, []int{3, 2}}, {0, []float32{1, 2}, []int{0, 2}}} {
		got, err := p.RunOrdered([]*ir.Tensor{xv, ir.FromInt64(nil, []int64{tc.trip})})
		if err != nil {
			t.Fatal(err)
		}
		ctlSame(t, "final", got[0], irtest.F32([]int{2}, tc.acc...))
		if fmt.Sprint(got[1].Shape) != fmt.Sprint(tc.scanShape) || got[1].DType != ir.Float32 {
			t.Errorf("trip %d: scan output %s, want float32%v", tc.trip, got[1], tc.scanShape)
		}
	}
}

// TestControlFlowErrors checks that bad control-flow input is an error naming the node, never a panic.
func TestControlFlowErrors(t *testing.T) {
	then := irtest.New("then")
	then.Output(then.Op("Identity", []string{"x"}))
	els := irtest.New("else")
	els.Output(els.Op("Neg", []string{"x"}))
	b := irtest.New("main")
	b.Input("x", ir.Float32, 2)
	b.Input("c", ir.Float32) // wrong dtype for If's cond
	b.Output(b.Op("If", []string{"c"}, irtest.GraphAttr("then_branch", then.G), irtest.GraphAttr("else_branch", els.G)))
	p, err := runtime.Compile(b.Model(13), runtime.Options{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	_, err = p.RunOrdered([]*ir.Tensor{irtest.F32([]int{2}, 1, 2), ir.Scalar(1)})
	if !errors.Is(err, runtime.ErrInvalid) {
		t.Fatalf("got %v, want ErrInvalid", err)
	}
	if want := `runtime: node "If1" (If): `; len(err.Error()) < len(want) || err.Error()[:len(want)] != want {
		t.Errorf("error %q does not name the node", err)
	}
}
