package runtime

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/hone-ml/hone/ir"
)

func qT(dt ir.DType, shape []int, vals ...float64) *ir.Tensor {
	t := ir.New(dt, shape...)
	set := qSetter(t)
	for i, v := range vals {
		switch dt {
		case ir.Float32:
			t.F32()[i] = float32(v)
		case ir.Float16:
			t.Bits16()[i] = ir.FloatToHalf(float32(v))
		default:
			set(i, int64(v))
		}
	}
	return t
}

// TestQuantizeLinearCases checks hand-worked values from the ONNX spec's formula
// y = saturate(roundHalfEven(x/scale) + zp): ties to even, saturation at both ends, every integer dtype, per-axis
// and opset-21 blocked scales.
func TestQuantizeLinearCases(t *testing.T) {
	cases := []struct {
		name        string
		opset       int64
		x, sc, zp   *ir.Tensor
		attrs       []*ir.Attr
		want        []float64
		wantDT      ir.DType
		errContains string
	}{
		{name: "ties-to-even-u8", opset: 13, x: qT(ir.Float32, []int{6}, 0.5, 1.5, 2.5, -0.5, 300, -7),
			sc: qT(ir.Float32, nil, 1), zp: qT(ir.Uint8, nil, 0), want: []float64{0, 2, 2, 0, 255, 0}, wantDT: ir.Uint8},
		{name: "i8-zp", opset: 13, x: qT(ir.Float32, []int{5}, -2.5, 2.5, 1000, -1000, 0.74),
			sc: qT(ir.Float32, nil, 0.5), zp: qT(ir.Int8, nil, -3), want: []float64{-8, 2, 127, -128, -2}, wantDT: ir.Int8},
		{name: "nan-inf-i8", opset: 13, x: qT(ir.Float32, []int{4}, math.NaN(), math.Inf(1), math.Inf(-1), 1e30),
			sc: qT(ir.Float32, nil, 0.5), zp: qT(ir.Int8, nil, -3), want: []float64{0, 127, -128, 127}, wantDT: ir.Int8},
		{name: "empty-u8", opset: 13, x: qT(ir.Float32, []int{0}), sc: qT(ir.Float32, nil, 0.5), zp: qT(ir.Uint8, nil, 3),
			want: []float64{}, wantDT: ir.Uint8},
		{name: "no-zp-is-u8", opset: 13, x: qT(ir.Float32, []int{2}, 3, -3), sc: qT(ir.Float32, nil, 2),
			want: []float64{2, 0}, wantDT: ir.Uint8},
		{name: "int16", opset: 21, x: qT(ir.Float32, []int{3}, 40000, -1.5, 7), sc: qT(ir.Float32, nil, 1),
			zp: qT(ir.Int16, nil, 10), want: []float64{32767, 8, 17}, wantDT: ir.Int16},
		{name: "uint16", opset: 21, x: qT(ir.Float32, []int{2}, 70000, -1), sc: qT(ir.Float32, nil, 1),
			zp: qT(ir.Uint16, nil, 0), want: []float64{65535, 0}, wantDT: ir.Uint16},
		{name: "int4", opset: 21, x: qT(ir.Float32, []int{4}, 9, -9, 2.5, -3.5), sc: qT(ir.Float32, nil, 1),
			zp: qT(ir.Int4, nil, 0), want: []float64{7, -8, 2, -4}, wantDT: ir.Int4},
		{name: "uint4-output_dtype", opset: 21, x: qT(ir.Float32, []int{3}, 20, 3.5, -1), sc: qT(ir.Float32, nil, 1),
			attrs: []*ir.Attr{nnAInt("output_dtype", int64(ir.Uint4))}, want: []float64{15, 4, 0}, wantDT: ir.Uint4},
		{name: "per-axis-negative", opset: 13, x: qT(ir.Float32, []int{2, 3}, 1, 2, 3, 4, 5, 6),
			sc: qT(ir.Float32, []int{3}, 1, 2, 4), zp: qT(ir.Uint8, []int{3}, 0, 10, 100), attrs: []*ir.Attr{nnAInt("axis", -1)},
			want: []float64{1, 11, 101, 4, 12, 102}, wantDT: ir.Uint8},
		{name: "blocked", opset: 21, x: qT(ir.Float32, []int{2, 5}, 1, 2, 3, 4, 5, 10, 20, 30, 40, 50),
			sc: qT(ir.Float32, []int{2, 3}, 1, 2, 4, 10, 20, 40), attrs: []*ir.Attr{nnAInt("axis", 1), nnAInt("block_size", 2)},
			zp: qT(ir.Int8, []int{2, 3}, 0, 0, 0, 0, 0, 1), want: []float64{1, 2, 2, 2, 1, 1, 2, 2, 2, 2}, wantDT: ir.Int8},
		{name: "int32-input", opset: 21, x: qT(ir.Int32, []int{3}, 5, 7, -9), sc: qT(ir.Float32, nil, 2),
			zp: qT(ir.Int8, nil, 0), want: []float64{2, 4, -4}, wantDT: ir.Int8},
		{name: "bad-axis-scale", opset: 13, x: qT(ir.Float32, []int{2, 3}, 1, 2, 3, 4, 5, 6),
			sc: qT(ir.Float32, []int{2}, 1, 1), errContains: "per-axis scale"},
		{name: "bad-blocked-scale", opset: 21, x: qT(ir.Float32, []int{2, 5}, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10),
			sc: qT(ir.Float32, []int{2, 2}, 1, 1, 1, 1), attrs: []*ir.Attr{nnAInt("block_size", 2)}, errContains: "blocked scale"},
		{name: "zp-shape", opset: 13, x: qT(ir.Float32, []int{3}, 1, 2, 3), sc: qT(ir.Float32, []int{3}, 1, 1, 1),
			zp: qT(ir.Uint8, nil, 0), attrs: []*ir.Attr{nnAInt("axis", 0)}, errContains: "zero point of shape"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			in := []string{"x", "s"}
			consts := map[string]*ir.Tensor{"s": c.sc}
			if c.zp != nil {
				in = append(in, "z")
				consts["z"] = c.zp
			}
			out, err := nnRun(c.opset, nnNode("QuantizeLinear", in, []string{"y"}, c.attrs...), consts, map[string]*ir.Tensor{"x": c.x})
			if c.errContains != "" {
				if err == nil || !strings.Contains(err.Error(), c.errContains) || !strings.Contains(err.Error(), `node "n0"`) {
					t.Fatalf("error %v, want one naming the node and containing %q", err, c.errContains)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			y := out["y"]
			if y.DType != c.wantDT {
				t.Fatalf("dtype %s, want %s", y.DType, c.wantDT)
			}
			if got := y.Float64s(); fmt.Sprint(got) != fmt.Sprint(c.want) {
				t.Fatalf("got %v, want %v", got, c.want)
			}
		})
	}
}

// TestDequantizeLinearCases: y = (x − zp)·scale in the scale's dtype, per-axis and blocked.
func TestDequantizeLinearCases(t *testing.T) {
	cases := []struct {
		name      string
		x, sc, zp *ir.Tensor
		attrs     []*ir.Attr
		want      []float64
		wantDT    ir.DType
	}{
		{"int4", qT(ir.Int4, []int{3}, -8, 7, 0), qT(ir.Float32, nil, 0.5), qT(ir.Int4, nil, 1), nil, []float64{-4.5, 3, -0.5}, ir.Float32},
		{"uint16", qT(ir.Uint16, []int{2}, 65535, 0), qT(ir.Float32, nil, 1), qT(ir.Uint16, nil, 32768), nil, []float64{32767, -32768}, ir.Float32},
		{"int32-no-zp", qT(ir.Int32, []int{2}, 1000, -4), qT(ir.Float32, nil, 0.25), nil, nil, []float64{250, -1}, ir.Float32},
		{"fp16-scale", qT(ir.Int8, []int{2}, 10, -10), qT(ir.Float16, nil, 0.5), qT(ir.Int8, nil, 2), nil, []float64{4, -6}, ir.Float16},
		{"blocked", qT(ir.Uint8, []int{4, 1}, 1, 2, 3, 4), qT(ir.Float32, []int{2, 1}, 1, 10), qT(ir.Uint8, []int{2, 1}, 1, 3),
			[]*ir.Attr{nnAInt("axis", 0), nnAInt("block_size", 2)}, []float64{0, 1, 0, 10}, ir.Float32},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			in := []string{"x", "s"}
			consts := map[string]*ir.Tensor{"s": c.sc}
			if c.zp != nil {
				in = append(in, "z")
				consts["z"] = c.zp
			}
			out, err := nnRun(21, nnNode("DequantizeLinear", in, []string{"y"}, c.attrs...), consts, map[string]*ir.Tensor{"x": c.x})
			if err != nil {
				t.Fatal(err)
			}
			if out["y"].DType != c.wantDT || fmt.Sprint(out["y"].Float64s()) != fmt.Sprint(c.want) {
				t.Fatalf("got %s %v, want %s %v", out["y"].DType, out["y"].Float64s(), c.wantDT, c.want)
			}
		})
	}
}

