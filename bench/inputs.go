package bench

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"

	"github.com/hone-ml/hone/ir"
)

// ParseShapes parses "name=1,3,224,224" flags (a bare "1,3,224,224" applies to the only/first input).
func ParseShapes(specs []string) (map[string][]int, error) {
	out := map[string][]int{}
	for _, s := range specs {
		name, dims, ok := strings.Cut(s, "=")
		if !ok {
			name, dims = "", s
		}
		var shape []int
		for _, d := range strings.Split(dims, ",") {
			n, err := strconv.Atoi(strings.TrimSpace(d))
			if err != nil || n < 0 {
				return nil, fmt.Errorf("bench: bad shape %q: dimensions must be non-negative integers", s)
			}
			shape = append(shape, n)
		}
		out[name] = shape
	}
	return out, nil
}

// ResolveShape picks the concrete shape of an input: an explicit --shape wins, then the declared static dims,
// with the first unknown dimension (the batch) set to batch. Other unknown dims are an error naming the input.
func ResolveShape(vi *ir.ValueInfo, shapes map[string][]int, first bool, batch int) ([]int, error) {
	if s, ok := shapes[vi.Name]; ok {
		return s, nil
	}
	if s, ok := shapes[""]; ok && first {
		return s, nil
	}
	if !vi.Type.HasShape {
		return nil, fmt.Errorf("input %q has no declared shape; give one with --shape %s=D0,D1,…", vi.Name, vi.Name)
	}
	out := make([]int, len(vi.Type.Shape))
	for i, d := range vi.Type.Shape {
		switch {
		case d.Known():
			out[i] = int(d.Size)
		case i == 0:
			out[i] = max(batch, 1) // an unknown batch dimension defaults to one example, never to an empty run
		default:
			return nil, fmt.Errorf("input %q (%s): dimension %d (%s) is not fixed; give it with --shape %s=…", vi.Name, vi.Type, i, d, vi.Name)
		}
	}
	if batch > 0 && len(out) > 0 {
		out[0] = batch
	}
	return out, nil
}

// RandomInput makes a deterministic input: floats uniform in [-1, 1) (or [0,1) for image-like 4-D inputs),
// integers in [0, 100) (valid token ids for any vocabulary of 100+), bools true. Use RandomInputFor to get masks
// of ones for inputs named like masks.
func RandomInput(dt ir.DType, shape []int, seed uint64) (*ir.Tensor, error) {
	r := rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15))
	t := ir.New(dt, shape...)
	switch dt {
	case ir.Float32:
		v := t.F32()
		for i := range v {
			if len(shape) == 4 {
				v[i] = r.Float32()
			} else {
				v[i] = 2*r.Float32() - 1
			}
		}
	case ir.Float64:
		v := t.F64()
		for i := range v {
			v[i] = 2*r.Float64() - 1
		}
	case ir.Float16:
		v := t.Bits16()
		for i := range v {
			v[i] = ir.FloatToHalf(2*r.Float32() - 1)
		}
	case ir.Int64:
		v := t.I64()
		for i := range v {
			v[i] = int64(r.IntN(100))
		}
	case ir.Int32:
		v := t.I32()
		for i := range v {
			v[i] = int32(r.IntN(100))
		}
	case ir.Bool:
		for i := range t.BoolData() {
			t.BoolData()[i] = true
		}
	case ir.Int8, ir.Uint8:
		b := t.Bytes()
		for i := range b {
			b[i] = byte(r.IntN(128))
		}
	default:
		return nil, fmt.Errorf("bench: cannot generate %s inputs", dt)
	}
	return t, nil
}

// MakeInputs builds one input tensor per model input.
func MakeInputs(inputs []*ir.ValueInfo, shapes map[string][]int, batch int) (map[string]*ir.Tensor, error) {
	out := map[string]*ir.Tensor{}
	for i, vi := range inputs {
		shape, err := ResolveShape(vi, shapes, i == 0, batch)
		if err != nil {
			return nil, err
		}
		dt := vi.Type.DType
		if dt == ir.Undefined {
			dt = ir.Float32
		}
		t, err := RandomInput(dt, shape, uint64(i+1))
		if err != nil {
			return nil, err
		}
		if strings.Contains(strings.ToLower(vi.Name), "mask") && dt.IsInt() {
			t = ones(dt, shape) // attention masks: attend everywhere
		}
		out[vi.Name] = t
	}
	return out, nil
}

func ones(dt ir.DType, shape []int) *ir.Tensor {
	t := ir.New(dt, shape...)
	switch dt {
	case ir.Int64:
		for i := range t.I64() {
			t.I64()[i] = 1
		}
	case ir.Int32:
		for i := range t.I32() {
			t.I32()[i] = 1
		}
	default:
		for i := range t.Bytes() {
			t.Bytes()[i] = 1
		}
	}
	return t
}
