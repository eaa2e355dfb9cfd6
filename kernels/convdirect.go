package kernels

import "math"

// convDirectMaxTaps bounds the windowed layers convDirect takes: with few taps (C·KH·KW) the GEMM's K is short,
// so its im2col and per-tile packing cost more than the arithmetic; stems (3 channels, 3×3) are the case it is for.
const convDirectMaxTaps = 32

// convDirectOn enables convDirect; benchmarks turn it off to compare with im2col and the GEMM.
var convDirectOn = true

// convDirectMinWidth is the output width from which convDirect beats im2col and the GEMM on windowed layers of
// any depth. BenchmarkConv2D and BenchmarkWinograd (im2col variants) on the Zen 4 EPYC, 1 thread, GFLOP/s per
// CPU second, im2col vs convDirect: 7×7/2 stem 3→64 on 224² 41 vs 91, 3×3/2 64→128 on 56² 56 vs 75, 3×3/2
// 128→256 on 28² 53 vs 70, 3×3 16×80² 41 vs 96, 32×40² 55 vs 79, 24→96×40² 82 vs 91, 64×56² 72 vs 86,
// 128×28² 71 vs 91, 256×14² 73 vs 90; but 7-wide outputs lose (3×3/2 256→512 on 14²: 59 vs 42, 512×7² 70 vs 42).
const convDirectMinWidth = 14

// convDirectFits reports whether Conv2D runs p with convDirect: a Group-1 layer with whole blocks of 16 output
// channels, on a CPU with the kernel's vector code, that is either pointwise (read in place, so it skips the
// GEMM's B packing and its 12-row panels: 1.05–1.6× the GEMM's throughput measured on K = 16–960), has at most
// convDirectMaxTaps taps, or has output rows at least convDirectMinWidth wide.
func convDirectFits(p *ConvParams) bool {
	if !convDirectOn || !convRowsVector() || p.Group != 1 || p.M%16 != 0 {
		return false
	}
	return p.pointwise() || p.C*p.KH*p.KW <= convDirectMaxTaps || p.OW >= convDirectMinWidth
}

// convDirect computes a convolution without im2col, with wp from ConvWeights.direct. A windowed layer's input is
// laid out once in the StrideH×StrideW phase planes of depthwisePlanes (every channel, zero-padded), which makes
// each tap (c, kh, kw) a fixed offset into them; convRows then computes 16 output channels of a row band per call
// straight into y.
func convDirect(r Runner, p ConvParams, x, wp, bias []float32, act Activation, y []float32) {
	b, clamp, lo, hi := convDirectArgs(p, bias, act)
	if p.pointwise() {
		convDirectPointwise(r, p, x, wp, b, clamp, lo, hi, act, y)
		return
	}
	sh, sw := p.StrideH, p.StrideW
	wq := p.OW + (p.KW-1)*p.DilW/sw
	hq := p.OH + (p.KH-1)*p.DilH/sh
	planeLen := hq*wq + dwLanes // row r's last vector for a tap reads up to hq·wq+15 within its plane
	chanLen := sh * sw * planeLen
	kk := p.KH * p.KW
	taps := p.C * kk
	offs := make([]int, taps)
	for c := 0; c < p.C; c++ {
		for kh := 0; kh < p.KH; kh++ {
			for kw := 0; kw < p.KW; kw++ {
				h, v := kh*p.DilH, kw*p.DilW
				offs[c*kk+kh*p.KW+kw] = c*chanLen + ((h%sh)*sw+v%sw)*planeLen + (h/sh)*wq + v/sw
			}
		}
	}
	blocks := p.M / 16
	// Row bands: enough tasks to balance 2–8 threads, each band at least 4 rows so a call amortises its setup.
	bands := 1
	if r != nil {
		bands = min(ceilDiv(p.OH, 4), max(1, ceilDiv(dwTargetTasks, blocks)))
	}
	bandRows := ceilDiv(p.OH, bands)
	bands = ceilDiv(p.OH, bandRows)
	buf := colPool.Get().(*[]float32)
	defer colPool.Put(buf)
	*buf = grow(*buf, p.C*chanLen)
	planes := (*buf)[:p.C*chanLen]
	hw, ohw := p.H*p.W, p.OH*p.OW
	for n := 0; n < p.N; n++ {
		clear(planes)
		xn := x[n*p.C*hw : (n+1)*p.C*hw]
		r.Run(p.C*sh, func(t int) {
			c, a := t/sh, t%sh
			for i := 0; i < hq; i++ {
				if ih := i*sh + a - p.PadTop; ih >= 0 && ih < p.H {
					fillPhaseRow(&p, xn[c*hw+ih*p.W:c*hw+(ih+1)*p.W], planes[c*chanLen+a*sw*planeLen+i*wq:], planeLen, wq)
				}
			}
		})
		yn := y[n*p.M*ohw : (n+1)*p.M*ohw]
		r.Run(blocks*bands, func(t int) {
			blk, band := t/bands, t%bands
			r0 := band * bandRows
			r1 := min(p.OH, r0+bandRows)
			dst := yn[blk*16*ohw+r0*p.OW:]
			convRows(dst, ohw, p.OW, r1-r0, planes[r0*wq:], wq, offs, wp[blk*taps*16:(blk+1)*taps*16], b[blk*16:blk*16+16], clamp, lo, hi)
			if !clamp && act.Kind != ActNone {
				for m := 0; m < 16; m++ {
					act.Apply(dst[m*ohw : m*ohw+(r1-r0)*p.OW])
				}
			}
		})
	}
}

