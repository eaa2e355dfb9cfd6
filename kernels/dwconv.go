package kernels

import (
	"math"
	"sync"
)

// dwLanes is the widest vector the tap loop uses; buffers are padded to it so the assembly never needs a masked tail.
const dwLanes = 16

type dwScratch struct {
	planes, out []float32
	offs        []int
	w           []float32
}

var dwPool = sync.Pool{New: func() any { return new(dwScratch) }}

// depthwiseConv runs a Group == C == M convolution: the direct row kernel where the CPU has it, else the
// tap loop over whole phase planes.
func depthwiseConv(r Runner, p ConvParams, x, w, bias []float32, act Activation, y []float32) {
	if dwRowsVector() {
		depthwiseDirect(r, p, x, w, bias, act, y)
		return
	}
	depthwisePlanes(r, p, x, w, bias, act, y)
}

// dwMode is the activation form the row kernel fuses before its store.
type dwMode int

const (
	dwNone        dwMode = iota
	dwClamp              // min(max(x, lo), hi): Relu, Clip
	dwHardSigmoid        // g = min(max(a·x+b, lo), hi)
	dwHardSwish          // x·g
)

// dwEpi is a fused activation for dwRows.
type dwEpi struct {
	mode         dwMode
	a, b, lo, hi float32
}

// fusedEpi maps act to the row kernel's epilogue; ok is false for activations it cannot fuse, which the caller
// applies afterwards.
func fusedEpi(act Activation) (e dwEpi, ok bool) {
	switch act.Kind {
	case ActNone:
		return dwEpi{}, true
	case ActRelu:
		return dwEpi{mode: dwClamp, hi: float32(math.Inf(1))}, true
	case ActClip:
		return dwEpi{mode: dwClamp, lo: act.Alpha, hi: act.Beta}, true
	case ActHardSigmoid:
		return dwEpi{mode: dwHardSigmoid, a: act.Alpha, b: act.Beta, hi: 1}, true
	case ActHardSwish:
		return dwEpi{mode: dwHardSwish, a: 1.0 / 6, b: 0.5, hi: 1}, true // as Activation.Apply: x·(1/6)
	}
	return dwEpi{}, false
}

// dwDirect is a task's scratch for depthwiseDirect. key records the geometry and plane rows its zeros were laid
// out for: every channel of that geometry writes the same positions, so padding written as zero stays zero and a
// reused scratch needs no clearing.
type dwDirect struct {
	planes []float32
	key    dwKey
}

type dwKey struct {
	p      ConvParams
	i0, i1 int
	ok     bool
}

var dwDirectPool = sync.Pool{New: func() any { return new(dwDirect) }}

// dwTargetTasks is how many tasks a parallel depthwise layer is cut into: enough that the runner's dynamic
// scheduling balances 2–8 threads even on 7×7 layers, few enough that per-task costs stay small.
const dwTargetTasks = 32

