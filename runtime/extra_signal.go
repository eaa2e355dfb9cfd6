package runtime

import (
	"math"
	"math/bits"

	"github.com/hone-ml/hone/ir"
)

// Signal-processing ops of opset 17 (DFT's axis became an input in opset 20): HannWindow, HammingWindow,
// BlackmanWindow, DFT, STFT and MelWeightMatrix. All compute in float64.

// xWindowKind selects a generalized cosine window w[n] = a0 - a1·cos(2πn/N) + a2·cos(4πn/N).
type xWindowKind int

const (
	xHann xWindowKind = iota
	xHamming
	xBlackman
)

// xOutDType reads the output_datatype attribute (an ONNX TensorProto type number, default float).
func xOutDType(n *ir.Node) (ir.DType, error) {
	dt := ir.DType(n.AttrInt("output_datatype", int64(ir.Float32)))
	if !dt.Valid() || !(dt.IsFloat() || dt.IsInt()) {
		return 0, Unsupportedf("output_datatype %d", int64(dt))
	}
	return dt, nil
}

func xBuildWindow(kind xWindowKind) Builder {
	return func(b *BuildCtx) (Kernel, error) {
		dt, err := xOutDType(b.Node)
		if err != nil {
			return nil, err
		}
		periodic := b.Node.AttrInt("periodic", 1) != 0
		var a0, a1, a2 float64
		switch kind {
		case xHann:
			a0, a1 = 0.5, 0.5
		case xHamming:
			// The ONNX spec's coefficients are 25/46 and 21/46 (the "optimal" Hamming values).
			a0, a1 = 25.0/46, 21.0/46
		case xBlackman:
			a0, a1, a2 = 0.42, 0.5, 0.08
		}
		return KernelFunc(func(ctx *Ctx, in []*ir.Tensor) ([]*ir.Tensor, error) {
			if err := tNeed(in, 1); err != nil {
				return nil, err
			}
			size, err := tScalarInt(in[0], "size")
			if err != nil {
				return nil, err
			}
			if size < 0 {
				return nil, Invalidf("size %d is negative", size)
			}
			N := float64(size)
			if !periodic {
				N--
			}
			v := make([]float64, size)
			for i := range v {
				x := 2 * math.Pi * float64(i) / N
				v[i] = a0 - a1*math.Cos(x) + a2*math.Cos(2*x)
			}
			if size == 1 {
				v[0] = 1 // a one-point window is 1 (the formula divides 0 by 0 when symmetric)
			}
			return tOut(xFromF64(ctx, dt, v, []int{int(size)}))
		}), nil
	}
}

// xDFT transforms n complex points from (re, im) in place direction sign (-1 forward, +1 inverse, unscaled).
// Powers of two use the iterative radix-2 Cooley–Tukey FFT; other lengths the direct O(n²) sum.
type xDFT struct {
	n      int
	cos    []float64 // cos(2πk/n), k < n
	sin    []float64
	tr, ti []float64 // scratch for the direct sum
}

func xNewDFT(n int) *xDFT {
	d := &xDFT{n: n, cos: make([]float64, n), sin: make([]float64, n), tr: make([]float64, n), ti: make([]float64, n)}
	for k := range n {
		s, c := math.Sincos(2 * math.Pi * float64(k) / float64(n))
		d.cos[k], d.sin[k] = c, s
	}
	return d
}

func (d *xDFT) transform(re, im []float64, inverse bool) {
	n := d.n
	sign := -1.0
	if inverse {
		sign = 1
	}
	if n <= 1 {
		return
	}
	if n&(n-1) != 0 {
		for k := range n {
			var sr, si float64
			for j := range n {
				idx := (j * k) % n
				c, s := d.cos[idx], sign*d.sin[idx]
				sr += re[j]*c - im[j]*s
				si += re[j]*s + im[j]*c
			}
			d.tr[k], d.ti[k] = sr, si
		}
		copy(re, d.tr)
		copy(im, d.ti)
		return
	}
	shift := 64 - bits.TrailingZeros(uint(n))
	for i := range n {
		j := int(bits.Reverse64(uint64(i)) >> shift)
		if j > i {
			re[i], re[j] = re[j], re[i]
			im[i], im[j] = im[j], im[i]
		}
	}
	for size := 2; size <= n; size <<= 1 {
		half, step := size/2, n/size
		for start := 0; start < n; start += size {
			for k := range half {
				c, s := d.cos[k*step], sign*d.sin[k*step]
				a, b := start+k, start+k+half
				xr := re[b]*c - im[b]*s
				xi := re[b]*s + im[b]*c
				re[b], im[b] = re[a]-xr, im[a]-xi
				re[a], im[a] = re[a]+xr, im[a]+xi
			}
		}
	}
}

