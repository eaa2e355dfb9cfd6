package kernels

import (
	"math"
	"runtime"
	"sync"
)

// Sgemm computes C = alpha·op(A)·op(B) + beta·C for row-major matrices, where op(X) is X or Xᵀ.
// op(A) is m×k, op(B) is k×n, C is m×n; lda, ldb, ldc are row strides. beta == 0 ignores C's old contents (NaN too).
// Work is split across r.
//
// The product follows Goto & van de Geijn, "Anatomy of High-Performance Matrix Multiplication" (TOMS 2008):
// blocks of A and B are packed into micro-panels and an mr×nr register-tiled micro-kernel does the flops.
func Sgemm(r Runner, transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	kern := kernelFor(level)
	as := aSource{a: a, lda: lda, trans: transA, alpha: alpha}
	bs := bSource{b: b, ldb: ldb, trans: transB}
	gemm(r, kern, m, n, k, &as, &bs, beta, c, ldc, nil)
}

// Cache blocking. kcBlock bounds the k extent of one packed panel pair; mcBlock rows of packed A (a multiple of every
// mr) stay in L2 while the B micro-panels stream through L1; ncBlock bounds the packed B block. irOuter swaps the
// two innermost loops (A micro-panel resident in L1 instead of B). On the Zen 4 EPYC (32 KiB L1d, 1 MiB L2) these
// values measured best or tied among kc 128–576, mc 72–288 and both loop orders; tests may change them.
var (
	kcBlock = 256
	mcBlock = 144
	ncBlock = 3072
	irOuter = false
)

// ukernel is a register-tiled micro-kernel: fn computes the mr×nr tile C = Ap·Bp (or C += Ap·Bp when acc) from an
// A micro-panel (kc groups of mr values) and a B micro-panel (kc rows of nr values); C has row stride ldc.
type ukernel struct {
	mr, nr int
	fn     kernelFn
	// edges compute only the first rows of an mr-row panel, for the last panel of a matrix whose row count is not
	// a multiple of mr; sorted by rows.
	edges []edgeKernel
	// row computes a 1×nr tile from a single A row (a 1-row panel, i.e. a[p] for p < kc): the GEMV kernel.
	row kernelFn
}

type kernelFn func(kc int, a, b, c []float32, ldc int, acc bool, ep *tileEp)

// tileEp is the epilogue a micro-kernel fuses into its stores while the tile is still in registers: add bias[i]
// to row i (bias nil: none), then clamp to [lo, hi] when clamp is set. Without it a small-K GEMM (MobileNet's
// 1×1 convolutions, K = 16…96) spends more time on separate bias and activation calls per tile row than on flops.
type tileEp struct {
	bias   []float32
	clamp  bool
	lo, hi float32
}

// tileEp returns the fusable form of ep, or false when ep needs the general epilogue (column bias, other
// activations).
func (ep *Epilogue) tileEp() (tileEp, bool) {
	if ep == nil || (ep.Bias != nil && !ep.BiasPerRow) {
		return tileEp{}, false
	}
	switch ep.Act.Kind {
	case ActNone:
		return tileEp{}, true
	case ActRelu:
		return tileEp{clamp: true, lo: 0, hi: float32(math.Inf(1))}, true
	case ActClip:
		return tileEp{clamp: true, lo: ep.Act.Alpha, hi: ep.Act.Beta}, true
	}
	return tileEp{}, false
}

type edgeKernel struct {
	rows int
	fn   kernelFn
}

// forRows returns the smallest kernel that covers mm ≤ mr rows and how many rows it writes.
func (k *ukernel) forRows(mm int) (kernelFn, int) {
	for _, e := range k.edges {
		if e.rows >= mm {
			return e.fn, e.rows
		}
	}
	return k.fn, k.mr
}

// genericKernel is the pure-Go micro-kernel (purego builds, CPUs without AVX2): correct first, fast second;
// a small 4×8 tile keeps the padding waste on edge tiles low.
var genericKernel = &ukernel{mr: 4, nr: 8, fn: func(kc int, a, b, c []float32, ldc int, acc bool, ep *tileEp) {
	microGeneric(4, 8, kc, a, b, c, ldc, acc, ep)
}, row: func(kc int, a, b, c []float32, ldc int, acc bool, ep *tileEp) {
	microGeneric(1, 8, kc, a, b, c, ldc, acc, ep)
}}