// depthwiseDirect computes each output row straight into y with dwRows: bias, every tap and the activation in
// one pass per row, one call per channel and row band.
//
// The input is laid out once per channel in the StrideH×StrideW phase planes described at depthwisePlanes, whose
// zero padding makes every tap an unconditional shifted load; only the image rows a band reads are filled, and
// only their data positions are written (see dwDirect). Work is cut into channel chunks, and into row bands when
// there are fewer channels than tasks, so 2 threads stay balanced from 112×112 down to 7×7 layers. 3×3 stride-2
// layers skip the planes (depthwiseS2K3).
func depthwiseDirect(r Runner, p ConvParams, x, w, bias []float32, act Activation, y []float32) {
	if dwS2K3Fits(&p) {
		depthwiseS2K3(r, p, x, w, bias, act, y)
		return
	}
	sh, sw := p.StrideH, p.StrideW
	wq := p.OW + (p.KW-1)*p.DilW/sw
	hq := p.OH + (p.KH-1)*p.DilH/sh
	// Row r's last vector for a tap reads up to offs+r·wq+roundUp(OW, 16) ≤ hq·wq+15 within its plane.
	planeLen := hq*wq + dwLanes
	taps := p.KH * p.KW
	offs := make([]int, taps)
	for kh := 0; kh < p.KH; kh++ {
		for kw := 0; kw < p.KW; kw++ {
			h, v := kh*p.DilH, kw*p.DilW
			offs[kh*p.KW+kw] = ((h%sh)*sw+v%sw)*planeLen + (h/sh)*wq + v/sw
		}
	}
	epi, fused := fusedEpi(act)
	nc := p.N * p.C
	chunk, chunks, bands, bandRows := dwTasks(r, nc, p.OH)
	r.Run(chunks*bands, func(task int) {
		r0 := task % bands * bandRows
		r1 := min(p.OH, r0+bandRows)
		i0, i1 := r0, r1+hq-p.OH // the plane rows this band's taps read
		s := dwDirectPool.Get().(*dwDirect)
		defer dwDirectPool.Put(s)
		key := dwKey{p: p, i0: i0, i1: i1, ok: true}
		key.p.N = 0
		if s.key != key || len(s.planes) < sh*sw*planeLen {
			s.planes = grow(s.planes, sh*sw*planeLen)
			clear(s.planes)
			s.key = key
		}
		planes := s.planes[:sh*sw*planeLen]
		t0 := task / bands * chunk
		for t := t0; t < min(nc, t0+chunk); t++ {
			c := t % p.C
			in := x[t*p.H*p.W : (t+1)*p.H*p.W]
			for a := 0; a < sh; a++ {
				if sw == 1 {
					// Plane a row i holds image row i·sh + a - PadTop: one strided copy covers the band's rows.
					lo, hi := max(i0, ceilDiv(max(0, p.PadTop-a), sh)), min(i1, ceilDiv(p.H+p.PadTop-a, sh))
					c0, c1 := min(p.PadLeft, wq), min(wq, p.PadLeft+p.W)
					if hi > lo && c1 > c0 {
						ih := lo*sh + a - p.PadTop
						copyRows(planes[a*planeLen+lo*wq+c0:], wq, in[ih*p.W:], sh*p.W, c1-c0, hi-lo)
					}
					continue
				}
				for i := i0; i < i1; i++ {
					ih := i*sh + a - p.PadTop
					if ih < 0 || ih >= p.H {
						continue // padding rows: zero since the scratch was laid out
					}
					fillPhaseRow(&p, in[ih*p.W:(ih+1)*p.W], planes[a*sw*planeLen+i*wq:], planeLen, wq)
				}
			}
			var b float32
			if bias != nil {
				b = bias[c]
			}
			dst := y[t*p.OH*p.OW+r0*p.OW : t*p.OH*p.OW+r1*p.OW]
			dwRows(dst, p.OW, r1-r0, planes[r0*wq:], wq, offs, w[c*taps:(c+1)*taps], b, &epi)
			if !fused {
				act.Apply(dst)
			}
		}
	})
}

// dwZeroRow stands in for the input rows above and below the image in depthwiseS2K3.
var dwZeroRow [4096]float32

// dwS2K3Fits reports whether depthwiseS2K3 runs p: 3×3, stride 2, undilated, with one column of left padding (the
// PyTorch and Paddle form of MobileNet's downsampling layers) or none (TensorFlow's SAME on even sizes), rows no
// wider than dwZeroRow.
func dwS2K3Fits(p *ConvParams) bool {
	return p.KH == 3 && p.KW == 3 && p.StrideH == 2 && p.StrideW == 2 && p.DilH == 1 && p.DilW == 1 &&
		(p.PadLeft == 0 || p.PadLeft == 1) && p.W <= len(dwZeroRow)
}

// dwTasks cuts a depthwise convolution of nc planes with oh output rows into chunks × bands tasks: chunks of
// chunk planes, and, when there are fewer planes than dwTargetTasks, bands of bandRows output rows so every
// worker still gets work. Without a runner it is one task.
func dwTasks(r Runner, nc, oh int) (chunk, chunks, bands, bandRows int) {
	chunk, bands = nc, 1
	if r != nil {
		if nc < dwTargetTasks {
			bands = min(oh, ceilDiv(dwTargetTasks, nc))
		}
		chunk = ceilDiv(nc, min(nc, dwTargetTasks))
	}
	bandRows = ceilDiv(oh, bands)
	bands = ceilDiv(oh, bandRows)
	return chunk, ceilDiv(nc, chunk), bands, bandRows
}

