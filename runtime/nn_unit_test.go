package runtime

import (
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/hone-ml/hone/ir"
)

// nnGraph builds a one-node model: in are fed inputs (by name order), consts become initializers.
func nnGraph(opset int64, n *ir.Node, consts map[string]*ir.Tensor) *ir.Model {
	g := ir.NewGraph("t")
	for _, name := range n.Inputs {
		if name == "" {
			continue
		}
		if c, ok := consts[name]; ok {
			g.SetInitializer(name, c)
		} else {
			g.Inputs = append(g.Inputs, &ir.ValueInfo{Name: name})
		}
	}
	for _, o := range n.Outputs {
		if o != "" {
			g.Outputs = append(g.Outputs, &ir.ValueInfo{Name: o})
		}
	}
	g.Nodes = []*ir.Node{n}
	m := &ir.Model{Graph: g, Opsets: []ir.OpsetImport{{Domain: "", Version: opset}, {Domain: ir.DomainHone, Version: 1}}}
	return m
}

// nnRun compiles and runs a one-node model; feeds maps input names to tensors.
func nnRun(opset int64, n *ir.Node, consts, feeds map[string]*ir.Tensor) (map[string]*ir.Tensor, error) {
	p, err := Compile(nnGraph(opset, n, consts), Options{NoOptimize: true, Threads: 2})
	if err != nil {
		return nil, err
	}
	return p.Run(feeds)
}

func nnNode(op string, in, out []string, attrs ...*ir.Attr) *ir.Node {
	n := &ir.Node{Name: "n0", OpType: op, Inputs: in, Outputs: out, Attrs: attrs}
	if op == ir.OpFusedConv || op == ir.OpFusedGemm {
		n.Domain = ir.DomainHone
	}
	return n
}

func nnAInt(name string, v int64) *ir.Attr { return &ir.Attr{Name: name, Type: ir.AttrInt, I: v} }
func nnAInts(name string, v ...int64) *ir.Attr {
	return &ir.Attr{Name: name, Type: ir.AttrInts, Ints: v}
}
func nnAFloat(name string, v float32) *ir.Attr { return &ir.Attr{Name: name, Type: ir.AttrFloat, F: v} }
func nnAFloats(name string, v ...float32) *ir.Attr {
	return &ir.Attr{Name: name, Type: ir.AttrFloats, Floats: v}
}
func nnAStr(name, v string) *ir.Attr { return &ir.Attr{Name: name, Type: ir.AttrString, S: v} }

// nnRamp returns a deterministic float32 tensor with values in [-2, 2).
func nnRamp(shape ...int) *ir.Tensor {
	t := ir.New(ir.Float32, shape...)
	for i := range t.F32() {
		t.F32()[i] = float32((i*37)%64)/16 - 2
	}
	return t
}

func nnNear(t *testing.T, what string, got, want []float32, tol float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d values, want %d", what, len(got), len(want))
	}
	for i := range want {
		if math.Abs(float64(got[i]-want[i])) > tol*(1+math.Abs(float64(want[i]))) {
			t.Fatalf("%s[%d] = %v, want %v", what, i, got[i], want[i])
		}
	}
}