// aSource is the left operand: either raw (a, lda, trans, alpha) or pre-packed into mr-row panels over the full K.
type aSource struct {
	a      []float32
	lda    int
	trans  bool
	alpha  float32
	packed []float32 // panel ip starts at ip*K*mr; nil when raw
}

// bSource is the right operand: raw (b, ldb, trans) or pre-packed into nr-column panels over the full K.
type bSource struct {
	b      []float32
	ldb    int
	trans  bool
	packed []float32 // panel jp starts at jp*K*nr; nil when raw
}

// gemmScratch holds one task's packing buffers; tasks take them from a pool so steady-state runs allocate nothing.
type gemmScratch struct {
	a, b, tile []float32
	ep         tileEp // kept here so passing it to the micro-kernel allocates nothing
}

var scratchPool = sync.Pool{New: func() any { return new(gemmScratch) }}

func grow(s []float32, n int) []float32 {
	if cap(s) < n {
		return make([]float32, n)
	}
	return s[:n]
}

// gemm computes C = op(A)·op(B) + beta·C and applies ep, splitting the C tile space across r.
func gemm(r Runner, kern *ukernel, m, n, k int, as *aSource, bs *bSource, beta float32, c []float32, ldc int, ep *Epilogue) {
	if m <= 0 || n <= 0 {
		return
	}
	if k <= 0 {
		for i := 0; i < m; i++ {
			row := c[i*ldc : i*ldc+n]
			if beta == 0 {
				clear(row)
			} else if beta != 1 {
				MulScalar(row, row, beta)
			}
			ep.applyRows(row, i, 0)
		}
		return
	}
	rt, ct := 1, 1
	if r != nil {
		rt, ct = taskGrid(m, n, k, kern, as.packed != nil, bs.packed != nil, runtime.GOMAXPROCS(0))
	}
	// Tasks own whole mr-row and nr-column panels (pre-packed panels are never split), dealt out evenly: stripe i
	// of rt gets panels [i·P/rt, (i+1)·P/rt), so no thread is left with a short remainder stripe.
	rowPanels, colPanels := ceilDiv(m, kern.mr), ceilDiv(n, kern.nr)
	r.Run(rt*ct, func(t int) {
		ti, tj := t/ct, t%ct
		i0, i1 := ti*rowPanels/rt*kern.mr, min(m, (ti+1)*rowPanels/rt*kern.mr)
		j0, j1 := tj*colPanels/ct*kern.nr, min(n, (tj+1)*colPanels/ct*kern.nr)
		gemmTask(kern, i0, i1, j0, j1, k, as, bs, beta, c, ldc, ep)
	})
}

// Task-grid cost model, in micro-kernel multiply-adds: packing one element of A or B costs about packMACs
// (a strided load and a store against mr·nr FMAs per k step shared by a tile), and handing a task to a thread
// about taskMACs (~2 µs of claiming, scratch and cache warm-up at ~100 GFLOP/s).
const (
	packMACs = 8
	taskMACs = 100_000
)

