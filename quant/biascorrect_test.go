package quant

import (
	"math"
	"testing"

	"github.com/hone-ml/hone/internal/irtest"
	"github.com/hone-ml/hone/ir"
)

// TestBiasCorrect quantizes Conv → HardSigmoid → Conv with the Percentile calibrator over inputs with a long positive
// tail, so clipping shifts the layers' output means, and checks that bias correction brings the int8 model's
// per-channel output means (over the calibration data it corrects on) at least 2× closer to the float model's.
func TestBiasCorrect(t *testing.T) {
	b := irtest.New("bc")
	x := b.Input("x", ir.Float32, 1, 4, 8, 8)
	y := b.Op("Conv", []string{x, b.Init("w1", irtest.Rand(1, 8, 4, 3, 3)), b.Init("b1", irtest.Rand(2, 8))},
		irtest.Ints("pads", 1, 1, 1, 1))
	y = b.Op("HardSigmoid", []string{y})
	y = b.Op("Conv", []string{y, b.Init("w2", irtest.Rand(3, 4, 8, 1, 1)), b.Init("b2", irtest.Rand(4, 4))})
	b.Output(y)
	m := b.Model(13)

	data := irtest.Rand(5, 24, 4, 8, 8)
	for i, v := range data.F32() {
		data.F32()[i] = 4 * v * v * v // a heavy tail, which the 99th percentile clips
	}
	calib := BatchSamples{"x": data}
	shift := func(bc bool) float64 {
		q, rep, err := Static(m, calib, StaticConfig{Calibrator: CalPercentile, Percentile: 99, BiasCorrect: bc})
		if err != nil {
			t.Fatal(err)
		}
		diff := make([]float64, 4)
		for i := 0; i < calib.Len(); i++ {
			in, _ := calib.Sample(i)
			yf := runHone(t, m, in)[m.Graph.Outputs[0].Name].F32()
			yq := runHone(t, q, in)[q.Graph.Outputs[0].Name].F32()
			for j := range yf {
				diff[j/64] += float64(yq[j] - yf[j])
			}
		}
		var s float64
		for _, d := range diff {
			s += math.Abs(d) / float64(64*calib.Len())
		}
		t.Logf("bias correction %v: mean |E[y_q] − E[y]| per channel %.5f (%v)", bc, s/4, rep.Notes)
		return s / 4
	}
	before, after := shift(false), shift(true)
	if !(after < before/2) {
		t.Errorf("bias correction moved the output-mean error from %.5f to %.5f, want under half", before, after)
	}
}

// TestStaticMNISTCorrected quantizes the MNIST CNN with cross-layer equalization and bias correction on (MinMax and
// Percentile, 200 calibration digits) and checks the top-1 drop on the 2000 held-out digits stays within 0.3 points.
func TestStaticMNISTCorrected(t *testing.T) {
	m, x, y := mnist(t)
	fp := top1(runHone(t, m, map[string]*ir.Tensor{"input": x})["logits"], y)
	calib := BatchSamples{"input": rows(x, 200)}
	for _, cal := range []Calibrator{CalMinMax, CalPercentile} {
		t.Run(string(cal), func(t *testing.T) {
			q, rep, err := Static(m, calib, StaticConfig{Calibrator: cal, Equalize: true, BiasCorrect: true})
			if err != nil {
				t.Fatal(err)
			}
			acc := top1(runHone(t, q, map[string]*ir.Tensor{"input": x})["logits"], y)
			t.Logf("MNIST static int8 (%s, equalized, bias-corrected): top-1 %.2f%% vs fp32 %.2f%% (drop %.2f points); %v",
				cal, 100*acc, 100*fp, 100*(fp-acc), rep.Notes)
			if fp-acc > 0.003 {
				t.Errorf("accuracy drop %.2f points > 0.3", 100*(fp-acc))
			}
		})
	}
}