// TestNNFusedConv checks hone:FusedConv against Conv followed by the activation's ONNX formula, with constant
// and fed weights and with the optional sum input Z.
func TestNNFusedConv(t *testing.T) {
	x, w, b := nnRamp(1, 4, 6, 5), nnRamp(6, 2, 3, 3), nnRamp(6)
	conv := []*ir.Attr{nnAInt("group", 2), nnAInts("pads", 1, 0, 1, 2), nnAInts("strides", 1, 2)}
	base, err := nnRun(13, nnNode("Conv", []string{"x", "w", "b"}, []string{"y"}, conv...), nil, map[string]*ir.Tensor{"x": x, "w": w, "b": b})
	if err != nil {
		t.Fatal(err)
	}
	ref := base["y"].F32()
	z := nnRamp(base["y"].Shape...)
	cases := []struct {
		act    string
		params []float32
		f      func(v float32) float32
	}{
		{"Relu", nil, func(v float32) float32 { return max(v, 0) }},
		{"Clip", []float32{-0.5, 1}, func(v float32) float32 { return min(max(v, -0.5), 1) }},
		{"LeakyRelu", []float32{0.1}, func(v float32) float32 { return map[bool]float32{true: v, false: 0.1 * v}[v >= 0] }},
		{"HardSigmoid", []float32{0.2, 0.5}, func(v float32) float32 { return max(0, min(1, 0.2*v+0.5)) }},
		{"Sigmoid", nil, func(v float32) float32 { return float32(1 / (1 + math.Exp(-float64(v)))) }},
	}
	for _, c := range cases {
		for _, constW := range []bool{true, false} {
			for _, withZ := range []bool{false, true} {
				name := c.act
				if constW {
					name += "/constW"
				}
				if withZ {
					name += "/Z"
				}
				t.Run(name, func(t *testing.T) {
					attrs := append([]*ir.Attr{nnAStr("activation", c.act), nnAFloats("activation_params", c.params...)}, conv...)
					in := []string{"x", "w", "b"}
					feeds := map[string]*ir.Tensor{"x": x, "w": w, "b": b}
					if withZ {
						in = append(in, "z")
						feeds["z"] = z
					}
					consts := map[string]*ir.Tensor{}
					if constW {
						consts["w"] = w
						delete(feeds, "w")
					}
					got, err := nnRun(13, nnNode(ir.OpFusedConv, in, []string{"y"}, attrs...), consts, feeds)
					if err != nil {
						t.Fatal(err)
					}
					want := make([]float32, len(ref))
					for i, v := range ref {
						if withZ {
							v += z.F32()[i]
						}
						want[i] = c.f(v)
					}
					nnNear(t, "y", got["y"].F32(), want, 1e-5)
				})
			}
		}
	}
}

// TestNNGemmPaths checks every Gemm path (packed constant B with each foldable C form, fed B, FusedGemm) against
// the ONNX formula Y = alpha·op(A)·op(B) + beta·C evaluated in float64.
func TestNNGemmPaths(t *testing.T) {
	const M, K, N = 3, 5, 4
	ref := func(a, b, c *ir.Tensor, ta, tb bool, alpha, beta float64) []float32 {
		out := make([]float32, M*N)
		for i := 0; i < M; i++ {
			for j := 0; j < N; j++ {
				var s float64
				for p := 0; p < K; p++ {
					av, bv := a.F32()[i*K+p], b.F32()[p*N+j]
					if ta {
						av = a.F32()[p*M+i]
					}
					if tb {
						bv = b.F32()[j*K+p]
					}
					s += float64(av) * float64(bv)
				}
				s *= alpha
				if c != nil {
					cv := c.F32()
					switch {
					case c.Len() == 1:
						s += beta * float64(cv[0])
					case c.Rank() == 2 && c.Shape[1] == 1:
						s += beta * float64(cv[i])
					case c.Len() == N:
						s += beta * float64(cv[j])
					default:
						s += beta * float64(cv[i*N+j])
					}
				}
				out[i*N+j] = float32(s)
			}
		}
		return out
	}
	cs := map[string]*ir.Tensor{"none": nil, "scalar": nnRamp(), "row": nnRamp(N), "row2": nnRamp(1, N), "col": nnRamp(M, 1), "full": nnRamp(M, N)}
	for cname, c := range cs {
		for _, ta := range []bool{false, true} {
			for _, tb := range []bool{false, true} {
				for _, constB := range []bool{false, true} {
					a := nnRamp(M, K)
					if ta {
						a = nnRamp(K, M)
					}
					b := nnRamp(K, N)
					if tb {
						b = nnRamp(N, K)
					}
					name := cname
					if constB {
						name += "/constB"
					}
					t.Run(name, func(t *testing.T) {
						in := []string{"a", "b"}
						feeds := map[string]*ir.Tensor{"a": a, "b": b}
						consts := map[string]*ir.Tensor{}
						if c != nil {
							in = append(in, "c")
							consts["c"] = c
						}
						if constB {
							consts["b"] = b
							delete(feeds, "b")
						}
						attrs := []*ir.Attr{nnAFloat("alpha", 0.5), nnAFloat("beta", 1.5), nnAInt("transA", map[bool]int64{true: 1}[ta]), nnAInt("transB", map[bool]int64{true: 1}[tb])}
						got, err := nnRun(13, nnNode("Gemm", in, []string{"y"}, attrs...), consts, feeds)
						if err != nil {
							t.Fatal(err)
						}
						want := ref(a, b, c, ta, tb, 0.5, 1.5)
						nnNear(t, "y", got["y"].F32(), want, 1e-5)
						fused, err := nnRun(13, nnNode(ir.OpFusedGemm, in, []string{"y"}, append(attrs, nnAStr("activation", "Relu"))...), consts, feeds)
						if err != nil {
							t.Fatal(err)
						}
						for i := range want {
							want[i] = max(want[i], 0)
						}
						nnNear(t, "fused y", fused["y"].F32(), want, 1e-5)
					})
				}
			}
		}
	}
}

