package quant

import (
	"testing"

	"github.com/hone-ml/hone/internal/irtest"
	"github.com/hone-ml/hone/ir"
	"github.com/hone-ml/hone/runtime"
)

// TestStaticFusedMatchesSimulation checks that the runtime's QDQ fusions (opt's fuse_qdq_* passes) turn hone's
// static output into integer ops and that the integer execution computes what the QDQ graph means: the same
// model run by simulation (every DequantizeLinear → float op → QuantizeLinear, optimizations off) is the
// reference. Top-1 must agree on ≥ 99.5 % of the 2000 held-out digits; the logits differ only where a requantized
// activation rounds one step differently (float accumulation order), so the SQNR stays high.
func TestStaticFusedMatchesSimulation(t *testing.T) {
	m, x, _ := mnist(t)
	q, _, err := Static(m, BatchSamples{"input": rows(x, 200)}, StaticConfig{})
	if err != nil {
		t.Fatal(err)
	}
	p, err := runtime.Compile(q, runtime.Options{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	ops := irtest.OpCount(p.Graph)
	t.Logf("compiled graph: %v", ops)
	if ops["QLinearConv"] != 2 || ops["QGemm"] != 2 || ops["Conv"] != 0 || ops["Relu"] != 0 || ops["Gemm"] != 0 {
		t.Errorf("compiled op counts %v, want 2 QLinearConv and 2 QGemm (the last with a float output)", ops)
	}
	sim, err := runtime.Compile(q, runtime.Options{Threads: 1, NoOptimize: true})
	if err != nil {
		t.Fatal(err)
	}
	ref, err := sim.Run(map[string]*ir.Tensor{"input": x})
	if err != nil {
		t.Fatal(err)
	}
	got, err := p.Run(map[string]*ir.Tensor{"input": x})
	if err != nil {
		t.Fatal(err)
	}
	a := compare(ref["logits"], got["logits"])
	t.Logf("integer vs simulated QDQ: top-1 agreement %.2f%%, SQNR %.1f dB, max |Δ| %.4f", 100*a.Top1, a.SQNR, a.MaxAbs)
	if a.Top1 < 0.995 || a.SQNR < 40 {
		t.Errorf("top-1 agreement %.4f < 0.995 or SQNR %.1f dB < 40", a.Top1, a.SQNR)
	}
}
