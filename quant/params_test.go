package quant

import (
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/hone-ml/hone/ir"
)

// golden is quant/testdata/params_golden.json, written by scripts/fixtures/quant_params.py from ONNX Runtime's
// quantization formulas.
type golden struct {
	Cases []struct {
		Name        string    `json:"name"`
		Values      []float32 `json:"values"`
		DType       string    `json:"dtype"`
		Symmetric   bool      `json:"symmetric"`
		ReduceRange bool      `json:"reduce_range"`
		Qmin, Qmax  int32
		Scale       float32 `json:"scale"`
		ZeroPoint   int32   `json:"zero_point"`
		Quantized   []int32 `json:"quantized"`
	} `json:"cases"`
	PerChannel struct {
		Shape    []int     `json:"shape"`
		Axis     int       `json:"axis"`
		Values   []float32 `json:"values"`
		Channels []struct {
			Scale     float32 `json:"scale"`
			ZeroPoint int32   `json:"zero_point"`
			Quantized []int32 `json:"quantized"`
		} `json:"channels"`
	} `json:"per_channel"`
}

func loadGolden(t *testing.T) golden {
	b, err := os.ReadFile("testdata/params_golden.json")
	if err != nil {
		t.Fatal(err)
	}
	var g golden
	if err := json.Unmarshal(b, &g); err != nil {
		t.Fatal(err)
	}
	if len(g.Cases) == 0 {
		t.Fatal("no golden cases")
	}
	return g
}

func TestComputeParamsGolden(t *testing.T) {
	for _, c := range loadGolden(t).Cases {
		t.Run(c.Name, func(t *testing.T) {
			dt, _ := ir.ParseDType(c.DType)
			s := Asymmetric
			if c.Symmetric {
				s = Symmetric
			}
			qmin, qmax, err := Range(dt, s, c.ReduceRange)
			if err != nil {
				t.Fatal(err)
			}
			if qmin != c.Qmin || qmax != c.Qmax {
				t.Fatalf("range [%d,%d], want [%d,%d]", qmin, qmax, c.Qmin, c.Qmax)
			}
			lo, hi := MinMax(c.Values)
			p := ComputeParams(lo, hi, qmin, qmax, s)
			if p.Scale != c.Scale || p.ZeroPoint != c.ZeroPoint {
				t.Fatalf("scale %.9g zp %d, want %.9g %d", p.Scale, p.ZeroPoint, c.Scale, c.ZeroPoint)
			}
			got := make([]int32, len(c.Values))
			for i, v := range c.Values {
				got[i] = Quantize(v, p, qmin, qmax)
			}
			if d := cmp.Diff(c.Quantized, got); d != "" {
				t.Fatalf("quantized (-want +got):\n%s", d)
			}
		})
	}
}

func TestPerChannelGolden(t *testing.T) {
	pc := loadGolden(t).PerChannel
	ps, err := PerChannel(pc.Values, pc.Shape, pc.Axis, -127, 127, Symmetric)
	if err != nil {
		t.Fatal(err)
	}
	inner := pc.Shape[1]
	for ch, want := range pc.Channels {
		if ps[ch].Scale != want.Scale || ps[ch].ZeroPoint != want.ZeroPoint {
			t.Fatalf("channel %d: scale %.9g zp %d, want %.9g %d", ch, ps[ch].Scale, ps[ch].ZeroPoint, want.Scale, want.ZeroPoint)
		}
		for i, v := range pc.Values[ch*inner : (ch+1)*inner] {
			if q := Quantize(v, ps[ch], -127, 127); q != want.Quantized[i] {
				t.Fatalf("channel %d value %d: %d, want %d", ch, i, q, want.Quantized[i])
			}
		}
	}
	if _, err := PerChannel(pc.Values, pc.Shape, 2, -127, 127, Symmetric); err == nil {
		t.Error("axis 2 of a matrix accepted")
	}
	if _, err := PerChannel(pc.Values[:5], pc.Shape, 0, -127, 127, Symmetric); err == nil {
		t.Error("short values accepted")
	}
}

// TestExplainSeed is the seed example: with the right range every round-trip error is at most scale/2
// (the seed's own table clamped to the wrong range and showed errors of 1.35).
func TestExplainSeed(t *testing.T) {
	vals := []float32{0.35, -1.2, 0.8, -0.5, 1.5, 0.05}
	for _, s := range []Scheme{Asymmetric, Symmetric} {
		e, err := Explain(vals, 8, s)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range e.Rows {
			if !r.WithinHalf || r.Clamped {
				t.Errorf("%s: x=%g q=%d error %g > scale/2 = %g", s, r.X, r.Q, r.AbsError, e.Scale/2)
			}
		}
		var b strings.Builder
		if err := e.Write(&b); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(b.String(), "scale/2") || !strings.Contains(b.String(), ": true") {
			t.Errorf("%s: report lacks the error bound:\n%s", s, b.String())
		}
	}
	e, _ := Explain(vals, 8, Asymmetric)
	if e.Scale != float32(2.7/255.0) || e.ZeroPoint != 113 {
		t.Errorf("asymmetric seed: scale %g zp %d, want 2.7/255 and 113", e.Scale, e.ZeroPoint)
	}
	if got := []int32{e.Rows[0].Q, e.Rows[1].Q, e.Rows[4].Q}; got[0] != 146 || got[1] != 0 || got[2] != 255 {
		t.Errorf("q for 0.35, -1.2, 1.5 = %v, want [146 0 255]", got)
	}
	for _, bad := range []struct {
		v    []float32
		bits int
	}{{nil, 8}, {vals, 1}, {vals, 17}} {
		if _, err := Explain(bad.v, bad.bits, Asymmetric); err == nil {
			t.Errorf("Explain(%v, %d) accepted", bad.v, bad.bits)
		}
	}
}