// xBuildDFT compiles DFT. The signal's last dimension is 1 (real) or 2 (complex); the output is complex.
func xBuildDFT(b *BuildCtx) (Kernel, error) {
	n := b.Node
	inverse := n.AttrInt("inverse", 0) != 0
	onesided := n.AttrInt("onesided", 0) != 0
	if inverse && onesided {
		return nil, Unsupportedf("onesided inverse DFT")
	}
	return KernelFunc(func(ctx *Ctx, in []*ir.Tensor) ([]*ir.Tensor, error) {
		xt, x, err := xFloatIn(in, 0, "input")
		if err != nil {
			return nil, err
		}
		r := xt.Rank()
		if r < 2 || (xt.Shape[r-1] != 1 && xt.Shape[r-1] != 2) {
			return nil, Invalidf("input has shape %v; want [..., 1 or 2]", xt.Shape)
		}
		axis := int64(1)
		if b.Opset >= 20 {
			axis = -2
			if t := nnInput(in, 2); t != nil {
				if axis, err = tScalarInt(t, "axis"); err != nil {
					return nil, err
				}
			}
		} else {
			axis = n.AttrInt("axis", 1)
		}
		ax, err := tAxis(axis, r)
		if err != nil {
			return nil, err
		}
		if ax == r-1 {
			return nil, Invalidf("axis %d is the complex dimension", axis)
		}
		L := xt.Shape[ax]
		length := L
		if t := nnInput(in, 1); t != nil && t.Len() > 0 {
			v, err := tScalarInt(t, "dft_length")
			if err != nil {
				return nil, err
			}
			if v <= 0 {
				return nil, Invalidf("dft_length %d must be positive", v)
			}
			length = int(v)
		}
		outLen := length
		if onesided {
			outLen = length/2 + 1
		}
		comp := xt.Shape[r-1]
		outer, inner := tProd(xt.Shape[:ax]), tProd(xt.Shape[ax+1:r-1])
		shape := append([]int(nil), xt.Shape...)
		shape[ax], shape[r-1] = outLen, 2
		out := make([]float64, outer*outLen*inner*2)
		d := xNewDFT(length)
		re, im := make([]float64, length), make([]float64, length)
		for o := range outer {
			for i := range inner {
				clear(re)
				clear(im)
				for k := range min(L, length) {
					p := ((o*L+k)*inner + i) * comp
					re[k] = x[p]
					if comp == 2 {
						im[k] = x[p+1]
					}
				}
				d.transform(re, im, inverse)
				for k := range outLen {
					p := ((o*outLen+k)*inner + i) * 2
					out[p], out[p+1] = re[k], im[k]
					if inverse {
						out[p] /= float64(length)
						out[p+1] /= float64(length)
					}
				}
			}
		}
		return []*ir.Tensor{xFloatOut(ctx, xt.DType, out, shape...)}, nil
	}), nil
}

