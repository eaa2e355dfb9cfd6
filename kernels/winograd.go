package kernels

import "sync"

// Winograd minimal filtering for 3×3 stride-1 convolutions (Lavin & Gray, "Fast Algorithms for Convolutional
// Neural Networks", CVPR 2016), F(2×2, 3×3). The output is cut into 2×2 tiles; each tile's 4×4 input patch d
// becomes V = Bᵀ·d·B, each 3×3 filter g becomes U = G·g·Gᵀ (once, at pack time), and the tile is
// Y = Aᵀ·(U ⊙ V)·A. Summed over input channels, the element-wise products turn into 16 independent GEMMs
// M[e] = U[e]·V[e] (M×C times C×tiles), which run on the packed SGEMM micro-kernel: 16 multiplies per 4 outputs
// per channel pair where im2col does 36 (2.25× fewer).

// winoG is F(2×2, 3×3)'s filter transform G (points 0, ±1, ∞). Every transform coefficient of F(2,3) is 0, ±1 or
// ±½, so it is as accurate as direct convolution. F(4,3) (points 0, ±½, ±2, ∞ or 0, ±1, ±2, ∞) would cut the
// multiplies 4× instead of 2.25×, but with Lavin & Gray's matrices it missed TestConv2D's 1e-4 relative
// tolerance on C = 64…300 layers (errors of 1.5e-4), so it is not used.
var winoG = [4][3]float64{{1, 0, 0}, {0.5, 0.5, 0.5}, {0.5, -0.5, 0.5}, {0, 0, 1}}

// winoAlpha is the transformed tile side (m + r − 1 = 4) and winoA2 the number of GEMMs.
const (
	winoAlpha = 4
	winoA2    = winoAlpha * winoAlpha
)

// winogradOn lets benchmarks and tests turn the Winograd path off to compare it with im2col.
var winogradOn = true

// winogradFits reports whether p runs as a Winograd convolution: a 3×3, stride-1, undilated, ungrouped layer
// with at least winoMinCh input and output channels and winoMinPixels output pixels per image. The transforms
// cost O(16·(C+M)) per tile against the O(20·C·M) multiply-adds saved, so narrow layers lose; the 16 U[e] are
// 16/9 the bytes of the plain weights, and on small images (few tiles per weight) re-reading them costs more
// than the saved flops.
func winogradFits(p *ConvParams) bool {
	return winogradOn && p.KH == 3 && p.KW == 3 && p.StrideH == 1 && p.StrideW == 1 && p.DilH == 1 && p.DilW == 1 &&
		p.Group == 1 && min(p.C, p.M) >= winoMinCh && p.OH*p.OW >= winoMinPixels
}

// winoMinCh and winoMinPixels encode BenchmarkWinograd on the Zen 4 EPYC, median of 3, GFLOP/s (im2col vs
// Winograd with the block-wide transforms, 1 thread, per CPU second): 128×28×28 71 vs 97, 256×14×14 73 vs 121
// (win); 24→96×40×40 82 vs 86, 32×40×40 55 vs 63 (too close on a shared machine); 16×80×80 35 vs 27 and
// 512×7×7 67 vs 49 (lose: 16 tiles fill half a 32-wide panel and re-read 16 U[e] each). Layers of 14+-wide
// outputs go to convDirect otherwise, which measured (convDirect vs Winograd, 1 / 2 threads) 91/139 vs 81/104 on
// 64×56×56 (so 64 channels stay out), 92/158 vs 95/175 on 128×28×28 and 90/156 vs 113/196 on 256×14×14.
var (
	winoMinCh     = 128
	winoMinPixels = 14 * 14
)

// winoWeights are the transformed filters: 16 A operands U[e] (M × C) in the micro-kernel's packed layout.
type winoWeights struct {
	kern *ukernel
	u    [winoA2][]float32
}

// packWinograd transforms OIHW 3×3 weights (M × C × 3 × 3) into U[e] = (G·g·Gᵀ)[e] (in float64, since it runs
// once) and packs each as a GEMM A.
func packWinograd(kern *ukernel, m, c int, w []float32) *winoWeights {
	ww := &winoWeights{kern: kern}
	plain := make([]float32, m*c) // one U[e], row-major M × C, before packing
	for e := 0; e < winoA2; e++ {
		r, s := e/winoAlpha, e%winoAlpha
		for o := 0; o < m; o++ {
			for i := 0; i < c; i++ {
				f := w[(o*c+i)*9 : (o*c+i)*9+9]
				var u float64
				for a := 0; a < 3; a++ {
					for b := 0; b < 3; b++ {
						u += winoG[r][a] * float64(f[a*3+b]) * winoG[s][b]
					}
				}
				plain[o*c+i] = float32(u)
			}
		}
		ww.u[e] = make([]float32, c*roundUp(m, kern.mr))
		packA(plain, c, false, 1, 0, m, 0, c, kern.mr, ww.u[e])
	}
	return ww
}

// winoChunkBytes bounds the transformed input of one block of tile rows (16 × C × tiles floats), so V and the
// GEMM outputs of a block stay near L2 instead of streaming whole-image buffers through memory.
var winoChunkBytes = 1 << 20

