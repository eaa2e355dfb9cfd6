package runtime

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/hone-ml/hone/internal/irtest"
	"github.com/hone-ml/hone/ir"
)

// TestActDynamicQuantize compiles Relu or Clip → DynamicQuantizeLinear with opt/fuse_act_dynamic_quantize (one
// ActDynamicQuantizeLinear) and without it, and requires all three outputs bit for bit equal, on data that the
// bounds cut on one side, on both, on neither and everywhere (ReLU6 over values all above 6, Clip(−1, 2) around 0,
// min above max, an absent bound), values on the bounds and at ±Inf, a tensor holding a NaN
// (which the fused op clips explicitly) and an empty one.
func TestActDynamicQuantize(t *testing.T) {
	inf := float32(math.Inf(1))
	type act struct {
		name   string
		op     string
		lo, hi *float32 // constant bounds, nil when absent
		opset  int64
	}
	f := func(v float32) *float32 { return &v }
	acts := []act{
		{"Relu", "Relu", nil, nil, 13},
		{"Relu6", "Clip", f(0), f(6), 13},
		{"Clip(-1, 2)", "Clip", f(-1), f(2), 13},
		{"Clip(max 0.5)", "Clip", nil, f(0.5), 13},
		{"Clip(3, 1)", "Clip", f(3), f(1), 13},
	}
	r := rand.New(rand.NewPCG(7, 8))
	data := map[string][]float32{}
	for _, spec := range []struct {
		name      string
		mean, std float64
	}{{"around 0", 0, 3}, {"positive", 5, 1}, {"above 6", 20, 2}, {"negative", -5, 1}, {"narrow", 0.1, 0.01}} {
		v := make([]float32, 1000)
		for i := range v {
			v[i] = float32(spec.mean + spec.std*r.NormFloat64())
		}
		data[spec.name] = v
	}
	edges := make([]float32, 1000)
	for i := range edges {
		edges[i] = float32(r.IntN(17)-8) * 0.5 // many values on the bounds and on rounding ties
	}
	copy(edges, []float32{inf, -inf, 0, float32(math.Copysign(0, -1)), 6, -1, 2, 0.5})
	data["bounds and ties"] = edges
	withNaN := append([]float32(nil), data["around 0"]...)
	withNaN[500] = float32(math.NaN())
	data["a NaN"] = withNaN
	data["empty"] = nil

	for _, a := range acts {
		for dname, v := range data {
			t.Run(fmt.Sprintf("%s/%s", a.name, dname), func(t *testing.T) {
				b := irtest.New("act_dql")
				x := b.Input("x", ir.Float32, int64(len(v)))
				var y string
				switch {
				case a.op == "Relu":
					y = b.Op("Relu", []string{x})
				default:
					in := []string{x, "", ""}
					if a.lo != nil {
						in[1] = b.Init("lo", ir.Scalar(*a.lo))
					}
					if a.hi != nil {
						in[2] = b.Init("hi", ir.Scalar(*a.hi))
					}
					for len(in) > 1 && in[len(in)-1] == "" {
						in = in[:len(in)-1]
					}
					y = b.Op("Clip", in)
				}
				q := b.OpN("DynamicQuantizeLinear", []string{y}, 3)
				for _, o := range q {
					b.Output(o)
				}
				m := b.Model(a.opset)
				run := func(disable ...string) (map[string]*ir.Tensor, int) {
					p, err := Compile(m, Options{Threads: 1, Disable: disable})
					if err != nil {
						t.Fatal(err)
					}
					xt := ir.New(ir.Float32, len(v))
					copy(xt.F32(), v)
					out, err := p.Run(map[string]*ir.Tensor{"x": xt})
					if err != nil {
						t.Fatal(err)
					}
					return out, irtest.OpCount(p.Graph)[ir.OpActDynamicQuantize]
				}
				fused, n := run()
				plain, pn := run("fuse_act_dynamic_quantize")
				if n != 1 || pn != 0 {
					t.Fatalf("%d fused ops with the pass, %d without: want 1 and 0", n, pn)
				}
				if fs, ps := fused[q[1]].F32()[0], plain[q[1]].F32()[0]; math.Float32bits(fs) != math.Float32bits(ps) ||
					fused[q[2]].U8()[0] != plain[q[2]].U8()[0] {
					t.Fatalf("scale %v, zero point %d fused; %v, %d unfused", fs, fused[q[2]].U8()[0], ps, plain[q[2]].U8()[0])
				}
				for i, w := range plain[q[0]].U8() {
					if g := fused[q[0]].U8()[i]; g != w {
						t.Fatalf("y[%d] (x = %v) = %d fused, %d unfused", i, v[i], g, w)
					}
				}
			})
		}
	}
}