// TestDynamicQuantizeAllZero: an all-zero tensor gives scale 1 and zero point 0 (ONNX Runtime's guard), not NaN.
func TestDynamicQuantizeAllZero(t *testing.T) {
	out, err := nnRun(13, nnNode("DynamicQuantizeLinear", []string{"x"}, []string{"y", "s", "z"}), nil,
		map[string]*ir.Tensor{"x": ir.FromFloat32([]int{3}, []float32{0, 0, 0})})
	if err != nil {
		t.Fatal(err)
	}
	if s, z := out["s"].F32()[0], out["z"].U8()[0]; s != 1 || z != 0 {
		t.Fatalf("scale %g zero point %d, want 1 and 0", s, z)
	}
}

func qRandInt(r *rand.Rand, dt ir.DType, shape ...int) *ir.Tensor {
	t := ir.New(dt, shape...)
	lo, hi, _ := qRange(dt)
	set := qSetter(t)
	for i := 0; i < t.Len(); i++ {
		set(i, int64(lo)+int64(r.IntN(int(hi-lo)+1)))
	}
	return t
}

// qCentred returns float32 (v − zp) with zp per index along axis 0 (or a scalar), the exact real-valued operand.
func qCentred(t, zp *ir.Tensor) *ir.Tensor {
	v := t.Float64s()
	z := []float64{0}
	if zp != nil {
		z = zp.Float64s()
	}
	per := t.Len() / max(len(z), 1)
	out := make([]float32, len(v))
	for i := range v {
		out[i] = float32(v[i] - z[min(i/max(per, 1), len(z)-1)])
	}
	return ir.FromFloat32(t.Shape, out)
}

