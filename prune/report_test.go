package prune

import "testing"

// TestMeasureShapes checks FLOPs against a hand count for the MNIST CNN (2 per multiply-add): conv1 72
// weights × 28·28 outputs, conv2 1152 × 14·14, fc1 50176, fc2 640, per image; a given batch scales them, and
// an unnamed shape feeds the only input.
func TestMeasureShapes(t *testing.T) {
	m := mnistModel(t)
	per := int64(2 * (72*28*28 + 1152*14*14 + 50176 + 640))
	for _, tc := range []struct {
		name   string
		shapes map[string][]int
		want   int64
	}{
		{"symbolic batch as 1", nil, per},
		{"named", map[string][]int{"input": {8, 1, 28, 28}}, 8 * per},
		{"unnamed", map[string][]int{"": {3, 1, 28, 28}}, 3 * per},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := MeasureShapes(m, tc.shapes)
			if st.FLOPs != tc.want {
				t.Errorf("FLOPs %d, want %d", st.FLOPs, tc.want)
			}
		})
	}
	if d := m.Graph.RealInputs()[0].Type.Shape[0]; d.Known() {
		t.Error("MeasureShapes changed the input model's shape")
	}
}
