package runtime

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/hone-ml/hone/internal/irtest"
	"github.com/hone-ml/hone/ir"
)

// TestMatMulIntegerToFloat checks ONNX Runtime's contrib MatMulIntegerToFloat against its definition,
// y = float32(Σ (a − za)(b − zb))·(a_scale·b_scale[j]) + bias[j], with the exact sums from MatMulInteger: 2-D and
// batched A, int8 and uint8 A, per-tensor and per-column b_scale, with and without bias, B constant (packed at
// build time) and fed (packed per call). The epilogue may fuse the multiply-add, so the bound is one float32
// rounding of |S·scale| + |bias|.
func TestMatMulIntegerToFloat(t *testing.T) {
	r := rand.New(rand.NewPCG(31, 32))
	for _, c := range []struct {
		aShape          []int
		adt             ir.DType
		perColumn, bias bool
		constB          bool
		bBatch          bool
	}{
		{[]int{7, 33}, ir.Int8, true, true, true, false},
		{[]int{2, 40, 33}, ir.Int8, true, true, true, false},
		{[]int{5, 33}, ir.Uint8, false, false, true, false},
		{[]int{3, 9, 33}, ir.Uint8, true, true, false, true},
	} {
		t.Run(fmt.Sprintf("%v_%s_col%v_bias%v_const%v", c.aShape, c.adt, c.perColumn, c.bias, c.constB), func(t *testing.T) {
			K, N := c.aShape[len(c.aShape)-1], 21
			a := qRandInt(r, c.adt, c.aShape...)
			bShape := []int{K, N}
			if c.bBatch {
				bShape = []int{c.aShape[0], K, N}
			}
			b := qRandInt(r, ir.Int8, bShape...)
			za := ir.New(c.adt)
			qSetter(za)(0, 3)
			zb := qInt8Scalar(0)
			as := float32(0.013)
			nb := 1
			if c.perColumn {
				nb = N
			}
			bs, bias := make([]float32, nb), make([]float32, N)
			for j := range bs {
				bs[j] = float32(0.001 + 0.02*r.Float64())
			}
			for j := range bias {
				bias[j] = float32(r.NormFloat64())
			}
			consts := map[string]*ir.Tensor{"as": ir.Scalar(as), "bs": ir.FromFloat32([]int{nb}, bs), "za": za, "zb": zb}
			feeds := map[string]*ir.Tensor{"a": a}
			if c.constB {
				consts["b"] = b
			} else {
				feeds["b"] = b
			}
			in := []string{"a", "b", "as", "bs", "za", "zb"}
			if c.bias {
				consts["bias"] = ir.FromFloat32([]int{N}, bias)
				in = append(in, "bias")
			}
			n := &ir.Node{Name: "n0", OpType: "MatMulIntegerToFloat", Domain: ir.DomainMicrosoft, Inputs: in, Outputs: []string{"y"}}
			out, err := nnRun(13, n, consts, feeds)
			if err != nil {
				t.Fatal(err)
			}
			sums, err := nnRun(13, nnNode("MatMulInteger", []string{"a", "b", "za", "zb"}, []string{"y"}),
				map[string]*ir.Tensor{"za": za, "zb": zb}, map[string]*ir.Tensor{"a": a, "b": b})
			if err != nil {
				t.Fatal(err)
			}
			s, got := sums["y"].I32(), out["y"].F32()
			if len(got) != len(s) {
				t.Fatalf("%d outputs, want %d", len(got), len(s))
			}
			for i, v := range s {
				j := i % N
				scale := as * bs[j%nb]
				want := float64(float32(v)) * float64(scale)
				if c.bias {
					want += float64(bias[j])
				}
				tol := (math.Abs(float64(float32(v))*float64(scale)) + math.Abs(float64(bias[j]))) * 0x1p-22
				if d := math.Abs(float64(got[i]) - want); d > tol {
					t.Fatalf("element %d = %g, want %g (|Δ| %g > %g)", i, got[i], want, d, tol)
				}
			}
		})
	}
}