// TestConvIntegerVsFloatConv checks ConvInteger and QLinearConv against an independent path: hone's float Conv
// (itself checked against the ONNX node tests) on the exact real values (x − zx) and (w − zw), whose sums are
// exact in float32 at these sizes; QLinearConv then requantizes as ONNX Runtime does.
func TestConvIntegerVsFloatConv(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	type cfg struct {
		xdt, wdt         ir.DType
		n, c, h, w, m, k int
		group            int64
		strides, pads    []int64
		dil              []int64
		perChannel       bool
		oneD             bool
		symW             bool // weights' zero point 0 (128 for uint8): 1×1 QLinearConv then runs kernels.QPointwise
	}
	cases := []cfg{
		{xdt: ir.Uint8, wdt: ir.Int8, n: 1, c: 3, h: 7, w: 6, m: 4, k: 3, group: 1, strides: []int64{1, 1}, pads: []int64{1, 1, 1, 1}, dil: []int64{1, 1}},
		{xdt: ir.Int8, wdt: ir.Int8, n: 2, c: 4, h: 9, w: 9, m: 6, k: 3, group: 2, strides: []int64{2, 1}, pads: []int64{0, 1, 2, 0}, dil: []int64{1, 2}, perChannel: true},
		{xdt: ir.Uint8, wdt: ir.Uint8, n: 1, c: 8, h: 5, w: 5, m: 8, k: 3, group: 8, strides: []int64{1, 1}, pads: []int64{1, 1, 1, 1}, dil: []int64{1, 1}, perChannel: true},
		{xdt: ir.Int8, wdt: ir.Uint8, n: 1, c: 5, h: 1, w: 11, m: 33, k: 1, group: 1, strides: []int64{1, 1}, pads: []int64{0, 0, 0, 0}, dil: []int64{1, 1}},
		{xdt: ir.Uint8, wdt: ir.Int8, n: 1, c: 2, w: 12, m: 3, k: 3, group: 1, strides: []int64{2}, pads: []int64{1, 1}, dil: []int64{1}, oneD: true, perChannel: true},
		// 1×1 stride 1 with channels a multiple of 4: the NHWC image is read as A directly (two images).
		{xdt: ir.Int8, wdt: ir.Int8, n: 2, c: 8, h: 5, w: 7, m: 40, k: 1, group: 1, strides: []int64{1, 1}, pads: []int64{0, 0, 0, 0}, dil: []int64{1, 1}, perChannel: true},
		// Contiguous im2col runs clipped on both sides, and a window wider than the padded image row.
		{xdt: ir.Uint8, wdt: ir.Int8, n: 1, c: 16, h: 6, w: 3, m: 9, k: 5, group: 1, strides: []int64{2, 1}, pads: []int64{2, 2, 1, 2}, dil: []int64{1, 1}},
		{xdt: ir.Int8, wdt: ir.Int8, n: 1, c: 4, h: 2, w: 2, m: 3, k: 5, group: 1, strides: []int64{1, 1}, pads: []int64{3, 4, 3, 4}, dil: []int64{1, 1}},
		// 1×1 over many channels (sums still below 2²⁴, so the float reference stays exact), over several GEMM
		// row blocks, and strided (through im2col).
		{xdt: ir.Int8, wdt: ir.Int8, n: 1, c: 320, h: 3, w: 5, m: 8, k: 1, group: 1, strides: []int64{1, 1}, pads: []int64{0, 0, 0, 0}, dil: []int64{1, 1}, perChannel: true},
		{xdt: ir.Uint8, wdt: ir.Int8, n: 2, c: 12, h: 33, w: 35, m: 20, k: 1, group: 1, strides: []int64{1, 1}, pads: []int64{0, 0, 0, 0}, dil: []int64{1, 1}, perChannel: true},
		{xdt: ir.Int8, wdt: ir.Int8, n: 1, c: 12, h: 9, w: 9, m: 20, k: 1, group: 1, strides: []int64{2, 2}, pads: []int64{0, 0, 0, 0}, dil: []int64{1, 1}},
		// Large enough that im2col and the GEMM alternate over bands of output rows (qConvBandBytes): bands of
		// whole 8-row blocks, and bands whose pixel count is no multiple of 8 with a shorter last band.
		{xdt: ir.Int8, wdt: ir.Int8, n: 1, c: 96, h: 40, w: 40, m: 24, k: 3, group: 1, strides: []int64{1, 1}, pads: []int64{1, 1, 1, 1}, dil: []int64{1, 1}, perChannel: true},
		{xdt: ir.Uint8, wdt: ir.Int8, n: 2, c: 64, h: 30, w: 37, m: 40, k: 3, group: 1, strides: []int64{1, 1}, pads: []int64{1, 1, 1, 1}, dil: []int64{1, 1}},
		// 3 channels × 3-wide kernels (the image stem) gather im2col straight from the NCHW planes: stride 2 with
		// both edges padded, odd sizes, row dilation, and padding wider than the image.
		{xdt: ir.Int8, wdt: ir.Int8, n: 2, c: 3, h: 13, w: 17, m: 16, k: 3, group: 1, strides: []int64{2, 2}, pads: []int64{1, 1, 1, 1}, dil: []int64{1, 1}, perChannel: true},
		{xdt: ir.Uint8, wdt: ir.Int8, n: 1, c: 3, h: 40, w: 41, m: 8, k: 3, group: 1, strides: []int64{1, 2}, pads: []int64{0, 2, 1, 0}, dil: []int64{2, 1}},
		{xdt: ir.Int8, wdt: ir.Int8, n: 1, c: 3, h: 2, w: 2, m: 5, k: 3, group: 1, strides: []int64{1, 1}, pads: []int64{2, 3, 2, 3}, dil: []int64{1, 1}},
		// Row windows instead of im2col (ungrouped, horizontal stride 1, outputs a multiple of 8 or at least 40
		// wide): strided and dilated rows, asymmetric padding, a 5-wide kernel, per-tensor and per-channel
		// weight zero points (the GEMM's row sums then read the windows too).
		{xdt: ir.Int8, wdt: ir.Int8, n: 2, c: 8, h: 5, w: 16, m: 6, k: 3, group: 1, strides: []int64{2, 1}, pads: []int64{1, 1, 1, 1}, dil: []int64{1, 1}},
		{xdt: ir.Uint8, wdt: ir.Int8, n: 1, c: 4, h: 9, w: 8, m: 33, k: 3, group: 1, strides: []int64{1, 1}, pads: []int64{0, 2, 1, 0}, dil: []int64{2, 1}, perChannel: true},
		{xdt: ir.Int8, wdt: ir.Int8, n: 1, c: 12, h: 6, w: 43, m: 24, k: 5, group: 1, strides: []int64{1, 1}, pads: []int64{2, 2, 2, 2}, dil: []int64{1, 1}, perChannel: true},
		// Row windows at horizontal stride 2, from the planes of a 1-, 2- or 3-channel image (pixels of kh·C bytes,
		// so K and the windows' stride are no multiple of 4: det's 3→16 stem, built a kernel row at a time;
		// ResNet's 7×7 stem, transposed from its 21 plane rows) and from an 8-channel NHWC image.
		{xdt: ir.Int8, wdt: ir.Int8, n: 2, c: 3, h: 20, w: 80, m: 16, k: 3, group: 1, strides: []int64{2, 2}, pads: []int64{1, 1, 1, 1}, dil: []int64{1, 1}, perChannel: true},
		{xdt: ir.Uint8, wdt: ir.Int8, n: 1, c: 3, h: 21, w: 64, m: 12, k: 7, group: 1, strides: []int64{2, 2}, pads: []int64{3, 3, 3, 3}, dil: []int64{1, 1}},
		{xdt: ir.Uint8, wdt: ir.Uint8, n: 1, c: 1, h: 9, w: 47, m: 5, k: 5, group: 1, strides: []int64{1, 2}, pads: []int64{2, 2, 2, 2}, dil: []int64{2, 1}, perChannel: true},
		{xdt: ir.Int8, wdt: ir.Int8, n: 1, c: 8, h: 7, w: 31, m: 33, k: 3, group: 1, strides: []int64{2, 2}, pads: []int64{1, 1, 1, 1}, dil: []int64{1, 1}},
		{xdt: ir.Int8, wdt: ir.Int8, n: 1, c: 2, h: 6, w: 40, m: 7, k: 3, group: 1, strides: []int64{1, 1}, pads: []int64{0, 1, 2, 1}, dil: []int64{1, 1}},
		// im2col rows of short runs (kw·C ≤ 32 bytes, moved as 32-byte blocks that spill into the next run):
		// ResNet's 7×7 stride-2 stem over 3 channels, an 8-channel 3×3 and a 4-channel 5×5 at stride 2.
		{xdt: ir.Uint8, wdt: ir.Int8, n: 2, c: 3, h: 30, w: 27, m: 16, k: 7, group: 1, strides: []int64{2, 2}, pads: []int64{3, 3, 3, 3}, dil: []int64{1, 1}, perChannel: true},
		{xdt: ir.Int8, wdt: ir.Int8, n: 1, c: 8, h: 12, w: 13, m: 9, k: 3, group: 1, strides: []int64{2, 2}, pads: []int64{1, 0, 1, 2}, dil: []int64{1, 1}},
		{xdt: ir.Int8, wdt: ir.Int8, n: 1, c: 4, h: 11, w: 15, m: 33, k: 5, group: 1, strides: []int64{2, 2}, pads: []int64{2, 2, 2, 2}, dil: []int64{1, 1}, perChannel: true},
		// Depthwise layers as PP-OCR's det has them (int8, 3×3 and 5×5, stride 1 and 2, rows wider than a vector),
		// which QLinearConv runs on the float32 depthwise kernel: the sums must still be the exact integers.
		{xdt: ir.Int8, wdt: ir.Int8, n: 2, c: 24, h: 19, w: 37, m: 24, k: 5, group: 24, strides: []int64{2, 2}, pads: []int64{2, 2, 2, 2}, dil: []int64{1, 1}, perChannel: true},
		{xdt: ir.Int8, wdt: ir.Int8, n: 1, c: 16, h: 33, w: 40, m: 16, k: 3, group: 16, strides: []int64{1, 1}, pads: []int64{1, 1, 1, 1}, dil: []int64{1, 1}},
		{xdt: ir.Uint8, wdt: ir.Int8, n: 1, c: 5, h: 21, w: 18, m: 5, k: 3, group: 5, strides: []int64{2, 1}, pads: []int64{0, 2, 1, 0}, dil: []int64{2, 1}, perChannel: true},
		// 1×1 stride 1 with symmetric weights, on the NCHW planes (kernels.QPointwise): channels around its
		// 4-channel groups and 8-channel blocks, pixel counts around its 32-pixel panels, two images, uint8
		// weights centred at 128, and a 1-D convolution.
		{xdt: ir.Int8, wdt: ir.Int8, n: 2, c: 16, h: 9, w: 11, m: 32, k: 1, group: 1, strides: []int64{1, 1}, pads: []int64{0, 0, 0, 0}, dil: []int64{1, 1}, perChannel: true, symW: true},
		{xdt: ir.Uint8, wdt: ir.Int8, n: 1, c: 7, h: 8, w: 8, m: 13, k: 1, group: 1, strides: []int64{1, 1}, pads: []int64{0, 0, 0, 0}, dil: []int64{1, 1}, symW: true},
		{xdt: ir.Int8, wdt: ir.Uint8, n: 1, c: 130, h: 5, w: 13, m: 9, k: 1, group: 1, strides: []int64{1, 1}, pads: []int64{0, 0, 0, 0}, dil: []int64{1, 1}, perChannel: true, symW: true},
		{xdt: ir.Uint8, wdt: ir.Int8, n: 2, c: 3, w: 33, m: 40, k: 1, group: 1, strides: []int64{1}, pads: []int64{0, 0}, dil: []int64{1}, oneD: true, symW: true},
		// Symmetric weights over a multiple of 4 channels, at least 32 outputs wide, horizontal stride 1: packed
		// rows (kernels.QConvRows), with vertical stride 2, dilation, asymmetric padding, uint8 weights centred at
		// 128 and two images; taken where a 32-pixel panel of an output row wastes less than 32 output channels do.
		{xdt: ir.Int8, wdt: ir.Int8, n: 2, c: 8, h: 9, w: 40, m: 12, k: 3, group: 1, strides: []int64{1, 1}, pads: []int64{1, 1, 1, 1}, dil: []int64{1, 1}, perChannel: true, symW: true},
		{xdt: ir.Uint8, wdt: ir.Int8, n: 1, c: 16, h: 7, w: 40, m: 12, k: 3, group: 1, strides: []int64{2, 1}, pads: []int64{0, 1, 2, 1}, dil: []int64{1, 2}, symW: true},
		{xdt: ir.Int8, wdt: ir.Uint8, n: 1, c: 4, h: 5, w: 64, m: 9, k: 5, group: 1, strides: []int64{1, 1}, pads: []int64{2, 2, 2, 2}, dil: []int64{1, 1}, perChannel: true, symW: true},
		// Strided 1×1 with symmetric weights (ResNet's shortcuts), which stay on the GEMM path: subsampling for
		// QPointwise measured no faster on ResNet-18's 28×28 to 7×7 maps.
		{xdt: ir.Int8, wdt: ir.Int8, n: 2, c: 16, h: 13, w: 14, m: 24, k: 1, group: 1, strides: []int64{2, 2}, pads: []int64{0, 0, 0, 0}, dil: []int64{1, 1}, perChannel: true, symW: true},
		{xdt: ir.Uint8, wdt: ir.Int8, n: 1, c: 8, h: 7, w: 9, m: 9, k: 1, group: 1, strides: []int64{3, 1}, pads: []int64{0, 0, 0, 0}, dil: []int64{1, 1}, symW: true},
		{xdt: ir.Int8, wdt: ir.Int8, n: 1, c: 4, w: 67, m: 5, k: 1, group: 1, strides: []int64{2}, pads: []int64{0, 0}, dil: []int64{1}, oneD: true, symW: true},
		// Depthwise with symmetric weights, straight from the 8-bit planes (kernels.QDepthwise): 3×3 and 5×5,
		// strides 1 and 2, asymmetric padding, rows around its 16-pixel vectors, uint8 weights centred at 128,
		// a 1-D layer; dilation 2 stays on the float32 route.
		{xdt: ir.Int8, wdt: ir.Int8, n: 2, c: 16, h: 19, w: 33, m: 16, k: 3, group: 16, strides: []int64{1, 1}, pads: []int64{1, 1, 1, 1}, dil: []int64{1, 1}, perChannel: true, symW: true},
		{xdt: ir.Int8, wdt: ir.Uint8, n: 1, c: 24, h: 21, w: 40, m: 24, k: 5, group: 24, strides: []int64{2, 2}, pads: []int64{2, 1, 2, 3}, dil: []int64{1, 1}, perChannel: true, symW: true},
		{xdt: ir.Uint8, wdt: ir.Int8, n: 1, c: 6, h: 7, w: 15, m: 6, k: 3, group: 6, strides: []int64{2, 1}, pads: []int64{0, 2, 1, 0}, dil: []int64{1, 1}, symW: true},
		{xdt: ir.Int8, wdt: ir.Int8, n: 1, c: 8, w: 50, m: 8, k: 3, group: 8, strides: []int64{2}, pads: []int64{1, 1}, dil: []int64{1}, oneD: true, symW: true},
		{xdt: ir.Int8, wdt: ir.Int8, n: 1, c: 8, h: 12, w: 20, m: 8, k: 3, group: 8, strides: []int64{1, 1}, pads: []int64{2, 2, 2, 2}, dil: []int64{2, 2}, symW: true},
		// Stems (1–3 channels) with symmetric weights, gathered from padded planes (kernels.QConvGather): det's
		// 3→16 3×3 stride 2, ResNet's 7×7 stride 2, dilation, stride 4, asymmetric padding, two images.
		{xdt: ir.Int8, wdt: ir.Int8, n: 2, c: 3, h: 21, w: 70, m: 16, k: 3, group: 1, strides: []int64{2, 2}, pads: []int64{1, 1, 1, 1}, dil: []int64{1, 1}, perChannel: true, symW: true},
		{xdt: ir.Uint8, wdt: ir.Int8, n: 1, c: 3, h: 30, w: 27, m: 20, k: 7, group: 1, strides: []int64{2, 2}, pads: []int64{3, 3, 3, 3}, dil: []int64{1, 1}, symW: true},
		{xdt: ir.Int8, wdt: ir.Uint8, n: 1, c: 1, h: 11, w: 40, m: 5, k: 5, group: 1, strides: []int64{1, 2}, pads: []int64{2, 0, 1, 3}, dil: []int64{2, 1}, perChannel: true, symW: true},
		{xdt: ir.Uint8, wdt: ir.Int8, n: 1, c: 2, h: 9, w: 50, m: 9, k: 3, group: 1, strides: []int64{3, 4}, pads: []int64{1, 1, 1, 1}, dil: []int64{1, 1}, symW: true},
	}
	for i, c := range cases {
		t.Run(fmt.Sprintf("%d-%s-%s", i, c.xdt, c.wdt), func(t *testing.T) {
			xs, ws := []int{c.n, c.c, c.h, c.w}, []int{c.m, c.c / int(c.group), c.k, c.k}
			if c.oneD {
				xs, ws = []int{c.n, c.c, c.w}, []int{c.m, c.c / int(c.group), c.k}
			}
			x, w := qRandInt(r, c.xdt, xs...), qRandInt(r, c.wdt, ws...)
			zx := qRandInt(r, c.xdt)
			zw := qRandInt(r, c.wdt)
			if c.perChannel {
				zw = qRandInt(r, c.wdt, c.m)
			}
			if c.symW {
				zw = ir.New(c.wdt, zw.Shape...)
				if c.wdt == ir.Uint8 {
					for i := range zw.U8() {
						zw.U8()[i] = 128
					}
				}
			}
			attrs := []*ir.Attr{nnAInt("group", c.group), nnAInts("strides", c.strides...), nnAInts("pads", c.pads...), nnAInts("dilations", c.dil...)}
			ref, err := nnRun(13, nnNode("Conv", []string{"x", "w"}, []string{"y"}, attrs...), map[string]*ir.Tensor{"w": qCentred(w, zw)},
				map[string]*ir.Tensor{"x": qCentred(x, zx)})
			if err != nil {
				t.Fatal(err)
			}
			want := ref["y"].Float64s()
			for _, constW := range []bool{true, false} {
				consts := map[string]*ir.Tensor{}
				feeds := map[string]*ir.Tensor{"x": x, "zx": zx}
				if constW {
					consts["w"], consts["zw"] = w, zw
				} else {
					feeds["w"], feeds["zw"] = w, zw
				}
				out, err := nnRun(13, nnNode("ConvInteger", []string{"x", "w", "zx", "zw"}, []string{"y"}, attrs...), consts, feeds)
				if err != nil {
					t.Fatal(err)
				}
				if got := out["y"]; got.DType != ir.Int32 || fmt.Sprint(got.Shape) != fmt.Sprint(ref["y"].Shape) || fmt.Sprint(got.Float64s()) != fmt.Sprint(want) {
					t.Fatalf("ConvInteger (const W %v): got %s %v, want %v", constW, got, got.Float64s(), want)
				}
			}
			// QLinearConv with per-channel weight scales and an int32 bias.
			m := c.m
			wsc := make([]float32, m)
			bias := make([]int32, m)
			for j := range wsc {
				wsc[j] = float32(0.001 + r.Float64()*0.01)
				bias[j] = int32(r.IntN(4000) - 2000)
			}
			xsc, ysc := float32(0.02), float32(0.37)
			yz := qRandInt(r, c.xdt)
			wzq := zw
			if zw.Len() > 1 && c.wdt == ir.Uint8 {
				wzq = zw // QLinearConv allows per-channel zero points too
			}
			out, err := nnRun(13, nnNode("QLinearConv", []string{"x", "xs", "zx", "w", "ws", "zw", "ys", "yz", "b"}, []string{"y"}, attrs...),
				map[string]*ir.Tensor{"w": w, "ws": ir.FromFloat32([]int{m}, wsc), "zw": wzq, "b": ir.FromInt32([]int{m}, bias)},
				map[string]*ir.Tensor{"x": x, "xs": ir.Scalar(xsc), "zx": zx, "ys": ir.Scalar(ysc), "yz": yz})
			if err != nil {
				t.Fatal(err)
			}
			got := out["y"].Float64s()
			lo, hi, _ := qRange(c.xdt)
			per := len(want) / (c.n * m)
			for e := range want {
				ch := (e / per) % m
				mult := xsc * wsc[ch] / ysc
				v := math.RoundToEven(float64(float32(int32(want[e])+bias[ch])*mult)) + yz.Float64s()[0]
				v = math.Max(lo, math.Min(hi, v))
				if got[e] != v {
					t.Fatalf("QLinearConv element %d = %g, want %g", e, got[e], v)
				}
			}
		})
	}
}

