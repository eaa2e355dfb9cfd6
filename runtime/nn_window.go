package runtime

import (
	"github.com/hone-ml/hone/ir"
)

// nnWindow holds the sliding-window attributes shared by Conv, ConvTranspose and the pooling ops, for nsp
// spatial dimensions. Kernel may be empty when it comes from the weights (Conv).
type nnWindow struct {
	Kernel, Strides, Dilations []int
	Pads                       []int // begin pads then end pads, ONNX order; ignored when AutoPad is SAME_*
	AutoPad                    string
	CeilMode                   bool
}

// nnParseWindow reads kernel_shape, strides, dilations, pads, auto_pad and ceil_mode. nsp < 0 means the spatial
// rank is not known yet (it is then taken from the attributes and checked at run time).
func nnParseWindow(n *ir.Node) (nnWindow, error) {
	w := nnWindow{
		Kernel:    nnInts(n.AttrInts("kernel_shape", nil)),
		Strides:   nnInts(n.AttrInts("strides", nil)),
		Dilations: nnInts(n.AttrInts("dilations", nil)),
		Pads:      nnInts(n.AttrInts("pads", nil)),
		AutoPad:   n.AttrString("auto_pad", "NOTSET"),
		CeilMode:  n.AttrInt("ceil_mode", 0) != 0,
	}
	switch w.AutoPad {
	case "NOTSET", "SAME_UPPER", "SAME_LOWER", "VALID":
	case "":
		w.AutoPad = "NOTSET"
	default:
		return w, Unsupportedf("auto_pad %q", w.AutoPad)
	}
	for _, v := range w.Kernel {
		if v <= 0 {
			return w, Invalidf("kernel_shape %v has a non-positive entry", w.Kernel)
		}
	}
	for _, v := range w.Strides {
		if v <= 0 {
			return w, Invalidf("strides %v has a non-positive entry", w.Strides)
		}
	}
	for _, v := range w.Dilations {
		if v <= 0 {
			return w, Invalidf("dilations %v has a non-positive entry", w.Dilations)
		}
	}
	for _, v := range w.Pads {
		if v < 0 {
			return w, Unsupportedf("negative pads %v", w.Pads)
		}
	}
	return w, nil
}

func nnInts(v []int64) []int {
	if v == nil {
		return nil
	}
	out := make([]int, len(v))
	for i, x := range v {
		out[i] = int(x)
	}
	return out
}

// nnGeom is a window resolved against concrete input spatial sizes.
type nnGeom struct {
	In, Out, K, S, D, PadB, PadE []int
}

// resolve computes the output spatial sizes and the effective pads for input spatial sizes in and kernel k.
// ceil mode applies to pooling only (Conv passes a window whose CeilMode is false).
func (w nnWindow) resolve(in, k []int) (nnGeom, error) {
	nsp := len(in)
	g := nnGeom{In: in, K: k, Out: make([]int, nsp), S: make([]int, nsp), D: make([]int, nsp), PadB: make([]int, nsp), PadE: make([]int, nsp)}
	if len(k) != nsp {
		return g, Invalidf("kernel has %d spatial dims, input has %d", len(k), nsp)
	}
	if w.Strides != nil && len(w.Strides) != nsp {
		return g, Invalidf("strides %v do not match %d spatial dims", w.Strides, nsp)
	}
	if w.Dilations != nil && len(w.Dilations) != nsp {
		return g, Invalidf("dilations %v do not match %d spatial dims", w.Dilations, nsp)
	}
	if w.AutoPad == "NOTSET" && w.Pads != nil && len(w.Pads) != 2*nsp {
		return g, Invalidf("pads %v do not match %d spatial dims", w.Pads, nsp)
	}
	for i := 0; i < nsp; i++ {
		g.S[i], g.D[i] = 1, 1
		if w.Strides != nil {
			g.S[i] = w.Strides[i]
		}
		if w.Dilations != nil {
			g.D[i] = w.Dilations[i]
		}
		ext := (k[i]-1)*g.D[i] + 1 // the window's extent over the input
		switch w.AutoPad {
		case "SAME_UPPER", "SAME_LOWER":
			g.Out[i] = (in[i] + g.S[i] - 1) / g.S[i]
			total := max(0, (g.Out[i]-1)*g.S[i]+ext-in[i])
			if w.AutoPad == "SAME_UPPER" {
				g.PadB[i] = total / 2
			} else {
				g.PadB[i] = total - total/2
			}
			g.PadE[i] = total - g.PadB[i]
		case "VALID":
			if in[i] < ext {
				return g, Invalidf("input spatial size %v is smaller than the window %v", in, k)
			}
			if w.CeilMode {
				g.Out[i] = (in[i]-ext+g.S[i]-1)/g.S[i] + 1
			} else {
				g.Out[i] = (in[i]-ext)/g.S[i] + 1
			}
		default:
			if w.Pads != nil {
				g.PadB[i], g.PadE[i] = w.Pads[i], w.Pads[i+nsp]
			}
			span := in[i] + g.PadB[i] + g.PadE[i] - ext
			if span < 0 {
				return g, Invalidf("padded input spatial size %v is smaller than the window %v", in, k)
			}
			if w.CeilMode {
				g.Out[i] = (span+g.S[i]-1)/g.S[i] + 1
				// The last window must start inside the input or its begin padding (PyTorch and ORT agree).
				if (g.Out[i]-1)*g.S[i] >= in[i]+g.PadB[i] {
					g.Out[i]--
				}
			} else {
				g.Out[i] = span/g.S[i] + 1
			}
		}
		if g.Out[i] <= 0 {
			return g, Invalidf("output spatial size %v is empty", g.Out)
		}
	}
	return g, nil
}

// nnTo3 pads a 1-, 2- or 3-element spatial vector to 3 elements with fill in front, so one 3-D loop serves
// 1-D, 2-D and 3-D windows.
func nnTo3(v []int, fill int) [3]int {
	var out [3]int
	off := 3 - len(v)
	for i := range out {
		if i < off {
			out[i] = fill
		} else {
			out[i] = v[i-off]
		}
	}
	return out
}