// TestNNMatMulBroadcast checks batched MatMul with broadcast batch dims, 1-D operands, constant B and int64,
// against NumPy's matmul definition evaluated directly.
func TestNNMatMulBroadcast(t *testing.T) {
	cases := []struct {
		a, b, out []int
		constB    bool
	}{
		{[]int{2, 1, 3, 4}, []int{3, 4, 5}, []int{2, 3, 3, 5}, false},
		{[]int{2, 3, 4}, []int{4, 5}, []int{2, 3, 5}, true},
		{[]int{4}, []int{2, 4, 3}, []int{2, 3}, false},
		{[]int{2, 3, 4}, []int{4}, []int{2, 3}, true},
		{[]int{4}, []int{4}, []int{}, false},
	}
	for _, c := range cases {
		a, b := nnRamp(c.a...), nnRamp(c.b...)
		consts := map[string]*ir.Tensor{}
		feeds := map[string]*ir.Tensor{"a": a, "b": b}
		if c.constB {
			consts["b"] = b
			delete(feeds, "b")
		}
		got, err := nnRun(13, nnNode("MatMul", []string{"a", "b"}, []string{"y"}), consts, feeds)
		if err != nil {
			t.Fatalf("%v×%v: %v", c.a, c.b, err)
		}
		if !nnEqualInts(got["y"].Shape, c.out) {
			t.Fatalf("%v×%v: shape %v, want %v", c.a, c.b, got["y"].Shape, c.out)
		}
		// Reference: promote 1-D operands, broadcast, multiply, then drop the promoted dims.
		as, bs := c.a, c.b
		if len(as) == 1 {
			as = []int{1, as[0]}
		}
		if len(bs) == 1 {
			bs = []int{bs[0], 1}
		}
		M, K, N := as[len(as)-2], as[len(as)-1], bs[len(bs)-1]
		batch, _ := nnBroadcastShapes(as[:len(as)-2], bs[:len(bs)-2])
		ao, bo := nnBatchOffsets(as[:len(as)-2], batch, M*K), nnBatchOffsets(bs[:len(bs)-2], batch, K*N)
		var want []float32
		for bi := range ao {
			for i := 0; i < M; i++ {
				for j := 0; j < N; j++ {
					var s float32
					for p := 0; p < K; p++ {
						s += a.F32()[ao[bi]+i*K+p] * b.F32()[bo[bi]+p*N+j]
					}
					want = append(want, s)
				}
			}
		}
		nnNear(t, "y", got["y"].F32(), want, 1e-5)
	}
	ai := ir.FromInt64([]int{2, 2}, []int64{1, 2, 3, 4})
	bi := ir.FromInt64([]int{2, 2}, []int64{5, 6, 7, 8})
	got, err := nnRun(13, nnNode("MatMul", []string{"a", "b"}, []string{"y"}), nil, map[string]*ir.Tensor{"a": ai, "b": bi})
	if err != nil {
		t.Fatal(err)
	}
	if y := got["y"].I64(); y[0] != 19 || y[1] != 22 || y[2] != 43 || y[3] != 50 {
		t.Fatalf("int64 MatMul = %v, want [19 22 43 50]", y)
	}
}