// TestMatMulIntegerBatched checks batched MatMulInteger (broadcast batch, B not constant, int8×int8 and
// uint8×uint8 with per-column B zero points) against the definition.
func TestMatMulIntegerBatched(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	for _, dts := range [][2]ir.DType{{ir.Int8, ir.Int8}, {ir.Uint8, ir.Uint8}, {ir.Uint8, ir.Int8}} {
		a, b := qRandInt(r, dts[0], 2, 1, 5, 7), qRandInt(r, dts[1], 3, 7, 9)
		za, zb := qRandInt(r, dts[0]), qRandInt(r, dts[1], 9)
		out, err := nnRun(13, nnNode("MatMulInteger", []string{"a", "b", "za", "zb"}, []string{"y"}), nil,
			map[string]*ir.Tensor{"a": a, "b": b, "za": za, "zb": zb})
		if err != nil {
			t.Fatal(err)
		}
		y := out["y"]
		if fmt.Sprint(y.Shape) != "[2 3 5 9]" {
			t.Fatalf("shape %v", y.Shape)
		}
		av, bv, zav, zbv, yv := a.Float64s(), b.Float64s(), za.Float64s()[0], zb.Float64s(), y.I32()
		for i0 := 0; i0 < 2; i0++ {
			for i1 := 0; i1 < 3; i1++ {
				for m := 0; m < 5; m++ {
					for n := 0; n < 9; n++ {
						s := 0.0
						for k := 0; k < 7; k++ {
							s += (av[(i0*5+m)*7+k] - zav) * (bv[(i1*7+k)*9+n] - zbv[n])
						}
						if got := float64(yv[((i0*3+i1)*5+m)*9+n]); got != s {
							t.Fatalf("%v: y[%d,%d,%d,%d] = %g, want %g", dts, i0, i1, m, n, got, s)
						}
					}
				}
			}
		}
	}
}

