package prune

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/hone-ml/hone/ir"
)

// TestBadInput checks that bad requests fail with a clear error and leave the input model as it was.
func TestBadInput(t *testing.T) {
	m := mnistModel(t)
	before := m.Clone()
	w0 := append([]float32(nil), m.Graph.Initializers["features.0.weight"].F32()...)
	shared := m.Clone()
	// A second Conv reading conv1's weight makes it shared.
	n := shared.Graph.Nodes[0].Clone()
	n.Name, n.Outputs = "twin", []string{"twin_out"}
	shared.Graph.Nodes = append(shared.Graph.Nodes, n)
	for _, tc := range []struct {
		name  string
		model *ir.Model
		cfg   Config
		want  error
	}{
		{"amount above 1", m, Config{Method: MethodL1, Amount: Fraction(1.5)}, ErrInvalid},
		{"negative amount", m, Config{Method: MethodL1, Amount: Fraction(-0.1)}, ErrInvalid},
		{"count above weights", m, Config{Method: MethodL1, Amount: Count(100), Layers: []string{"/features/features.0/Conv"}}, ErrInvalid},
		{"count above channels", m, Config{Method: MethodLn, Norm: 2, Amount: Count(9), Layers: []string{"/features/features.0/Conv"}}, nil},
		{"unknown layer", m, Config{Method: MethodL1, Amount: Fraction(0.3), Layers: []string{"nope"}}, ErrInvalid},
		{"not a layer", m, Config{Method: MethodL1, Amount: Fraction(0.3), Layers: []string{"/Flatten"}}, ErrInvalid},
		{"shared weight", shared, Config{Method: MethodL1, Amount: Fraction(0.3), Layers: []string{"/features/features.0/Conv"}}, ErrInvalid},
		{"structural at a graph output", m, Config{Method: MethodLn, Norm: 2, Amount: Fraction(0.3), Layers: []string{"/fc2/Gemm"}}, ErrUnsupported},
		{"all channels", m, Config{Method: MethodLn, Norm: 2, Amount: Fraction(1), Layers: []string{"/features/features.0/Conv"}}, ErrUnsupported},
		{"physical on input axis", m, Config{Method: MethodLn, Norm: 2, Dim: 1, Amount: Fraction(0.3), Layers: []string{"/features/features.4/Conv"}}, ErrUnsupported},
		{"bad norm", m, Config{Method: MethodLn, Norm: -2, Amount: Fraction(0.3)}, nil},
		{"nm not dividing", m, Config{Method: MethodNM, N: 2, M: 4, Layers: []string{"/features/features.0/Conv"}}, nil},
		{"bad pattern", m, Config{Method: MethodNM, N: 5, M: 4}, nil},
		{"unknown method", m, Config{Method: "magic", Amount: Fraction(0.3)}, ErrInvalid},
		{"shape of no input", m, Config{Method: MethodL1, Amount: Fraction(0.3), Shapes: map[string][]int{"x": {1, 1, 28, 28}}}, ErrInvalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := Prune(tc.model, tc.cfg)
			if err == nil {
				t.Fatal("no error")
			}
			if tc.want != nil && !errors.Is(err, tc.want) {
				t.Errorf("error %q does not wrap %v", err, tc.want)
			}
			t.Log(err)
		})
	}
	if d := cmp.Diff(w0, m.Graph.Initializers["features.0.weight"].F32()); d != "" {
		t.Errorf("input weights changed: %s", d)
	}
	if len(m.Graph.Nodes) != len(before.Graph.Nodes) || len(m.Graph.Initializers) != len(before.Graph.Initializers) {
		t.Error("input graph changed")
	}
}