// depthwiseS2K3 runs a 3×3 stride-2 depthwise convolution with dwS2K3, which reads the input rows in place and
// splits even and odd columns in registers: the phase planes depthwiseDirect fills cost more than the taps at
// stride 2, where every input value is used only 2.25 times. Rows whose taps reach above or below the image
// read dwZeroRow instead. Tasks are cut as in depthwiseDirect.
func depthwiseS2K3(r Runner, p ConvParams, x, w, bias []float32, act Activation, y []float32) {
	epi, fused := fusedEpi(act)
	nc := p.N * p.C
	chunk, chunks, bands, bandRows := dwTasks(r, nc, p.OH)
	// Output rows [inLo, inHi) read three image rows; the rest touch the top or bottom padding.
	inLo, inHi := ceilDiv(p.PadTop, 2), (p.H-1+p.PadTop)/2
	r.Run(chunks*bands, func(task int) {
		r0 := task % bands * bandRows
		r1 := min(p.OH, r0+bandRows)
		lo := min(max(r0, inLo), r1)
		hi := min(max(lo, inHi), r1)
		t0 := task / bands * chunk
		for t := t0; t < min(nc, t0+chunk); t++ {
			c := t % p.C
			in := x[t*p.H*p.W : (t+1)*p.H*p.W]
			var b float32
			if bias != nil {
				b = bias[c]
			}
			wc := w[c*9 : c*9+9]
			dst := y[t*p.OH*p.OW : (t+1)*p.OH*p.OW]
			var rows [3][]float32
			for oh := r0; oh < r1; oh++ {
				if oh == lo && hi > lo {
					for k := range rows {
						rows[k] = in[(2*lo-p.PadTop+k)*p.W:]
					}
					dwS2K3(dst[lo*p.OW:hi*p.OW], p.OW, hi-lo, &rows, 2*p.W, p.W, p.PadLeft, wc, b, &epi)
					oh = hi - 1
					continue
				}
				for k := range rows {
					rows[k] = dwZeroRow[:p.W]
					if ih := 2*oh - p.PadTop + k; ih >= 0 && ih < p.H {
						rows[k] = in[ih*p.W : (ih+1)*p.W]
					}
				}
				dwS2K3(dst[oh*p.OW:(oh+1)*p.OW], p.OW, 1, &rows, 2*p.W, p.W, p.PadLeft, wc, b, &epi)
			}
			if !fused {
				act.Apply(dst[r0*p.OW : r1*p.OW])
			}
		}
	})
}

// fillPhaseRow writes input row src into its stride phases: padded column P = iw + PadLeft goes to
// dst[(P mod sw)·planeLen + P/sw] when P/sw < wq. It writes data only; the padding around it is left as it is.
func fillPhaseRow(p *ConvParams, src, dst []float32, planeLen, wq int) {
	sw, pl := p.StrideW, p.PadLeft
	switch sw {
	case 1:
		if lo, hi := min(pl, wq), min(wq, pl+p.W); hi > lo {
			copy(dst[lo:hi], src)
		}
	case 2:
		r0, r1 := dst[:wq], dst[planeLen:planeLen+wq]
		iw := 0
		if pl%2 == 1 { // the first input column has odd P
			if j := pl / 2; j < wq {
				r1[j] = src[0]
			}
			iw = 1
		}
		j := (iw + pl) / 2
		if pairs := min((len(src)-iw)/2, wq-j); pairs > 0 {
			deinterleave2(r0[j:], r1[j:], src[iw:], pairs)
			iw, j = iw+2*pairs, j+pairs
		}
		if iw < len(src) && j < wq {
			r0[j] = src[iw]
		}
	default:
		for iw, v := range src {
			P := iw + pl
			if j := P / sw; j < wq {
				dst[(P%sw)*planeLen+j] = v
			}
		}
	}
}