// xBuildSTFT compiles STFT: frames of frame_length samples every frame_step samples, each multiplied by the
// window and transformed; onesided (the default) keeps the first frame_length/2+1 bins.
func xBuildSTFT(b *BuildCtx) (Kernel, error) {
	onesided := b.Node.AttrInt("onesided", 1) != 0
	return KernelFunc(func(ctx *Ctx, in []*ir.Tensor) ([]*ir.Tensor, error) {
		st, sig, err := xFloatIn(in, 0, "signal")
		if err != nil {
			return nil, err
		}
		if st.Rank() != 3 || (st.Shape[2] != 1 && st.Shape[2] != 2) {
			return nil, Invalidf("signal has shape %v; want [batch, length, 1 or 2]", st.Shape)
		}
		if err := tNeed(in, 2); err != nil {
			return nil, err
		}
		step, err := tScalarInt(in[1], "frame_step")
		if err != nil {
			return nil, err
		}
		if step <= 0 {
			return nil, Invalidf("frame_step %d must be positive", step)
		}
		var window []float64
		if w := nnInput(in, 2); w != nil {
			if _, window, err = xFloatIn(in, 2, "window"); err != nil {
				return nil, err
			}
			if w.Rank() != 1 {
				return nil, Invalidf("window has shape %v; want rank 1", w.Shape)
			}
		}
		flen := int64(len(window))
		if t := nnInput(in, 3); t != nil {
			if flen, err = tScalarInt(t, "frame_length"); err != nil {
				return nil, err
			}
			if window != nil && int64(len(window)) != flen {
				return nil, Invalidf("window has %d points but frame_length is %d", len(window), flen)
			}
		}
		B, L, comp := st.Shape[0], st.Shape[1], st.Shape[2]
		if flen <= 0 || flen > int64(L) {
			return nil, Invalidf("frame length %d outside [1, %d] (give a window or frame_length)", flen, L)
		}
		F := int(flen)
		frames := (L-F)/int(step) + 1
		bins := F
		if onesided {
			bins = F/2 + 1
		}
		out := make([]float64, B*frames*bins*2)
		d := xNewDFT(F)
		re, im := make([]float64, F), make([]float64, F)
		for bi := range B {
			for f := range frames {
				for k := range F {
					p := (bi*L + f*int(step) + k) * comp
					w := 1.0
					if window != nil {
						w = window[k]
					}
					re[k], im[k] = sig[p]*w, 0
					if comp == 2 {
						im[k] = sig[p+1] * w
					}
				}
				d.transform(re, im, false)
				for k := range bins {
					p := ((bi*frames+f)*bins + k) * 2
					out[p], out[p+1] = re[k], im[k]
				}
			}
		}
		return []*ir.Tensor{xFloatOut(ctx, st.DType, out, B, frames, bins, 2)}, nil
	}), nil
}

// xBuildMelWeightMatrix compiles MelWeightMatrix: triangular filters evenly spaced on the mel scale
// (mel = 2595·log10(1 + f/700)), mapped to DFT bins, as the ONNX spec's reference computes them (including its
// step of (high − low)/(num_mel_bins + 2)).
func xBuildMelWeightMatrix(b *BuildCtx) (Kernel, error) {
	dt, err := xOutDType(b.Node)
	if err != nil {
		return nil, err
	}
	return KernelFunc(func(ctx *Ctx, in []*ir.Tensor) ([]*ir.Tensor, error) {
		if err := tNeed(in, 5); err != nil {
			return nil, err
		}
		var ints [3]int64
		for i, what := range []string{"num_mel_bins", "dft_length", "sample_rate"} {
			v, err := tScalarInt(in[i], what)
			if err != nil {
				return nil, err
			}
			if v <= 0 {
				return nil, Invalidf("%s %d must be positive", what, v)
			}
			ints[i] = v
		}
		var hz [2]float64
		for i, what := range []string{"lower_edge_hertz", "upper_edge_hertz"} {
			t := in[3+i]
			if !nnIsFloat(t.DType) || t.Len() != 1 {
				return nil, Invalidf("%s must be a float scalar, got %s", what, t)
			}
			hz[i] = t.Float64s()[0]
		}
		mels, dftLen, rate := int(ints[0]), ints[1], float64(ints[2])
		if hz[0] < 0 || hz[1] <= hz[0] || hz[1] > rate/2 {
			return nil, Invalidf("edges [%v, %v] Hz must satisfy 0 ≤ low < high ≤ sample_rate/2", hz[0], hz[1])
		}
		nbins := int(dftLen/2 + 1)
		lowMel := 2595 * math.Log10(1+hz[0]/700)
		highMel := 2595 * math.Log10(1+hz[1]/700)
		stepMel := (highMel - lowMel) / float64(mels+2)
		edges := make([]int, mels+2)
		for i := range edges {
			f := 700 * (math.Pow(10, (float64(i)*stepMel+lowMel)/2595) - 1)
			edges[i] = int(math.Floor(float64(dftLen+1) * f / rate))
			edges[i] = min(max(edges[i], 0), nbins-1)
		}
		out := make([]float64, nbins*mels)
		for i := range mels {
			lo, c, hi := edges[i], edges[i+1], edges[i+2]
			if c == lo {
				out[c*mels+i] = 1
			} else {
				for j := lo; j <= c; j++ {
					out[j*mels+i] = float64(j-lo) / float64(c-lo)
				}
			}
			for j := c; j < hi; j++ {
				out[j*mels+i] = float64(hi-j) / float64(hi-c)
			}
		}
		return tOut(xFromF64(ctx, dt, out, []int{nbins, mels}))
	}), nil
}