// direct returns the weights packed for convDirect: per block of 16 output channels, tap-major, so the kernel
// broadcasts wd[blk][t][m] into channel m's FMA.
func (cw *ConvWeights) direct() []float32 {
	cw.dOnce.Do(func() {
		p := cw.p
		taps := p.C * p.KH * p.KW
		cw.wd = make([]float32, p.M*taps)
		for m := 0; m < p.M; m++ {
			for t := 0; t < taps; t++ {
				cw.wd[(m/16*taps+t)*16+m%16] = cw.w[m*taps+t]
			}
		}
	})
	return cw.wd
}

// convDirectArgs returns the bias (zeros for none) and the clamp convRows fuses, if act is one.
func convDirectArgs(p ConvParams, bias []float32, act Activation) (b []float32, clamp bool, lo, hi float32) {
	if b = bias; b == nil {
		b = make([]float32, p.M)
	}
	switch act.Kind {
	case ActRelu:
		return b, true, 0, float32(math.Inf(1))
	case ActClip:
		return b, true, act.Alpha, act.Beta
	}
	return b, false, 0, 0
}

// convPointwiseBandBytes bounds the input a pointwise task reads (C channels × its column band), so the band
// stays in L2 while every block of 16 output channels reads it; bands are 16–256 columns.
const convPointwiseBandBytes = 256 << 10

// convDirectPointwise runs a 1×1 layer: each channel's image is one row of H·W columns, the taps are the
// channels' planes in x itself, and tasks go band by band so the blocks of a band share its input.
func convDirectPointwise(r Runner, p ConvParams, x, wp, b []float32, clamp bool, lo, hi float32, act Activation, y []float32) {
	hw := p.H * p.W
	offs := make([]int, p.C)
	for c := range offs {
		offs[c] = c * hw
	}
	band := min(256, max(16, convPointwiseBandBytes/(4*p.C)/16*16))
	blocks, bands := p.M/16, ceilDiv(hw, band)
	for n := 0; n < p.N; n++ {
		xn, yn := x[n*p.C*hw:(n+1)*p.C*hw], y[n*p.M*hw:(n+1)*p.M*hw]
		r.Run(bands*blocks, func(t int) {
			bi, blk := t/blocks, t%blocks
			j0 := bi * band
			cols := min(band, hw-j0)
			dst := yn[blk*16*hw+j0:]
			convRows(dst, hw, cols, 1, xn[j0:], 0, offs, wp[blk*p.C*16:(blk+1)*p.C*16], b[blk*16:blk*16+16], clamp, lo, hi)
			if !clamp && act.Kind != ActNone {
				for m := 0; m < 16; m++ {
					act.Apply(dst[m*hw : m*hw+cols])
				}
			}
		})
	}
}