// TestNNSoftmaxLegacy checks the opset < 13 form, which flattens to 2-D at axis, against the opset-13 form on the
// equivalent reshaped input (whose own node tests pass).
func TestNNSoftmaxLegacy(t *testing.T) {
	x := nnRamp(2, 3, 4)
	for _, op := range []string{"Softmax", "LogSoftmax", "Hardmax"} {
		old, err := nnRun(11, nnNode(op, []string{"x"}, []string{"y"}, nnAInt("axis", 1)), nil, map[string]*ir.Tensor{"x": x})
		if err != nil {
			t.Fatal(err)
		}
		flat, _ := x.Reshape(2, 12)
		now, err := nnRun(13, nnNode(op, []string{"x"}, []string{"y"}, nnAInt("axis", 1)), nil, map[string]*ir.Tensor{"x": flat})
		if err != nil {
			t.Fatal(err)
		}
		nnNear(t, op, old["y"].F32(), now["y"].F32(), 1e-6)
		if !nnEqualInts(old["y"].Shape, x.Shape) {
			t.Fatalf("%s: shape %v, want %v", op, old["y"].Shape, x.Shape)
		}
	}
}

// TestNNGroupNorm checks GroupNormalization against NumPy (values from scripts/fixtures in this test's comment:
// x = 3·sin(arange(24)).reshape(2,4,3), 2 groups, ε = 1e-5; y = (x−mean)/√(var+ε)·scale + bias).
func TestNNGroupNorm(t *testing.T) {
	xs := []float32{0.0, 2.524413, 2.727892, 0.42336, -2.270407, -2.876773, -0.838246, 1.97096, 2.968075, 1.236355, -1.632063, -2.999971, -1.609719, 1.260501, 2.971822, 1.950864, -0.86371, -2.884192, -2.252962, 0.449632, 2.738836, 2.509967, -0.026554, -2.538661}
	x := ir.FromFloat32([]int{2, 4, 3}, xs)
	cases := []struct {
		opset       int64
		scale, bias []float32
		want        []float32
	}{
		{21, []float32{1.5, -0.5, 2.0, 0.25}, []float32{0.1, 0.2, -0.3, 0.4},
			[]float32{0.038148, 1.810833, 1.953719, 0.12152, 0.752056, 0.89399, -1.209461, 1.463649, 2.412457, 0.533079, 0.191897, 0.029193, -1.164712, 0.912764, 2.151424, -0.237484, 0.441583, 0.92906, -2.632804, -0.005519, 2.219897, 0.687176, 0.378946, 0.073682}},
		{18, []float32{1.5, -0.5}, []float32{0.1, -0.3},
			[]float32{0.038148, 1.810833, 1.953719, 0.335439, -1.556169, -1.981969, -0.072635, -0.740912, -0.978114, -0.566158, 0.116205, 0.441614, -1.164712, 0.912764, 2.151424, 1.412451, -0.624748, -2.08718, 0.283201, -0.37362, -0.929974, -0.874351, -0.257891, 0.352636}},
	}
	for _, c := range cases {
		got, err := nnRun(c.opset, nnNode("GroupNormalization", []string{"x", "s", "b"}, []string{"y"}, nnAInt("num_groups", 2)),
			map[string]*ir.Tensor{"s": ir.FromFloat32([]int{len(c.scale)}, c.scale), "b": ir.FromFloat32([]int{len(c.bias)}, c.bias)},
			map[string]*ir.Tensor{"x": x})
		if err != nil {
			t.Fatalf("opset %d: %v", c.opset, err)
		}
		nnNear(t, "y", got["y"].F32(), c.want, 1e-4)
	}
}

