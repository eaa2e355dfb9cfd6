package kernels

import "sync"

// ConvParams describes a 2-D convolution over NCHW float32 data with OIHW weights.
type ConvParams struct {
	N, C, H, W                           int // input
	M                                    int // output channels
	KH, KW                               int
	StrideH, StrideW                     int
	DilH, DilW                           int
	PadTop, PadLeft, PadBottom, PadRight int
	Group                                int
	OH, OW                               int // output spatial size (callers compute it from the above)
}

// depthwise reports whether every group holds one input and one output channel.
func (p *ConvParams) depthwise() bool { return p.Group == p.C && p.Group == p.M && p.Group > 1 }

// pointwise reports whether the input itself is the GEMM's B matrix (1×1 kernel, stride 1, no padding).
func (p *ConvParams) pointwise() bool {
	return p.KH == 1 && p.KW == 1 && p.StrideH == 1 && p.StrideW == 1 &&
		p.PadTop == 0 && p.PadLeft == 0 && p.PadBottom == 0 && p.PadRight == 0 && p.OH == p.H && p.OW == p.W
}

// ConvWeights are convolution weights packed once for Conv2D. Each of the two GEMM forms is packed on first
// use, so a layer whose output size is known at pack time holds only the form it runs.
type ConvWeights struct {
	p      ConvParams
	w      []float32 // OIHW copy: the depthwise taps and the reference path
	kern   *ukernel  // the micro-kernel both forms are packed for
	aOnce  sync.Once
	groups []*PackedA // per group: (M/Group) × (C/Group·KH·KW) packed as the GEMM's A (output channels as rows)
	tOnce  sync.Once
	wT     *PackedB // Group 1 only: Wᵀ (C·KH·KW × M) packed as the GEMM's B (output channels as columns)
	wOnce  sync.Once
	wino   *winoWeights // 3×3 stride-1 layers: Winograd-transformed weights (winograd.go)
	dOnce  sync.Once
	wd     []float32 // convDirect layers: weights in 16-channel blocks for convRows (convdirect.go)
}

// PackConvWeights packs OIHW weights (M × C/Group × KH × KW) for p. When p carries the output size (OH, OW > 0)
// only the GEMM form Conv2D will pick for that size is packed now; the other is packed if a later call needs it.
func PackConvWeights(p ConvParams, w []float32) *ConvWeights {
	cw := &ConvWeights{p: p, w: append([]float32(nil), w...), kern: kernelFor(level)}
	if p.depthwise() || p.Group <= 0 {
		return cw
	}
	if winogradFits(&p) {
		cw.winograd()
		return cw
	}
	if p.OH > 0 && p.OW > 0 && convDirectFits(&p) {
		cw.direct()
		return cw
	}
	if p.OH > 0 && p.OW > 0 && transposedBetter(&p, cw.kern) {
		cw.packedT()
	} else {
		cw.packedA()
	}
	return cw
}

// packedA returns the per-group weights packed as A panels.
func (cw *ConvWeights) packedA() []*PackedA {
	cw.aOnce.Do(func() {
		p := cw.p
		mg, kg := p.M/p.Group, p.C/p.Group*p.KH*p.KW
		for g := 0; g < p.Group; g++ {
			pa := &PackedA{M: mg, K: kg, kern: cw.kern, data: make([]float32, kg*roundUp(mg, cw.kern.mr))}
			if kg > 0 && mg > 0 {
				packA(cw.w[g*mg*kg:], kg, false, 1, 0, mg, 0, kg, cw.kern.mr, pa.data)
			}
			cw.groups = append(cw.groups, pa)
		}
	})
	return cw.groups
}

// packedT returns Wᵀ packed as B panels (Group 1 only).
func (cw *ConvWeights) packedT() *PackedB {
	cw.tOnce.Do(func() {
		p := cw.p
		k := p.C * p.KH * p.KW
		pb := &PackedB{K: k, N: p.M, kern: cw.kern, data: make([]float32, k*roundUp(p.M, cw.kern.nr))}
		if k > 0 && p.M > 0 {
			packB(cw.w, k, true, 0, k, 0, p.M, cw.kern.nr, pb.data)
		}
		cw.wT = pb
	})
	return cw.wT
}

// rowsComputed is how many rows the micro-kernels compute for an m-row operand: whole mr-row panels, and for the
// last partial panel the smallest edge kernel that covers it.
func rowsComputed(kern *ukernel, m int) int {
	full := m / kern.mr * kern.mr
	if rem := m - full; rem > 0 {
		_, rows := kern.forRows(rem)
		full += rows
	}
	return full
}