// taskGrid picks how many row and column stripes to cut C into for threads workers that claim tasks in order.
// Every task packs the parts of A and B it reads (unless pre-packed), so cuts duplicate packing work: row
// stripes each pack all their columns of B, column stripes all their rows of A. Among grids of at most 16 tasks
// it takes the one whose greedy schedule over the threads finishes first under that cost model, counting edge
// panels as whole ones (the micro-kernel computes them so) — for the small-N layers of CNNs (N = 49…784) this
// often means cutting rows and columns both, since a few nr-wide column panels do not divide evenly.
func taskGrid(m, n, k int, kern *ukernel, aPacked, bPacked bool, threads int) (rows, cols int) {
	rowPanels, colPanels := ceilDiv(m, kern.mr), ceilDiv(n, kern.nr)
	if threads <= 1 || rowPanels*colPanels <= 1 || m*n*k < 2*taskMACs {
		return 1, 1
	}
	// At most 16 tasks, so more than 16 threads never change the schedule; the search stays a few µs.
	var finishes [16]int
	threads = min(threads, len(finishes))
	maxTasks := min(16, 4*threads)
	best := -1
	finish := finishes[:threads]
	for rt := 1; rt <= min(rowPanels, maxTasks); rt++ {
		for ct := 1; ct <= min(colPanels, maxTasks/rt); ct++ {
			clear(finish)
			for t := 0; t < rt*ct; t++ {
				ti, tj := t/ct, t%ct
				rp := (ti+1)*rowPanels/rt - ti*rowPanels/rt
				cp := (tj+1)*colPanels/ct - tj*colPanels/ct
				cost := taskMACs + rp*cp*kern.mr*kern.nr*k
				if !aPacked {
					cost += packMACs * rp * kern.mr * k
				}
				if !bPacked {
					cost += packMACs * cp * kern.nr * k
				}
				w := t // one task per thread while they last
				if t >= threads {
					w = 0 // then the thread that frees up first claims the next one
					for i := range finish {
						if finish[i] < finish[w] {
							w = i
						}
					}
				}
				finish[w] += cost
			}
			span := 0
			for _, f := range finish {
				span = max(span, f)
			}
			if best < 0 || span < best {
				best, rows, cols = span, rt, ct
			}
		}
	}
	return rows, cols
}

func ceilDiv(a, b int) int { return (a + b - 1) / b }
func roundUp(a, b int) int { return ceilDiv(a, b) * b }

// gemmTask computes rows [i0,i1) × columns [j0,j1) of C in the Goto loop order jc → pc → ic → jr → ir.
func gemmTask(kern *ukernel, i0, i1, j0, j1, k int, as *aSource, bs *bSource, beta float32, c []float32, ldc int, ep *Epilogue) {
	mr, nr := kern.mr, kern.nr
	s := scratchPool.Get().(*gemmScratch)
	defer scratchPool.Put(s)
	s.tile = grow(s.tile, mr*nr)
	if beta != 0 && beta != 1 {
		for i := i0; i < i1; i++ {
			row := c[i*ldc+j0 : i*ldc+j1]
			MulScalar(row, row, beta)
		}
	}
	mcMax := min(roundUp(mcBlock, mr), roundUp(i1-i0, mr))
	var fuse bool
	s.ep, fuse = ep.tileEp()
	ncStep := roundUp(ncBlock, nr) // pre-packed B panels must not be split
	for jc := j0; jc < j1; jc += ncStep {
		nc := min(ncStep, j1-jc)
		ncPad := roundUp(nc, nr)
		for pc := 0; pc < k; pc += kcBlock {
			kc := min(kcBlock, k-pc)
			var bp []float32
			bStride := kc * nr
			if bs.packed != nil {
				bp = bs.packed[(jc/nr)*k*nr+pc*nr:]
				bStride = k * nr
			} else {
				s.b = grow(s.b, kc*ncPad)
				bp = s.b
				packB(bs.b, bs.ldb, bs.trans, pc, kc, jc, nc, nr, bp)
			}
			acc := pc > 0 || beta != 0
			last := pc+kc == k
			for ic := i0; ic < i1; ic += mcMax {
				mc := min(mcMax, i1-ic)
				var ap []float32
				aStride := kc * mr
				if as.packed != nil {
					ap = as.packed[(ic/mr)*k*mr+pc*mr:]
					aStride = k * mr
				} else {
					s.a = grow(s.a, kc*roundUp(mc, mr))
					ap = s.a
					packA(as.a, as.lda, as.trans, as.alpha, ic, mc, pc, kc, mr, ap)
				}
				tile := func(jr, ir int) {
					bpan := bp[(jr/nr)*bStride:]
					nn := min(nr, nc-jr)
					apan := ap[(ir/mr)*aStride:]
					mm := min(mr, mc-ir)
					off := (ic+ir)*ldc + jc + jr
					fn, rows := kern.forRows(mm)
					// The micro-kernel applies the epilogue itself on the last K block when it writes exactly the
					// tile's rows (so the bias slice covers them) and, on edge columns, computes it from scratch.
					var tep *tileEp
					if last && fuse && rows == mm && (nn == nr || !acc) {
						tep = &s.ep
						if ep.Bias != nil {
							tep.bias = ep.Bias[ic+ir : ic+ir+mm]
						}
					}
					if rows == mm && nn == nr {
						fn(kc, apan, bpan, c[off:], ldc, acc, tep)
					} else {
						// Edge tile: compute it into scratch and copy the valid part.
						fn(kc, apan, bpan, s.tile, nr, false, tep)
						for i := 0; i < mm; i++ {
							dst := c[off+i*ldc : off+i*ldc+nn]
							src := s.tile[i*nr : i*nr+nn]
							if acc {
								Add(dst, dst, src)
							} else {
								copy(dst, src)
							}
						}
					}
					if last && ep != nil && tep == nil {
						// Unfused epilogue: the tile was just written and is still in L1.
						for i := 0; i < mm; i++ {
							ep.applyRows(c[off+i*ldc:off+i*ldc+nn], ic+ir+i, jc+jr)
						}
					}
				}
				if irOuter {
					// The A micro-panel stays in L1 while B micro-panels stream from L2.
					for ir := 0; ir < mc; ir += mr {
						for jr := 0; jr < nc; jr += nr {
							tile(jr, ir)
						}
					}
				} else {
					// The B micro-panel stays in L1 while A micro-panels stream from L2.
					for jr := 0; jr < nc; jr += nr {
						for ir := 0; ir < mc; ir += mr {
							tile(jr, ir)
						}
					}
				}
			}
		}
	}
}

