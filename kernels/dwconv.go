package kernels

import "sync"

// dwLanes is the widest vector the tap loop uses; buffers are padded to it so the assembly never needs a masked tail.
const dwLanes = 16

type dwScratch struct {
	planes, out []float32
	offs        []int
	w           []float32
}

var dwPool = sync.Pool{New: func() any { return new(dwScratch) }}

// depthwiseConv runs a Group == C == M convolution channel by channel.
//
// Each channel's zero-padded input is split into StrideH×StrideW phase planes (plane (a,b) holds padded pixels
// (i·sh+a, j·sw+b)), which turns any stride into stride 1: every tap (kh,kw) becomes one plane read at a fixed
// flat offset. The tap loop then computes a whole output grid (OH rows of Wq ≥ OW columns) as one long vector
// loop, and only the OW valid columns of each row are copied out. Small spatial sizes (7×7, 14×14) stay vectorised.
func depthwiseConv(r Runner, p ConvParams, x, w, bias []float32, act Activation, y []float32) {
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