// TestNNResizeAntialias checks antialiased downsampling against PyTorch's F.interpolate(antialias=True) on
// x = ((arange(32)²) mod 7 − 3).reshape(1,1,4,8) resized to 2×3 (half_pixel; bicubic uses a = −0.5 as PyTorch).
// PyTorch drops taps outside the input and renormalises, which is ONNX's exclude_outside=1.
func TestNNResizeAntialias(t *testing.T) {
	x := ir.New(ir.Float32, 1, 1, 4, 8)
	for i := range x.F32() {
		x.F32()[i] = float32((i*i)%7 - 3)
	}
	sizes := ir.FromInt64([]int{4}, []int64{1, 1, 2, 3})
	for _, c := range []struct {
		mode string
		want []float32
	}{
		{"linear", []float32{-0.894737, -0.547619, -1.763158, -0.443609, -1.261905, -1.154135}},
		{"cubic", []float32{-0.973058, -0.373661, -1.900495, -0.295707, -1.395925, -1.126349}},
	} {
		n := nnNode("Resize", []string{"x", "", "", "sizes"}, []string{"y"}, nnAStr("mode", c.mode), nnAInt("antialias", 1), nnAInt("exclude_outside", 1), nnAFloat("cubic_coeff_a", -0.5))
		got, err := nnRun(18, n, map[string]*ir.Tensor{"sizes": sizes}, map[string]*ir.Tensor{"x": x})
		if err != nil {
			t.Fatal(err)
		}
		nnNear(t, c.mode, got["y"].F32(), c.want, 1e-5)
	}
}

// TestNNUpsample7 checks the attribute form of Upsample (opset 7): nearest repeats, linear is asymmetric.
func TestNNUpsample7(t *testing.T) {
	x := ir.FromFloat32([]int{1, 1, 2, 2}, []float32{1, 2, 3, 4})
	got, err := nnRun(7, nnNode("Upsample", []string{"x"}, []string{"y"}, nnAFloats("scales", 1, 1, 2, 2)), nil, map[string]*ir.Tensor{"x": x})
	if err != nil {
		t.Fatal(err)
	}
	nnNear(t, "nearest", got["y"].F32(), []float32{1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4}, 0)
	got, err = nnRun(7, nnNode("Upsample", []string{"x"}, []string{"y"}, nnAFloats("scales", 1, 1, 1, 2), nnAStr("mode", "linear")), nil, map[string]*ir.Tensor{"x": x})
	if err != nil {
		t.Fatal(err)
	}
	// asymmetric: x_in = x_out/2 → 0, .5, 1, 1.5 (clamped to the edge)
	nnNear(t, "linear", got["y"].F32(), []float32{1, 1.5, 2, 2, 3, 3.5, 4, 4}, 1e-6)
}

