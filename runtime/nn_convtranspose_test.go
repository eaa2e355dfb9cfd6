package runtime

import (
	"encoding/json"
	"os"
	"testing"

	"github.com/hone-ml/hone/ir"
)

// TestConvTransposeTorch checks ConvTranspose against PyTorch (scripts/fixtures/nn_convtranspose.py): the
// kernel = stride cases take the tiling fast path, the overlapping one the general GEMM + col2im path. Both run
// twice on one plan so the second run sees recycled (dirty) arena buffers.
func TestConvTransposeTorch(t *testing.T) {
	raw, err := os.ReadFile("testdata/nn_convtranspose.json")
	if err != nil {
		t.Fatal(err)
	}
	var cases []struct {
		Name                   string
		Stride, Group          int64
		XShape, WShape, YShape []int `json:"-"`
		X, W, B, Y             []float32
		XS                     []int `json:"x_shape"`
		WS                     []int `json:"w_shape"`
		YS                     []int `json:"y_shape"`
	}
	if err := json.Unmarshal(raw, &cases); err != nil {
		t.Fatal(err)
	}
	for _, tc := range cases {
		t.Run(tc.Name, func(t *testing.T) {
			nsp := len(tc.XS) - 2
			strides := make([]int64, nsp)
			for i := range strides {
				strides[i] = tc.Stride
			}
			in := []string{"x", "w"}
			consts := map[string]*ir.Tensor{"w": ir.FromFloat32(tc.WS, tc.W)}
			if tc.B != nil {
				in = append(in, "b")
				consts["b"] = ir.FromFloat32([]int{len(tc.B)}, tc.B)
			}
			n := nnNode("ConvTranspose", in, []string{"y"}, nnAInts("strides", strides...), nnAInt("group", tc.Group))
			p, err := Compile(nnGraph(17, n, consts), Options{NoOptimize: true, Threads: 2})
			if err != nil {
				t.Fatal(err)
			}
			for run := 0; run < 2; run++ {
				out, err := p.Run(map[string]*ir.Tensor{"x": ir.FromFloat32(tc.XS, tc.X)})
				if err != nil {
					t.Fatal(err)
				}
				y := out["y"]
				if !nnEqualInts(y.Shape, tc.YS) {
					t.Fatalf("shape %v, want %v", y.Shape, tc.YS)
				}
				nnNear(t, "y", y.F32(), tc.Y, 1e-5)
			}
		})
	}
}