// TestMatMulIntegerToFloatBadInput checks that a bias of the wrong length and a per-row a_scale are errors.
func TestMatMulIntegerToFloatBadInput(t *testing.T) {
	a, b := ir.New(ir.Int8, 2, 4), ir.New(ir.Int8, 4, 3)
	for name, consts := range map[string]map[string]*ir.Tensor{
		"bias length": {"as": ir.Scalar(1), "bs": ir.Scalar(1), "bias": ir.FromFloat32([]int{4}, make([]float32, 4))},
		"a_scale":     {"as": ir.FromFloat32([]int{2}, []float32{1, 1}), "bs": ir.Scalar(1), "bias": ir.FromFloat32([]int{3}, make([]float32, 3))},
		"b_scale":     {"as": ir.Scalar(1), "bs": ir.FromFloat32([]int{2}, []float32{1, 1}), "bias": ir.FromFloat32([]int{3}, make([]float32, 3))},
	} {
		consts["b"] = b
		n := &ir.Node{Name: "n0", OpType: "MatMulIntegerToFloat", Domain: ir.DomainMicrosoft,
			Inputs: []string{"a", "b", "as", "bs", "", "", "bias"}, Outputs: []string{"y"}}
		if _, err := nnRun(13, n, consts, map[string]*ir.Tensor{"a": a}); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

// TestQDQMatMulFloatFusion compiles DQ(a), DQ(w) → MatMul → Add(bias) with a float output (as hone's static
// quantizer writes PP-OCRv4 rec's classifier) with and without the optimizer: the fused plan must hold one
// MatMulIntegerToFloat and no MatMul or Add when the bias has one value per column, keep the Add when it does not,
// and agree with the op-by-op simulation to float32 rounding of each output's terms.
func TestQDQMatMulFloatFusion(t *testing.T) {
	r := rand.New(rand.NewPCG(33, 34))
	for _, c := range []struct {
		name      string
		biasShape []int
		absorbed  bool
	}{{"bias [N]", []int{6}, true}, {"bias [1,1,N]", []int{1, 1, 6}, true}, {"bias [M,N]", []int{5, 6}, false}} {
		t.Run(c.name, func(t *testing.T) {
			const K, N = 16, 6
			b := irtest.New("qmatmulfloat")
			x := b.Input("x", ir.Int8, 2, 5, K)
			s := b.Init("s", ir.Scalar(0.02))
			z := b.Init("z", qInt8Scalar(-4))
			ws := make([]float32, N)
			for j := range ws {
				ws[j] = float32(0.002 + 0.01*r.Float64())
			}
			wd := b.Op("DequantizeLinear", []string{b.Init("w", qRandInt(r, ir.Int8, K, N)), b.Init("ws", ir.FromFloat32([]int{N}, ws))},
				irtest.Int("axis", 1))
			y := b.Op("MatMul", []string{b.Op("DequantizeLinear", []string{x, s, z}), wd})
			bias := ir.New(ir.Float32, c.biasShape...)
			for i := range bias.F32() {
				bias.F32()[i] = float32(r.NormFloat64())
			}
			b.Output(b.Op("Softmax", []string{b.Op("Add", []string{y, b.Init("bias", bias)})}, irtest.Int("axis", -1)))
			m := b.Model(13)
			sim, fused := qCompileBoth(t, m, 1, 1)
			ops := irtest.OpCount(fused.Graph)
			if ops["MatMulIntegerToFloat"] != 1 || ops["MatMul"] != 0 || (ops["Add"] == 0) != c.absorbed {
				t.Fatalf("compiled ops %v, want one MatMulIntegerToFloat (Add absorbed: %v)", ops, c.absorbed)
			}
			feeds := map[string]*ir.Tensor{"x": qRandInt(r, ir.Int8, 2, 5, K)}
			want, got := qRunBoth(t, sim, fused, feeds)
			for name, wt := range want {
				for i, v := range wt.F32() {
					if d := math.Abs(float64(v - got[name].F32()[i])); d > 1e-6 {
						t.Fatalf("%s[%d] = %g, simulation %g", name, i, got[name].F32()[i], v)
					}
				}
			}
		})
	}
}

// TestQDQGemmFloatFusion checks fuse_qdq_gemm_float: DQ(a), DQ(B)[, DQ(int32 bias)] → Gemm with a float output (the
// graph's, and one read by a float Relu) runs as QGemm without y_scale, and computes what the QDQ graph means (the
// op-by-op simulation), with B as [K,N] or transposed [N,K], per-tensor and per-column scales, with and without
// bias. A Gemm whose output is quantized stays fuse_qdq_gemm's (requantized QGemm, checked by its own tests).
func TestQDQGemmFloatFusion(t *testing.T) {
	r := rand.New(rand.NewPCG(35, 36))
	for _, c := range []struct {
		name              string
		transB, perColumn bool
		bias, relu        bool
	}{
		{"plain", false, false, false, false},
		{"transB per-column bias", true, true, true, false},
		{"per-column bias relu", false, true, true, true},
		{"transB per-tensor", true, false, false, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			const M, K, N = 3, 20, 7
			b := irtest.New("qgemmfloat")
			x := b.Input("x", ir.Uint8, M, K)
			xs := float32(0.03)
			s := b.Init("s", ir.Scalar(xs))
			zt := ir.New(ir.Uint8)
			zt.U8()[0] = 131
			z := b.Init("z", zt)
			ws := []float32{0.004}
			if c.perColumn {
				ws = make([]float32, N)
				for j := range ws {
					ws[j] = float32(0.002 + 0.01*r.Float64())
				}
			}
			wshape, axis := []int{K, N}, int64(1)
			if c.transB {
				wshape, axis = []int{N, K}, 0
			}
			wsT := ir.Scalar(ws[0])
			if c.perColumn {
				wsT = ir.FromFloat32([]int{N}, ws)
			}
			wd := b.Op("DequantizeLinear", []string{b.Init("w", qRandInt(r, ir.Int8, wshape...)), b.Init("ws", wsT)}, irtest.Int("axis", axis))
			in := []string{b.Op("DequantizeLinear", []string{x, s, z}), wd}
			if c.bias {
				bq := make([]int32, N)
				bs := make([]float32, N)
				for j := range bq {
					bq[j], bs[j] = int32(r.IntN(6000)-3000), xs*ws[min(j, len(ws)-1)]
				}
				in = append(in, b.Op("DequantizeLinear", []string{b.Init("b", ir.FromInt32([]int{N}, bq)), b.Init("bs", ir.FromFloat32([]int{N}, bs))}, irtest.Int("axis", 0)))
			}
			attrs := []*ir.Attr{}
			if c.transB {
				attrs = append(attrs, irtest.Int("transB", 1))
			}
			y := b.Op("Gemm", in, attrs...)
			if c.relu {
				y = b.Op("Relu", []string{y})
			}
			b.Output(y)
			m := b.Model(13)
			sim, fused := qCompileBoth(t, m, 1, 1)
			if ops := irtest.OpCount(fused.Graph); ops["QGemm"] != 1 || ops["Gemm"] != 0 {
				t.Fatalf("compiled ops %v, want one QGemm", ops)
			}
			want, got := qRunBoth(t, sim, fused, map[string]*ir.Tensor{"x": qRandInt(r, ir.Uint8, M, K)})
			for name, wt := range want {
				for i, v := range wt.F32() {
					if d := math.Abs(float64(v - got[name].F32()[i])); d > 1e-5*max(1, math.Abs(float64(v))) {
						t.Fatalf("%s[%d] = %g, simulation %g", name, i, got[name].F32()[i], v)
					}
				}
			}
		})
	}
}