// TestNNErrors feeds broken inputs and attributes: each must fail with a typed error naming the node, never panic.
func TestNNErrors(t *testing.T) {
	f := func(shape ...int) *ir.Tensor { return nnRamp(shape...) }
	cases := []struct {
		name   string
		opset  int64
		node   *ir.Node
		consts map[string]*ir.Tensor
		feeds  map[string]*ir.Tensor
		want   error
	}{
		{"conv channels", 13, nnNode("Conv", []string{"x", "w"}, []string{"y"}), nil,
			map[string]*ir.Tensor{"x": f(1, 3, 5, 5), "w": f(2, 2, 3, 3)}, ErrInvalid},
		{"conv rank", 13, nnNode("Conv", []string{"x", "w"}, []string{"y"}), nil,
			map[string]*ir.Tensor{"x": f(1, 2, 5), "w": f(2, 2, 3, 3)}, ErrInvalid},
		{"conv kernel too big", 13, nnNode("Conv", []string{"x", "w"}, []string{"y"}), nil,
			map[string]*ir.Tensor{"x": f(1, 2, 2, 2), "w": f(2, 2, 3, 3)}, ErrInvalid},
		{"conv bad bias", 13, nnNode("Conv", []string{"x", "w", "b"}, []string{"y"}), map[string]*ir.Tensor{"w": f(2, 2, 3, 3)},
			map[string]*ir.Tensor{"x": f(1, 2, 5, 5), "b": f(3)}, ErrInvalid},
		{"conv auto_pad", 13, nnNode("Conv", []string{"x", "w"}, []string{"y"}, nnAStr("auto_pad", "FULL")), nil,
			map[string]*ir.Tensor{"x": f(1, 2, 5, 5), "w": f(2, 2, 3, 3)}, ErrUnsupported},
		{"fused activation", 13, nnNode(ir.OpFusedConv, []string{"x", "w"}, []string{"y"}, nnAStr("activation", "Gelu")), nil,
			map[string]*ir.Tensor{"x": f(1, 2, 5, 5), "w": f(2, 2, 3, 3)}, ErrUnsupported},
		{"gemm inner", 13, nnNode("Gemm", []string{"a", "b"}, []string{"y"}), nil,
			map[string]*ir.Tensor{"a": f(2, 3), "b": f(4, 2)}, ErrInvalid},
		{"gemm C", 13, nnNode("Gemm", []string{"a", "b", "c"}, []string{"y"}), map[string]*ir.Tensor{"b": f(3, 2)},
			map[string]*ir.Tensor{"a": f(2, 3), "c": f(3, 2)}, ErrInvalid},
		{"matmul inner", 13, nnNode("MatMul", []string{"a", "b"}, []string{"y"}), nil,
			map[string]*ir.Tensor{"a": f(2, 3), "b": f(4, 2)}, ErrInvalid},
		{"matmul batch", 13, nnNode("MatMul", []string{"a", "b"}, []string{"y"}), nil,
			map[string]*ir.Tensor{"a": f(2, 2, 3), "b": f(3, 3, 2)}, ErrInvalid},
		{"batchnorm training", 15, nnNode("BatchNormalization", []string{"x", "s", "b", "m", "v"}, []string{"y"}, nnAInt("training_mode", 1)), nil,
			map[string]*ir.Tensor{"x": f(1, 2, 2), "s": f(2), "b": f(2), "m": f(2), "v": f(2)}, ErrUnsupported},
		{"batchnorm channels", 15, nnNode("BatchNormalization", []string{"x", "s", "b", "m", "v"}, []string{"y"}), nil,
			map[string]*ir.Tensor{"x": f(1, 3, 2), "s": f(2), "b": f(2), "m": f(2), "v": f(2)}, ErrInvalid},
		{"maxpool no kernel", 13, nnNode("MaxPool", []string{"x"}, []string{"y"}), nil,
			map[string]*ir.Tensor{"x": f(1, 1, 4, 4)}, ErrInvalid},
		{"maxpool rank", 13, nnNode("MaxPool", []string{"x"}, []string{"y"}, nnAInts("kernel_shape", 2, 2)), nil,
			map[string]*ir.Tensor{"x": f(1, 4, 4)}, ErrInvalid},
		{"avgpool window", 13, nnNode("AveragePool", []string{"x"}, []string{"y"}, nnAInts("kernel_shape", 5, 5)), nil,
			map[string]*ir.Tensor{"x": f(1, 1, 4, 4)}, ErrInvalid},
		{"softmax axis", 13, nnNode("Softmax", []string{"x"}, []string{"y"}, nnAInt("axis", 3)), nil,
			map[string]*ir.Tensor{"x": f(2, 3)}, ErrInvalid},
		{"layernorm scale", 17, nnNode("LayerNormalization", []string{"x", "s"}, []string{"y"}), nil,
			map[string]*ir.Tensor{"x": f(2, 3), "s": f(4)}, ErrInvalid},
		{"resize both", 13, nnNode("Resize", []string{"x", "", "s", "z"}, []string{"y"}), nil,
			map[string]*ir.Tensor{"x": f(1, 1, 2, 2), "s": ir.FromFloat32([]int{4}, []float32{1, 1, 2, 2}), "z": ir.FromInt64([]int{4}, []int64{1, 1, 4, 4})}, ErrInvalid},
		{"resize scales count", 13, nnNode("Resize", []string{"x", "", "s"}, []string{"y"}), nil,
			map[string]*ir.Tensor{"x": f(1, 1, 2, 2), "s": ir.FromFloat32([]int{2}, []float32{2, 2})}, ErrInvalid},
		{"resize mode", 13, nnNode("Resize", []string{"x", "", "s"}, []string{"y"}, nnAStr("mode", "area")), nil,
			map[string]*ir.Tensor{"x": f(1, 1, 2, 2), "s": ir.FromFloat32([]int{4}, []float32{1, 1, 2, 2})}, ErrUnsupported},
		{"convtranspose channels", 13, nnNode("ConvTranspose", []string{"x", "w"}, []string{"y"}), nil,
			map[string]*ir.Tensor{"x": f(1, 3, 3, 3), "w": f(2, 2, 3, 3)}, ErrInvalid},
		{"dropout training", 13, nnNode("Dropout", []string{"x", "r", "m"}, []string{"y"}), map[string]*ir.Tensor{"m": nnBoolScalar(true)},
			map[string]*ir.Tensor{"x": f(4), "r": ir.Scalar(0.3)}, ErrUnsupported},
		{"instancenorm scale", 13, nnNode("InstanceNormalization", []string{"x", "s", "b"}, []string{"y"}), nil,
			map[string]*ir.Tensor{"x": f(1, 2, 3), "s": f(3), "b": f(2)}, ErrInvalid},
		{"groupnorm groups", 21, nnNode("GroupNormalization", []string{"x", "s", "b"}, []string{"y"}, nnAInt("num_groups", 3)), nil,
			map[string]*ir.Tensor{"x": f(1, 4, 3), "s": f(4), "b": f(4)}, ErrInvalid},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := nnRun(c.opset, c.node, c.consts, c.feeds)
			if err == nil {
				t.Fatal("no error")
			}
			if !errors.Is(err, c.want) {
				t.Fatalf("error %q does not wrap %v", err, c.want)
			}
			if !strings.Contains(err.Error(), `node "n0"`) {
				t.Fatalf("error %q does not name the node", err)
			}
		})
	}
}