// winogradConv computes y = act(conv(x, w) + bias) for a layer winogradFits accepts. Work goes in blocks of
// tile rows: input transform (tasks over channels), the 16 GEMMs (one task each), output transform (tasks over
// output channels). The transforms run over all tiles of a block at once as vector operations (tile tx reads
// input columns 2tx…2tx+3, i.e. even[tx], odd[tx], even[tx+1], odd[tx+1] of the row split into even and odd
// columns), so they use the SIMD elementwise kernels on vectors of a few hundred tiles: per tile row, on 7…28
// tiles, call overhead and scalar tails cost more than the GEMMs.
func winogradConv(r Runner, p ConvParams, x []float32, ww *winoWeights, bias []float32, act Activation, y []float32) {
	kern := ww.kern
	th, tw := ceilDiv(p.OH, 2), ceilDiv(p.OW, 2)
	rowsPer := max(1, min(th, winoChunkBytes/(4*winoA2*p.C*tw)))
	rowsPer = ceilDiv(th, ceilDiv(th, rowsPer)) // even blocks: 28 tile rows as 4×7, not 9+9+9+1
	maxTiles := rowsPer * tw
	vs := p.C * roundUp(maxTiles, kern.nr) // one V[e]: the block's tiles in nr-column panels over K = C
	msz := p.M * maxTiles                  // one M[e]: M × tiles, row-major
	vbuf := colPool.Get().(*[]float32)
	*vbuf = grow(*vbuf, winoA2*vs)
	mbuf := colPool.Get().(*[]float32)
	*mbuf = grow(*mbuf, winoA2*msz)
	v, mo := *vbuf, *mbuf
	hw, ohw := p.H*p.W, p.OH*p.OW
	cBlk, mBlk := max(1, ceilDiv(p.C, 8)), max(1, ceilDiv(p.M, 8))
	for n := 0; n < p.N; n++ {
		xn := x[n*p.C*hw : (n+1)*p.C*hw]
		yn := y[n*p.M*ohw : (n+1)*p.M*ohw]
		for ty0 := 0; ty0 < th; ty0 += rowsPer {
			ty1 := min(th, ty0+rowsPer)
			tiles := (ty1 - ty0) * tw
			r.Run(ceilDiv(p.C, cBlk), func(t int) {
				s := winoScratchPool.Get().(*[]float32)
				*s = grow(*s, 20*tiles)
				for c := t * cBlk; c < min(p.C, (t+1)*cBlk); c++ {
					winoInputBlock(&p, xn[c*hw:(c+1)*hw], ty0, ty1, tw, *s, v[c*kern.nr:], vs, p.C*kern.nr, kern.nr)
				}
				winoScratchPool.Put(s)
			})
			r.Run(winoA2, func(e int) {
				as := aSource{packed: ww.u[e]}
				bs := bSource{packed: v[e*vs : (e+1)*vs]}
				gemmTask(kern, 0, p.M, 0, tiles, p.C, &as, &bs, 0, mo[e*msz:], tiles, nil)
			})
			oh0, oh1 := ty0*2, min(p.OH, ty1*2)
			r.Run(ceilDiv(p.M, mBlk), func(t int) {
				s := winoScratchPool.Get().(*[]float32)
				*s = grow(*s, 10*tiles)
				for m := t * mBlk; m < min(p.M, (t+1)*mBlk); m++ {
					var b float32
					if bias != nil {
						b = bias[m]
					}
					plane := yn[m*ohw : (m+1)*ohw]
					winoOutputBlock(&p, mo[m*tiles:], msz, ty0, ty1, tw, b, *s, plane)
					act.Apply(plane[oh0*p.OW : oh1*p.OW])
				}
				winoScratchPool.Put(s)
			})
		}
	}
	colPool.Put(vbuf)
	colPool.Put(mbuf)
}

// winoScratchPool holds the per-task buffers of the transforms.
var winoScratchPool = sync.Pool{New: func() any { return new([]float32) }}