// TestQuantOpsBadInput: broken inputs give errors wrapping ErrInvalid/ErrUnsupported that name the node.
func TestQuantOpsBadInput(t *testing.T) {
	u8 := func(shape ...int) *ir.Tensor { return ir.New(ir.Uint8, shape...) }
	cases := []struct {
		name  string
		n     *ir.Node
		feeds map[string]*ir.Tensor
	}{
		{"matmul-inner", nnNode("MatMulInteger", []string{"a", "b"}, []string{"y"}), map[string]*ir.Tensor{"a": u8(2, 3), "b": u8(4, 2)}},
		{"matmul-float", nnNode("MatMulInteger", []string{"a", "b"}, []string{"y"}), map[string]*ir.Tensor{"a": ir.New(ir.Float32, 2, 3), "b": u8(3, 2)}},
		{"matmul-zp-type", nnNode("MatMulInteger", []string{"a", "b", "za"}, []string{"y"}), map[string]*ir.Tensor{"a": u8(2, 3), "b": u8(3, 2), "za": ir.New(ir.Int8)}},
		{"conv-channels", nnNode("ConvInteger", []string{"x", "w"}, []string{"y"}), map[string]*ir.Tensor{"x": u8(1, 2, 4, 4), "w": u8(1, 3, 1, 1)}},
		{"conv-3d", nnNode("ConvInteger", []string{"x", "w"}, []string{"y"}), map[string]*ir.Tensor{"x": u8(1, 1, 2, 2, 2), "w": u8(1, 1, 1, 1, 1)}},
		{"qlinearmatmul-scale", nnNode("QLinearMatMul", []string{"a", "as", "az", "b", "bs", "bz", "ys", "yz"}, []string{"y"}),
			map[string]*ir.Tensor{"a": u8(2, 3), "as": ir.FromFloat32([]int{2}, []float32{1, 1}), "az": u8(), "b": u8(3, 2), "bs": ir.Scalar(1), "bz": u8(), "ys": ir.Scalar(1), "yz": u8()}},
		{"quantize-int-input", nnNode("QuantizeLinear", []string{"x", "s"}, []string{"y"}), map[string]*ir.Tensor{"x": u8(2), "s": ir.Scalar(1)}},
		{"dequantize-float-input", nnNode("DequantizeLinear", []string{"x", "s"}, []string{"y"}), map[string]*ir.Tensor{"x": ir.New(ir.Float32, 2), "s": ir.Scalar(1)}},
		{"dynamic-missing", nnNode("DynamicQuantizeLinear", []string{"x"}, []string{"y", "s", "z"}), map[string]*ir.Tensor{"x": ir.New(ir.Float64, 2)}},
		{"lookup-short-table", qHoneNode(ir.OpQLookup, "x", "t"), map[string]*ir.Tensor{"x": u8(4), "t": u8(255)}},
		{"lookup-float-input", qHoneNode(ir.OpQLookup, "x", "t"), map[string]*ir.Tensor{"x": ir.New(ir.Float32, 4), "t": u8(256)}},
		{"convfloat-no-scale", qHoneNode(ir.OpQConvFloat, "x", "w"), map[string]*ir.Tensor{"x": u8(1, 2, 4, 4), "w": ir.New(ir.Int8, 3, 2, 1, 1)}},
		{"convfloat-bias", qHoneNode(ir.OpQConvFloat, "x", "w", "b", "xs", "xz", "ws"),
			map[string]*ir.Tensor{"x": u8(1, 2, 4, 4), "w": ir.New(ir.Int8, 3, 2, 1, 1), "b": ir.New(ir.Float32, 3), "xs": ir.Scalar(1), "xz": u8(), "ws": ir.Scalar(1)}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := nnRun(13, c.n, nil, c.feeds)
			if err == nil {
				t.Fatal("no error")
			}
			if !errors.Is(err, ErrInvalid) && !errors.Is(err, ErrUnsupported) || !strings.Contains(err.Error(), `node "n0"`) {
				t.Fatalf("error %q does not wrap ErrInvalid/ErrUnsupported or name the node", err)
			}
		})
	}
}