// applyRows applies the epilogue to row segment x, which holds C(row, col0 …).
func (ep *Epilogue) applyRows(x []float32, row, col0 int) {
	if ep == nil {
		return
	}
	if ep.Bias != nil {
		if ep.BiasPerRow {
			AddScalar(x, x, ep.Bias[row])
		} else {
			Add(x, x, ep.Bias[col0:col0+len(x)])
		}
	}
	ep.Act.Apply(x)
}

// packA copies alpha·op(A)[ic:ic+mc, pc:pc+kc] into mr-row micro-panels: panel ip holds, for each p, the mr values
// of column p. Rows past mc are zero so edge tiles need no special kernel.
func packA(a []float32, lda int, trans bool, alpha float32, ic, mc, pc, kc, mr int, dst []float32) {
	for ip := 0; ip*mr < mc; ip++ {
		pan := dst[ip*kc*mr : (ip+1)*kc*mr]
		rows := min(mr, mc-ip*mr)
		if rows < mr {
			clear(pan)
		}
		i0 := ic + ip*mr
		if trans {
			// op(A)ᵀ is row-major here: each k step's mr values are contiguous in A.
			for p := 0; p < kc; p++ {
				src := a[(pc+p)*lda+i0 : (pc+p)*lda+i0+rows]
				dst := pan[p*mr : p*mr+rows]
				for r, v := range src {
					dst[r] = alpha * v
				}
			}
			continue
		}
		if packAPanelAsm(pan, a[i0*lda+pc:], lda, rows, mr, kc, alpha) {
			continue
		}
		for r := 0; r < rows; r++ {
			i := i0 + r
			src := a[i*lda+pc : i*lda+pc+kc]
			for p, v := range src {
				pan[p*mr+r] = alpha * v
			}
		}
	}
}

// packB copies op(B)[pc:pc+kc, jc:jc+nc] into nr-column micro-panels: panel jp holds kc rows of nr values.
// Columns past nc are zero.
func packB(b []float32, ldb int, trans bool, pc, kc, jc, nc, nr int, dst []float32) {
	for jp := 0; jp*nr < nc; jp++ {
		pan := dst[jp*kc*nr : (jp+1)*kc*nr]
		cols := min(nr, nc-jp*nr)
		j := jc + jp*nr
		if trans {
			if cols < nr {
				clear(pan)
			}
			for jj := 0; jj < cols; jj++ {
				src := b[(j+jj)*ldb+pc : (j+jj)*ldb+pc+kc]
				for p, v := range src {
					pan[p*nr+jj] = v
				}
			}
			continue
		}
		for p := 0; p < kc; p++ {
			row := pan[p*nr : p*nr+nr]
			n := copy(row, b[(pc+p)*ldb+j:(pc+p)*ldb+j+cols])
			clear(row[n:])
		}
	}
}