// transposedBetter reports whether p should run as the transposed product Yᵀ = colᵀ·Wᵀ (output pixels as GEMM
// rows, channels as columns) instead of Y = W·col. Columns are computed in whole nr-wide tiles but rows in
// mr-row panels with narrower edge kernels, so the pixel count belongs on the rows when it is far from a
// multiple of nr: on AVX-512 a 7×7 image (49 pixels) costs 64 columns but only 52 rows, 14×14 (196) costs
// 224 columns but exactly 196 rows. The transposed form pays one extra pass to write Y back channel-major
// (convWriteBackCost per output), so with it counted it must save at least 5 % of the work.
func transposedBetter(p *ConvParams, kern *ukernel) bool {
	if p.Group != 1 || !convTransposedOn {
		return false
	}
	ohw, k := p.OH*p.OW, p.C*p.KH*p.KW
	normal := rowsComputed(kern, p.M) * roundUp(ohw, kern.nr) * k
	trans := rowsComputed(kern, ohw)*roundUp(p.M, kern.nr)*k + convWriteBackCost*ohw*p.M
	return trans*20 < normal*19
}

// convWriteBackCost is the transposed form's write-back of one output element in micro-kernel multiply-adds
// per lane. Measured on Zen 4: a 96→576 1×1 layer on 14×14 (K = 96) ran 1.4× slower transposed despite 12 %
// fewer flops, while 960→160 on 7×7 (K = 960) ran 1.1× faster; about 60 fits both.
const convWriteBackCost = 64

// Conv2D computes y = act(conv(x, w) + bias) for NCHW x (N×C×H×W) into y (N×M×OH×OW).
// bias may be nil. w must have been packed for the same channel, kernel and group geometry.
//
// Depthwise convolutions (Group == C == M) run a vectorised tap loop; the rest lower to GEMMs with the packed
// weights as A: 1×1/stride-1/unpadded convolutions read the input directly as B, others im2col one tile of output
// pixels at a time straight into the micro-kernel's B panel layout.
func Conv2D(r Runner, p ConvParams, x []float32, w *ConvWeights, bias []float32, act Activation, y []float32) {
	if p.N <= 0 || p.M <= 0 || p.OH <= 0 || p.OW <= 0 {
		return
	}
	if p.depthwise() {
		depthwiseConv(r, p, x, w.w, bias, act, y)
		return
	}
	if q := w.p; q.M != p.M || q.C != p.C || q.KH != p.KH || q.KW != p.KW || q.Group != p.Group {
		// Packed for another geometry: correct but slow beats wrong.
		conv2DGeneric(p, x, w.w, bias, act, y)
		return
	}
	// Winograd first: on the 3×3 layers both take it does fewer flops (BenchmarkWinograd: 256×14² 121 GFLOP/s
	// against convDirect's 90).
	if winogradFits(&p) {
		winogradConv(r, p, x, w.winograd(), bias, act, y)
		return
	}
	if convDirectFits(&p) {
		convDirect(r, p, x, w.direct(), bias, act, y)
		return
	}
	if transposedBetter(&p, w.kern) {
		convTransposed(r, p, x, w, bias, act, y)
		return
	}
	groups := w.packedA()
	cg, mg := p.C/p.Group, p.M/p.Group
	hw, ohw := p.H*p.W, p.OH*p.OW
	if p.pointwise() {
		for n := 0; n < p.N; n++ {
			for g := 0; g < p.Group; g++ {
				pa := groups[g]
				as := aSource{packed: pa.data}
				bs := bSource{b: x[(n*p.C+g*cg)*hw:], ldb: hw}
				ep := convEpilogue(bias, g*mg, mg, act)
				gemm(r, pa.kern, mg, ohw, pa.K, &as, &bs, 0, y[(n*p.M+g*mg)*ohw:], ohw, ep)
			}
		}
		return
	}
	kern := w.kern
	kdim := cg * p.KH * p.KW
	if full := kdim * roundUp(ohw, kern.nr); full*4 <= convFullBytes && mg*kdim*4 > convFullMinWeights {
		// Deep layers (ResNet's 14×14 and 7×7 stages) have few pixels and many weights: im2col the whole image
		// once and run one GEMM, so its task grid can split the weights (rows) between threads and every
		// packed weight panel is read once per B panel block instead of once per pixel tile.
		buf := colPool.Get().(*[]float32)
		*buf = grow(*buf, full)
		panels := ceilDiv(ohw, kern.nr)
		for n := 0; n < p.N; n++ {
			for g := 0; g < p.Group; g++ {
				xg := x[(n*p.C+g*cg)*hw : (n*p.C+(g+1)*cg)*hw]
				chunk := ceilDiv(panels, min(panels, 8))
				r.Run(ceilDiv(panels, chunk), func(t int) {
					j0 := t * chunk * kern.nr
					cols := min(chunk*kern.nr, ohw-j0)
					im2colPanels(&p, xg, cg, j0, cols, kern.nr, (*buf)[j0*kdim:])
				})
				pa := groups[g]
				as := aSource{packed: pa.data}
				bs := bSource{packed: *buf}
				gemm(r, kern, mg, ohw, kdim, &as, &bs, 0, y[(n*p.M+g*mg)*ohw:], ohw, convEpilogue(bias, g*mg, mg, act))
			}
		}
		colPool.Put(buf)
		return
	}
	// A tile of output pixels keeps its im2col panel (kdim × tile) within convTileBytes so it stays in L2 beside A.
	tile := max(kern.nr, (convTileBytes/4/max(kdim, 1))/kern.nr*kern.nr)
	tiles := ceilDiv(ohw, tile)
	for tiles*p.N*p.Group < 8 && tile > kern.nr {
		// Too few tasks to feed the Runner's threads: cut smaller tiles.
		tile = max(kern.nr, roundUp(tile/2, kern.nr))
		tiles = ceilDiv(ohw, tile)
	}
	r.Run(p.N*p.Group*tiles, func(t int) {
		n, g, ti := t/(p.Group*tiles), t/tiles%p.Group, t%tiles
		col0 := ti * tile
		cols := min(tile, ohw-col0)
		buf := colPool.Get().(*[]float32)
		*buf = grow(*buf, kdim*roundUp(cols, kern.nr))
		im2colPanels(&p, x[(n*p.C+g*cg)*hw:(n*p.C+(g+1)*cg)*hw], cg, col0, cols, kern.nr, *buf)
		pa := groups[g]
		as := aSource{packed: pa.data}
		bs := bSource{packed: *buf}
		gemmTask(kern, 0, mg, 0, cols, kdim, &as, &bs, 0, y[(n*p.M+g*mg)*ohw+col0:], ohw, convEpilogue(bias, g*mg, mg, act))
		colPool.Put(buf)
	})
}