// TestMaxPool8VsFloat checks the byte MaxPool (qMaxPool8) against MaxPool on the same values as float32, over
// strides, pads, ceil mode, a window larger than the padding and rows longer than the byte kernel's vector, for int8
// and uint8 (compared signed and unsigned).
func TestMaxPool8VsFloat(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	cfgs := []struct {
		k, s, p []int64
		ceil    int64
		h, w    int
	}{
		{[]int64{3, 3}, []int64{2, 2}, []int64{1, 1, 1, 1}, 0, 9, 7},
		{[]int64{2, 3}, []int64{1, 2}, []int64{0, 1, 1, 2}, 1, 9, 7},
		{[]int64{5, 1}, []int64{3, 1}, []int64{2, 0, 2, 0}, 1, 9, 7},
		// Rows long enough for the vector kernel, with windows cut by the edge on both sides.
		{[]int64{3, 3}, []int64{2, 2}, []int64{1, 1, 1, 1}, 0, 12, 75},
		{[]int64{3, 4}, []int64{1, 3}, []int64{1, 2, 1, 3}, 1, 6, 101},
		// Even widths at stride 2 (ResNet-18's 112 → 56): every row's windows gathered from one pass over Hm, with
		// the first full window at an odd and at an even column.
		{[]int64{3, 3}, []int64{2, 2}, []int64{1, 1, 1, 1}, 0, 14, 112},
		{[]int64{3, 3}, []int64{2, 2}, []int64{0, 0, 1, 1}, 1, 10, 80},
		// A window taller than the image: every output row is cut by an edge.
		{[]int64{5, 3}, []int64{1, 1}, []int64{2, 1, 2, 1}, 0, 3, 40},
	}
	for _, dt := range []ir.DType{ir.Int8, ir.Uint8} {
		for i, c := range cfgs {
			t.Run(fmt.Sprintf("%s/%d", dt, i), func(t *testing.T) {
				x := qRandInt(r, dt, 2, 3, c.h, c.w)
				attrs := []*ir.Attr{nnAInts("kernel_shape", c.k...), nnAInts("strides", c.s...), nnAInts("pads", c.p...), nnAInt("ceil_mode", c.ceil)}
				got, err := nnRun(13, nnNode("MaxPool", []string{"x"}, []string{"y"}, attrs...), nil, map[string]*ir.Tensor{"x": x})
				if err != nil {
					t.Fatal(err)
				}
				xf := ir.FromFloat32(x.Shape, func() []float32 {
					f := make([]float32, x.Len())
					for j, v := range x.Float64s() {
						f[j] = float32(v)
					}
					return f
				}())
				want, err := nnRun(13, nnNode("MaxPool", []string{"x"}, []string{"y"}, attrs...), nil, map[string]*ir.Tensor{"x": xf})
				if err != nil {
					t.Fatal(err)
				}
				if g, w := got["y"], want["y"]; g.DType != dt || fmt.Sprint(g.Shape) != fmt.Sprint(w.Shape) || fmt.Sprint(g.Float64s()) != fmt.Sprint(w.Float64s()) {
					t.Fatalf("got %s %v\nwant %s %v", g, g.Float64s(), w, w.Float64s())
				}
			})
		}
	}
}