// depthwisePlanes runs a Group == C == M convolution channel by channel.
//
// Each channel's zero-padded input is split into StrideH×StrideW phase planes (plane (a,b) holds padded pixels
// (i·sh+a, j·sw+b)), which turns any stride into stride 1: every tap (kh,kw) becomes one plane read at a fixed
// flat offset. The tap loop then computes a whole output grid (OH rows of Wq ≥ OW columns) as one long vector
// loop, and only the OW valid columns of each row are copied out. Small spatial sizes (7×7, 14×14) stay vectorised.
func depthwisePlanes(r Runner, p ConvParams, x, w, bias []float32, act Activation, y []float32) {
	sh, sw := p.StrideH, p.StrideW
	wq := p.OW + (p.KW-1)*p.DilW/sw
	hq := p.OH + (p.KH-1)*p.DilH/sh
	// The tap loop reads roundUp(grid, dwLanes) elements from each tap's offset, and the largest offset reaches
	// (hq-OH)·wq + (wq-OW): pad each plane by a row plus a vector so every read stays inside it.
	planeLen := hq*wq + wq + dwLanes
	grid := p.OH * wq
	taps := p.KH * p.KW
	r.Run(p.N*p.C, func(t int) {
		c := t % p.C
		s := dwPool.Get().(*dwScratch)
		defer dwPool.Put(s)
		s.planes = grow(s.planes, sh*sw*planeLen)
		s.out = grow(s.out, roundUp(grid, dwLanes))
		if cap(s.offs) < taps {
			s.offs = make([]int, taps)
		}
		s.offs = s.offs[:taps]
		in := x[t*p.H*p.W : (t+1)*p.H*p.W]
		var rows [4][]float32
		for a := 0; a < sh; a++ {
			for i := 0; i < hq; i++ {
				for b := 0; b < sw && b < len(rows); b++ {
					rows[b] = s.planes[(a*sw+b)*planeLen+i*wq : (a*sw+b)*planeLen+(i+1)*wq]
				}
				ih := i*sh + a - p.PadTop
				if ih < 0 || ih >= p.H {
					for b := 0; b < sw; b++ {
						clear(s.planes[(a*sw+b)*planeLen+i*wq : (a*sw+b)*planeLen+(i+1)*wq])
					}
					continue
				}
				fillPhaseRows(&p, in[ih*p.W:(ih+1)*p.W], rows[:min(sw, len(rows))], a, i, wq, s.planes, planeLen)
			}
			for b := 0; b < sw; b++ {
				clear(s.planes[(a*sw+b)*planeLen+hq*wq : (a*sw+b+1)*planeLen]) // the vector loop's overrun reads zeros
			}
		}
		for kh := 0; kh < p.KH; kh++ {
			for kw := 0; kw < p.KW; kw++ {
				h, v := kh*p.DilH, kw*p.DilW
				s.offs[kh*p.KW+kw] = ((h%sh)*sw+v%sw)*planeLen + (h/sh)*wq + v/sw
			}
		}
		var b float32
		if bias != nil {
			b = bias[c]
		}
		dwTaps(s.out, grid, s.planes, s.offs, w[c*taps:(c+1)*taps], b)
		dst := y[t*p.OH*p.OW : (t+1)*p.OH*p.OW]
		for oh := 0; oh < p.OH; oh++ {
			copy(dst[oh*p.OW:(oh+1)*p.OW], s.out[oh*wq:oh*wq+p.OW])
		}
		act.Apply(dst)
	})
}

// fillPhaseRows splits one input row src into the stride's column phases: padded column P = iw + PadLeft goes
// to phase row P mod sw at P / sw; everything else in the phase rows (padding) is zero. rows holds the phase rows
// for sw ≤ 4; wider strides address the planes directly.
func fillPhaseRows(p *ConvParams, src []float32, rows [][]float32, a, i, wq int, planes []float32, planeLen int) {
	sw, pl := p.StrideW, p.PadLeft
	switch {
	case sw == 1:
		row := rows[0]
		lo := min(pl, wq)
		hi := min(wq, pl+p.W)
		clear(row[:lo])
		copy(row[lo:hi], src)
		clear(row[hi:])
	case sw == 2:
		r0, r1 := rows[0], rows[1]
		clear(r0)
		clear(r1)
		// Pairs (even P, odd P) land at the same index j = P/2 of r0 and r1.
		iw := 0
		if pl%2 == 1 { // the first input column has odd P
			if j := pl / 2; j < wq {
				r1[j] = src[0]
			}
			iw = 1
		}
		j := (iw + pl) / 2
		if pairs := min((len(src)-iw)/2, wq-j); pairs > 0 {
			deinterleave2(r0[j:], r1[j:], src[iw:], pairs)
			iw, j = iw+2*pairs, j+pairs
		}
		if iw < len(src) && j < wq {
			r0[j] = src[iw]
		}
	default:
		for b := 0; b < sw; b++ {
			clear(planes[(a*sw+b)*planeLen+i*wq : (a*sw+b)*planeLen+(i+1)*wq])
		}
		for iw, v := range src {
			P := iw + pl
			if j := P / sw; j < wq {
				planes[(a*sw+P%sw)*planeLen+i*wq+j] = v
			}
		}
	}
}