// convTransposed computes a Group-1 convolution as Yᵀ = colᵀ·Wᵀ: the im2col matrix is cut into mr-pixel A panels,
// the weights are the packed B, and Yᵀ (pixels ×
// channels) lands in scratch. One pass then writes it channel-major into y, adding the bias and applying the
// activation on the way.
func convTransposed(r Runner, p ConvParams, x []float32, w *ConvWeights, bias []float32, act Activation, y []float32) {
	kern, pb := w.kern, w.packedT()
	hw, ohw, kdim := p.H*p.W, p.OH*p.OW, pb.K
	yt := colPool.Get().(*[]float32)
	*yt = grow(*yt, ohw*p.M)
	col := colPool.Get().(*[]float32)
	*col = grow(*col, kdim*roundUp(ohw, kern.mr))
	// Channel blocks for the write-back: 16 KiB of output or at least 16 channels each, so hand-offs stay cheap
	// and each pixel's read of Yᵀ covers a run of channels.
	chBlock := min(p.M, max(16, 4096/max(ohw, 1)))
	for n := 0; n < p.N; n++ {
		// Packing colᵀ once up front (a plain transpose for 1×1 layers) beats letting every GEMM task pack
		// its own copy of the rows it reads.
		xn := x[n*p.C*hw : (n+1)*p.C*hw]
		panels := ceilDiv(ohw, kern.mr)
		chunk := ceilDiv(panels, min(panels, 8))
		r.Run(ceilDiv(panels, chunk), func(t int) {
			j0 := t * chunk * kern.mr
			cols := min(chunk*kern.mr, ohw-j0)
			if p.pointwise() {
				// colᵀ is xᵀ: each channel's mr pixels are one contiguous copy.
				packA(xn, hw, true, 1, j0, cols, 0, kdim, kern.mr, (*col)[j0*kdim:])
			} else {
				im2colPanels(&p, xn, p.C, j0, cols, kern.mr, (*col)[j0*kdim:])
			}
		})
		as := aSource{packed: *col}
		bs := bSource{packed: pb.data}
		gemm(r, kern, ohw, p.M, kdim, &as, &bs, 0, *yt, p.M, nil)
		yn, t := y[n*p.M*ohw:(n+1)*p.M*ohw], *yt
		r.Run(ceilDiv(p.M, chBlock), func(blk int) {
			m0, m1 := blk*chBlock, min(p.M, (blk+1)*chBlock)
			// Pixel-major: each pixel's channels are contiguous in Yᵀ, and the block's output rows stay in L1.
			for i := 0; i < ohw; i++ {
				src := t[i*p.M+m0 : i*p.M+m1]
				for j, v := range src {
					yn[(m0+j)*ohw+i] = v
				}
			}
			for m := m0; m < m1; m++ {
				row := yn[m*ohw : (m+1)*ohw]
				if bias != nil {
					AddScalar(row, row, bias[m])
				}
				act.Apply(row)
			}
		})
	}
	colPool.Put(yt)
	colPool.Put(col)
}