// winoInputBlock computes V = Bᵀ·d·B, Bᵀ = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1], for the tiles of tile rows
// [ty0, ty1) of one channel plane (tile i = (ty−ty0)·tw + tx) and writes V[e] of tile i to
// v[e*vs + (i/nr)*pstride + i%nr] (the packed B panels; v already points at this channel's row of the panel).
// s holds 20·tiles floats of scratch.
func winoInputBlock(p *ConvParams, plane []float32, ty0, ty1, tw int, s, v []float32, vs, pstride, nr int) {
	nt := (ty1 - ty0) * tw
	// e0, o0, e1, o1: input columns 2tx, 2tx+1, 2tx+2, 2tx+3 (relative to the padded origin) of every tile.
	e0, o0, e1, o1 := s[:nt], s[nt:2*nt], s[2*nt:3*nt], s[3*nt:4*nt]
	cols := s[4*nt : 20*nt] // d·B: row a, column j of every tile at cols[(a*4+j)*nt:]
	for a := 0; a < winoAlpha; a++ {
		for ty := ty0; ty < ty1; ty++ {
			base := (ty - ty0) * tw
			ih := ty*2 - p.PadTop + a
			if ih < 0 || ih >= p.H {
				clear(e0[base : base+tw])
				clear(o0[base : base+tw])
				clear(e1[base : base+tw])
				clear(o1[base : base+tw])
				continue
			}
			row := plane[ih*p.W : (ih+1)*p.W]
			// Column pair k is tile k's (e0, o0) and tile k−1's (e1, o1).
			for k := 0; k <= tw; k++ {
				iw := 2*k - p.PadLeft
				var ev, od float32
				if iw >= 0 && iw < p.W {
					ev = row[iw]
				}
				if iw+1 >= 0 && iw+1 < p.W {
					od = row[iw+1]
				}
				if k < tw {
					e0[base+k], o0[base+k] = ev, od
				}
				if k > 0 {
					e1[base+k-1], o1[base+k-1] = ev, od
				}
			}
		}
		// d·B per row: columns d0-d2, d1+d2, d2-d1, d1-d3 of each tile, as vectors over tiles.
		c := cols[a*4*nt : (a+1)*4*nt]
		Sub(c[:nt], e0, e1)
		Add(c[nt:2*nt], o0, e1)
		Sub(c[2*nt:3*nt], e1, o0)
		Sub(c[3*nt:], o0, o1)
	}
	// Bᵀ·(d·B): the same combination down the 4 rows, written panel run by panel run.
	for j := 0; j < winoAlpha; j++ {
		r0, r1 := cols[j*nt:(j+1)*nt], cols[(4+j)*nt:(5+j)*nt]
		r2, r3 := cols[(8+j)*nt:(9+j)*nt], cols[(12+j)*nt:(13+j)*nt]
		for k := 0; k < nt; {
			run := min(nt-k, nr-k%nr)
			off := (k/nr)*pstride + k%nr
			Sub(v[(0*4+j)*vs+off:(0*4+j)*vs+off+run], r0[k:k+run], r2[k:k+run])
			Add(v[(1*4+j)*vs+off:(1*4+j)*vs+off+run], r1[k:k+run], r2[k:k+run])
			Sub(v[(2*4+j)*vs+off:(2*4+j)*vs+off+run], r2[k:k+run], r1[k:k+run])
			Sub(v[(3*4+j)*vs+off:(3*4+j)*vs+off+run], r1[k:k+run], r3[k:k+run])
			k += run
		}
	}
}

// winoOutputBlock computes Y = Aᵀ·M·A + bias, Aᵀ = [1 1 1 0; 0 1 -1 -1], for the tiles of tile rows [ty0, ty1)
// of one output channel and writes output rows 2ty0 … 2ty1−1 of plane (clipped to OH × OW). M[e] of tile i is
// mm[e*ms+i]. s holds 10·tiles floats of scratch.
func winoOutputBlock(p *ConvParams, mm []float32, ms, ty0, ty1, tw int, bias float32, s, plane []float32) {
	nt := (ty1 - ty0) * tw
	t := s[:8*nt] // Aᵀ·M: rows 0 and 1, columns j, each a vector over tiles
	for j := 0; j < winoAlpha; j++ {
		m0, m1 := mm[j*ms:j*ms+nt], mm[(4+j)*ms:(4+j)*ms+nt]
		m2, m3 := mm[(8+j)*ms:(8+j)*ms+nt], mm[(12+j)*ms:(12+j)*ms+nt]
		t0, t1 := t[j*nt:(j+1)*nt], t[(4+j)*nt:(5+j)*nt]
		Add(t0, m0, m1)
		Add(t0, t0, m2)
		Sub(t1, m1, m2)
		Sub(t1, t1, m3)
	}
	y0, y1 := s[8*nt:9*nt], s[9*nt:10*nt]
	for i := 0; i < 2; i++ {
		c := t[i*4*nt : (i+1)*4*nt]
		Add(y0, c[:nt], c[nt:2*nt])
		Add(y0, y0, c[2*nt:3*nt])
		Sub(y1, c[nt:2*nt], c[2*nt:3*nt])
		Sub(y1, y1, c[3*nt:])
		for ty := ty0; ty < ty1; ty++ {
			oh := ty*2 + i
			if oh >= p.OH {
				break
			}
			row := plane[oh*p.OW : (oh+1)*p.OW]
			z0, z1 := y0[(ty-ty0)*tw:(ty-ty0+1)*tw], y1[(ty-ty0)*tw:(ty-ty0+1)*tw]
			// Interleave the even and odd output columns, adding the bias on the way.
			for k := 0; k < p.OW/2; k++ {
				row[2*k], row[2*k+1] = z0[k]+bias, z1[k]+bias
			}
			if p.OW%2 == 1 {
				row[p.OW-1] = z0[tw-1] + bias
			}
		}
	}
}

// winograd returns the Winograd-transformed weights, transforming them on first use.
func (cw *ConvWeights) winograd() *winoWeights {
	cw.wOnce.Do(func() { cw.wino = packWinograd(cw.kern, cw.p.M, cw.p.C, cw.w) })
	return cw.wino
}
