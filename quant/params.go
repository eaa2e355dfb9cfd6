// Package quant holds hone's post-training quantization: the scale/zero-point math shared by every mode (this
// file), the worked-example explainer, and the graph passes that emit quantized ONNX. The formulas follow ONNX
// Runtime's quantization tool (onnxruntime/python/tools/quantization/quant_utils.py) so hone's models and ORT's
// agree bit for bit.
package quant

import (
	"fmt"
	"math"

	"github.com/hone-ml/hone/ir"
)

// Scheme selects how a float range maps to integers.
type Scheme int

const (
	// Asymmetric maps [rmin, rmax] (widened to include 0) onto the full integer range with a zero point.
	Asymmetric Scheme = iota
	// Symmetric maps [−absmax, absmax] with the zero point at the middle of the range (0 for int8).
	Symmetric
)

func (s Scheme) String() string {
	if s == Symmetric {
		return "symmetric"
	}
	return "asymmetric"
}

// ParseScheme parses "asymmetric" or "symmetric".
func ParseScheme(s string) (Scheme, error) {
	switch s {
	case "asymmetric", "asym":
		return Asymmetric, nil
	case "symmetric", "sym":
		return Symmetric, nil
	}
	return 0, fmt.Errorf("quant: unknown scheme %q (want asymmetric or symmetric)", s)
}

// Range returns the integer range [qmin, qmax] for an 8-bit type as ORT's get_qmin_qmax_for_qType does: uint8
// [0,255] (reduce-range [0,127]); int8 [−128,127], symmetric [−127,127] (so −x is representable), reduce-range
// [−64,64].
func Range(dt ir.DType, s Scheme, reduceRange bool) (qmin, qmax int32, err error) {
	switch dt {
	case ir.Uint8:
		if reduceRange {
			return 0, 127, nil
		}
		return 0, 255, nil
	case ir.Int8:
		switch {
		case reduceRange:
			return -64, 64, nil
		case s == Symmetric:
			return -127, 127, nil
		}
		return -128, 127, nil
	}
	return 0, 0, fmt.Errorf("quant: no 8-bit range for %s", dt)
}

// Params is one scale and zero point.
type Params struct {
	Scale     float32
	ZeroPoint int32
}

// ComputeParams returns the scale and zero point that map [rmin, rmax] onto [qmin, qmax], as ORT's
// compute_scale_zp: the range always includes 0; symmetric widens it to ±max(|rmin|, |rmax|); the scale is
// computed in float64 and stored as float32; the zero point is round(qmin − rmin/scale) (ties to even), or
// round((qmin+qmax)/2) when symmetric; a scale below the smallest normal float32 (an all-zero tensor) becomes 1
// with zero point 0.
func ComputeParams(rmin, rmax float32, qmin, qmax int32, s Scheme) Params {
	rmin, rmax = min(rmin, 0), max(rmax, 0)
	if s == Symmetric {
		m := max(float32(math.Abs(float64(rmin))), float32(math.Abs(float64(rmax))))
		rmin, rmax = -m, m
	}
	scale := (float64(rmax) - float64(rmin)) / (float64(qmax) - float64(qmin))
	if scale < float64(math.Float32frombits(0x00800000)) || math.IsNaN(scale) { // numpy finfo(float32).tiny
		return Params{Scale: 1, ZeroPoint: 0}
	}
	var zp float64
	if s == Symmetric {
		zp = math.RoundToEven(float64(qmin+qmax) / 2)
	} else {
		zp = math.RoundToEven(float64(qmin) - float64(rmin)/scale)
	}
	return Params{Scale: float32(scale), ZeroPoint: int32(zp)}
}

// Quantize maps x to clamp(roundHalfEven(x/scale) + zp, qmin, qmax), dividing in float32 as ORT's
// quantize_nparray does.
func Quantize(x float32, p Params, qmin, qmax int32) int32 {
	q := math.RoundToEven(float64(x/p.Scale)) + float64(p.ZeroPoint)
	if math.IsNaN(q) {
		return max(qmin, min(qmax, p.ZeroPoint))
	}
	return int32(max(float64(qmin), min(float64(qmax), q)))
}

// Dequantize maps q back to (q − zp)·scale.
func Dequantize(q int32, p Params) float32 { return float32(q-p.ZeroPoint) * p.Scale }

// MinMax returns the smallest and largest of x (0, 0 for an empty slice); NaNs are ignored.
func MinMax(x []float32) (lo, hi float32) {
	first := true
	for _, v := range x {
		if v != v {
			continue
		}
		if first {
			lo, hi, first = v, v, false
			continue
		}
		lo, hi = min(lo, v), max(hi, v)
	}
	return lo, hi
}

// PerChannel computes one Params per slice of x along axis (x has the given shape), as ORT does for per-channel
// weights: each channel's own [min, max].
func PerChannel(x []float32, shape []int, axis int, qmin, qmax int32, s Scheme) ([]Params, error) {
	if axis < 0 {
		axis += len(shape)
	}
	if axis < 0 || axis >= len(shape) {
		return nil, fmt.Errorf("quant: axis %d out of range for shape %v", axis, shape)
	}
	if ir.NumElements(shape) != len(x) {
		return nil, fmt.Errorf("quant: %d values do not fill shape %v", len(x), shape)
	}
	outer, inner := ir.NumElements(shape[:axis]), ir.NumElements(shape[axis+1:])
	c := shape[axis]
	out := make([]Params, c)
	buf := make([]float32, 0, outer*inner)
	for ch := 0; ch < c; ch++ {
		buf = buf[:0]
		for o := 0; o < outer; o++ {
			buf = append(buf, x[(o*c+ch)*inner:(o*c+ch+1)*inner]...)
		}
		lo, hi := MinMax(buf)
		out[ch] = ComputeParams(lo, hi, qmin, qmax, s)
	}
	return out, nil
}