// convTransposedOn enables the transposed form; benchmarks turn it off to measure what it saves.
var convTransposedOn = true

// convTileBytes bounds one im2col tile; half of a 1 MiB L2 leaves room for the packed weights.
var convTileBytes = 512 << 10

// convFullBytes bounds a whole-image im2col buffer, and convFullMinWeights is the packed weight size above which
// re-reading the weights per pixel tile costs more than one pass over a whole-image buffer.
var (
	convFullBytes      = 4 << 20
	convFullMinWeights = 512 << 10
)

// colPool recycles im2col tile buffers, so memory stays at one tile per concurrent task.
var colPool = sync.Pool{New: func() any { return new([]float32) }}

// convEpilogue returns the GEMM epilogue for output channels [m0, m0+mg), or nil when there is nothing to do.
func convEpilogue(bias []float32, m0, mg int, act Activation) *Epilogue {
	if bias == nil && act.Kind == ActNone {
		return nil
	}
	ep := &Epilogue{BiasPerRow: true, Act: act}
	if bias != nil {
		ep.Bias = bias[m0 : m0+mg]
	}
	return ep
}

// im2colPanels writes the im2col matrix of output pixels [col0, col0+cols) — rows (c, kh, kw), one column per
// pixel — in nr-column panels over the full K = cg·KH·KW, zero-padding out-of-image taps and the last panel.
func im2colPanels(p *ConvParams, x []float32, cg, col0, cols, nr int, dst []float32) {
	kdim := cg * p.KH * p.KW
	for jp := 0; jp*nr < cols; jp++ {
		pan := dst[jp*kdim*nr : (jp+1)*kdim*nr]
		first := col0 + jp*nr
		n := min(nr, cols-jp*nr)
		if n < nr {
			clear(pan)
		}
		// Split the panel's pixels into runs on one output row; each run reads a contiguous (stride 1) or
		// strided input row segment per tap.
		for jj := 0; jj < n; {
			oh, ow := (first+jj)/p.OW, (first+jj)%p.OW
			run := min(n-jj, p.OW-ow)
			for c := 0; c < cg; c++ {
				plane := x[c*p.H*p.W : (c+1)*p.H*p.W]
				for kh := 0; kh < p.KH; kh++ {
					ih := oh*p.StrideH - p.PadTop + kh*p.DilH
					for kw := 0; kw < p.KW; kw++ {
						krow := (c*p.KH+kh)*p.KW + kw
						out := pan[krow*nr+jj : krow*nr+jj+run]
						if ih < 0 || ih >= p.H {
							clear(out)
							continue
						}
						row := plane[ih*p.W : (ih+1)*p.W]
						iw0 := ow*p.StrideW - p.PadLeft + kw*p.DilW
						if p.StrideW == 1 {
							if iw0 >= 0 && iw0+run <= p.W {
								copy(out, row[iw0:]) // interior: the common case, one copy
								continue
							}
							lo := min(max(0, -iw0), run)
							hi := max(lo, min(run, p.W-iw0))
							clear(out[:lo])
							if hi > lo {
								copy(out[lo:hi], row[iw0+lo:iw0+hi])
							}
							clear(out[hi:])
							continue
						}
						// Strided: zero the out-of-image ends once, then gather the valid range without a
						// per-element bounds branch (ResNet's 7×7/2 stem spends most of its im2col here).
						sw := p.StrideW
						lo := min(run, max(0, ceilDiv(-iw0, sw)))
						hi := max(lo, min(run, ceilDiv(p.W-iw0, sw)))
						clear(out[:lo])
						clear(out[hi:])
						if hi > lo {
							src := row[iw0+lo*sw : iw0+(hi-1)*sw+1]
							dst := out[lo:hi]
							for t := range dst {
								dst[t] = src[t*sw]
							}
						}
					}
				}
			}
			jj += run
		}
	}
}