// qCompileBoth compiles m twice: op by op with no optimizer (the QDQ simulation, the reference) and optimized
// (the fusions under test), with the given thread counts.
func qCompileBoth(t *testing.T, m *ir.Model, simThreads, fusedThreads int) (sim, fused *Plan) {
	t.Helper()
	sim, err := Compile(m.Clone(), Options{NoOptimize: true, Threads: simThreads})
	if err != nil {
		t.Fatal(err)
	}
	if fused, err = Compile(m.Clone(), Options{Threads: fusedThreads}); err != nil {
		t.Fatal(err)
	}
	return sim, fused
}

// qRunBoth runs the two plans of qCompileBoth on feeds and returns the simulation's outputs and the fused ones.
func qRunBoth(t *testing.T, sim, fused *Plan, feeds map[string]*ir.Tensor) (want, got map[string]*ir.Tensor) {
	t.Helper()
	want, err := sim.Run(feeds)
	if err != nil {
		t.Fatal(err)
	}
	if got, err = fused.Run(feeds); err != nil {
		t.Fatal(err)
	}
	return want, got
}

// qHoneNode is a hone-domain node reading ins, for the bad-input cases.
func qHoneNode(op string, ins ...string) *ir.Node {
	n := nnNode(op, ins, []string{"y"})
	n.Domain = ir.DomainHone
	return n
}