func nnBoolScalar(v bool) *ir.Tensor {
	t := ir.New(ir.Bool)
	t.BoolData()[0] = v
	return t
}

// TestNNFloat16 runs Conv and Softmax on float16 inputs: the results must be the float32 results rounded to half.
func TestNNFloat16(t *testing.T) {
	toHalf := func(x *ir.Tensor) *ir.Tensor {
		h := ir.New(ir.Float16, x.Shape...)
		for i, v := range x.F32() {
			h.Bits16()[i] = ir.FloatToHalf(v)
		}
		return h
	}
	x, w := nnRamp(1, 2, 4, 4), nnRamp(3, 2, 3, 3)
	xh, wh := toHalf(x), toHalf(w)
	// Reference on the half-rounded values in float32.
	xr, _ := nnF32(xh)
	wr, _ := nnF32(wh)
	ref, err := nnRun(13, nnNode("Conv", []string{"x", "w"}, []string{"y"}), nil,
		map[string]*ir.Tensor{"x": ir.FromFloat32(x.Shape, xr), "w": ir.FromFloat32(w.Shape, wr)})
	if err != nil {
		t.Fatal(err)
	}
	got, err := nnRun(13, nnNode("Conv", []string{"x", "w"}, []string{"y"}), nil, map[string]*ir.Tensor{"x": xh, "w": wh})
	if err != nil {
		t.Fatal(err)
	}
	if got["y"].DType != ir.Float16 {
		t.Fatalf("dtype %s, want float16", got["y"].DType)
	}
	for i, v := range ref["y"].F32() {
		if g := got["y"].Bits16()[i]; g != ir.FloatToHalf(v) {
			t.Fatalf("y[%d] = %v, want %v", i, ir.HalfToFloat(g), v)
		}
	}
}
