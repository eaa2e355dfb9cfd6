package turboquant

import (
	"fmt"
	"math"
	"sync"
)

// CacheConfig describes a quantized KV cache.
type CacheConfig struct {
	Dim       int          // head dimension
	KeyBits   float64      // bits per key coordinate, 1…8, fractional allowed (e.g. 2.5, 3.5)
	ValueBits float64      // bits per value coordinate
	Window    int          // most recent tokens kept in full precision
	Rotation  RotationKind // Hadamard (fast) or Dense
	Seed      uint64
	// KeyProd stores keys with TurboQuant_prod instead of TurboQuant_mse: per channel group a (b−1)-bit mse code
	// plus 1-bit QJL of the residual, so every attention logit is an unbiased estimate of q·k (the mse keys' known
	// shrinkage is divided out instead, which is unbiased only on average over keys).
	KeyProd bool
	// KeyOutliers / ValueOutliers fix the high-precision channels for fractional rates. When nil they are chosen
	// by magnitude from the tokens in the full-precision window when the first token leaves it.
	KeyOutliers, ValueOutliers []int
}

// Cache is a KV cache for one attention head whose older tokens are stored by TurboQuant_mse and whose last Window
// tokens stay in float32. Key scores divide out the mse variant's known shrinkage 1 − D_mse(b) per channel group, so
// that groups at different bit widths are weighed alike; values keep the MSE-optimal reconstruction. Attention is computed on the codes directly: the query is rotated once per channel group
// and scored against centroid tables, and values are accumulated in the rotated basis and rotated back once.
// Scores and Attention may run concurrently with each other (each call takes pooled scratch and allocates nothing
// once warm); Append must not run concurrently with anything. A Cache must not be copied.
type Cache struct {
	cfg    CacheConfig
	kq, vq *Quantizer // nil until the outlier channels are known
	n      int        // quantized tokens
	kc, vc [][]uint16 // per channel group, codes back to back
	kn, vn [][]float32
	kp     []*Prod    // KeyProd: one per key channel group, same channels and bits as kq's segments
	ks     [][]uint64 // KeyProd: QJL signs per group, back to back
	kr     [][]float32

	wk, wv       []float32 // ring of Window keys / values
	wstart, wlen int
	sc           *qscratch
	pool         sync.Pool // *attnScratch: Attention and Scores allocate nothing, and concurrent readers are safe
}

// attnScratch is one reader's buffers for Scores and Attention.
type attnScratch struct {
	p, tmp []float32 // scores, then weights; a second channel group's scores. Both padded to whole 16-token blocks
	w      []float32 // value weights of one channel group
	rot    []float32 // rotated query or value accumulator, the rotated-back result, the rotation's temporary
}

// padTokens is how many tokens' room the coded storage keeps past its end, so that the score kernel can run whole
// 16-token blocks and read past the last group (4 more words) straight from the cache.
const padTokens = 16

// scratch returns buffers for a cache of n tokens.
func (c *Cache) scratch(n int) *attnScratch {
	sc, _ := c.pool.Get().(*attnScratch)
	if sc == nil {
		g := c.cfg.Dim + 16
		sc = &attnScratch{rot: make([]float32, 3*g)}
	}
	if m := (n + 15) &^ 15; cap(sc.p) < m {
		// Grow with headroom: a decoding loop adds one token per call.
		sc.p, sc.tmp, sc.w = make([]float32, m+m/4+16), nil, nil
	}
	if c.kq != nil && len(c.kq.segs) > 1 && cap(sc.tmp) < cap(sc.p) {
		sc.tmp = make([]float32, cap(sc.p))
	}
	if cap(sc.w) < cap(sc.p) {
		sc.w = make([]float32, cap(sc.p))
	}
	return sc
}

// reserve returns s with room for extra more elements, growing geometrically.
func reserve[T any](s []T, extra int) []T {
	if cap(s)-len(s) >= extra {
		return s
	}
	g := make([]T, len(s), 2*len(s)+extra)
	copy(g, s)
	return g
}

// padStorage gives the coded storage its padTokens of room, for caches whose slices were built elsewhere (Load).
func (c *Cache) padStorage() {
	for _, p := range []struct {
		q     *Quantizer
		codes [][]uint16
		norms [][]float32
	}{{c.kq, c.kc, c.kn}, {c.vq, c.vc, c.vn}} {
		if p.q == nil || c.kp != nil && p.q == c.kq {
			continue
		}
		for s, sg := range p.q.segs {
			p.codes[s] = reserve(p.codes[s], padTokens*sg.q.CodeWords()+4)
			p.norms[s] = reserve(p.norms[s], padTokens)
		}
	}
}

// NewCache validates cfg and returns an empty cache.
func NewCache(cfg CacheConfig) (*Cache, error) {
	c := &Cache{cfg: cfg}
	if cfg.Window < 0 {
		return nil, fmt.Errorf("turboquant: cache window %d: %w", cfg.Window, ErrInvalid)
	}
	if cfg.Dim < 2 {
		return nil, fmt.Errorf("turboquant: cache dimension %d: need d ≥ 2: %w", cfg.Dim, ErrInvalid)
	}
	for _, b := range []float64{cfg.KeyBits, cfg.ValueBits} {
		if math.IsNaN(b) || b < 1 || b > MaxBits {
			return nil, fmt.Errorf("turboquant: %v bits per coordinate: need 1…%d: %w", b, MaxBits, ErrInvalid)
		}
	}
	if cfg.Window == 0 && (fractional(cfg.Dim, cfg.KeyBits) && cfg.KeyOutliers == nil ||
		fractional(cfg.Dim, cfg.ValueBits) && cfg.ValueOutliers == nil) {
		return nil, fmt.Errorf("turboquant: fractional bit rate with no window needs explicit outlier channels: %w", ErrInvalid)
	}
	if err := c.initQuantizers(cfg.KeyOutliers, cfg.ValueOutliers, false); err != nil {
		return nil, err
	}
	c.wk = make([]float32, cfg.Window*cfg.Dim)
	c.wv = make([]float32, cfg.Window*cfg.Dim)
	return c, nil
}

// initQuantizers builds kq and vq once their outlier channels are known (or not needed). With pick, missing outlier
// sets are chosen from the window contents.
func (c *Cache) initQuantizers(ko, vo []int, pick bool) error {
	d := c.cfg.Dim
	build := func(bits float64, out []int, seed uint64, win []float32) (*Quantizer, error) {
		k := HighChannels(d, bits)
		if fractional(d, bits) && out == nil {
			if !pick {
				return nil, nil
			}
			samples := make([][]float32, c.wlen)
			for i := range samples {
				j := (c.wstart + i) % c.cfg.Window
				samples[i] = win[j*d : (j+1)*d]
			}
			out = OutlierChannels(samples, d, k)
		}
		return NewQuantizer(d, bits, c.cfg.Rotation, seed, out)
	}
	var err error
	if c.kq == nil {
		if c.kq, err = build(c.cfg.KeyBits, ko, c.cfg.Seed, c.wk); err != nil {
			return err
		}
	}
	if c.vq == nil {
		if c.vq, err = build(c.cfg.ValueBits, vo, c.cfg.Seed+0x1000, c.wv); err != nil {
			return err
		}
	}
	if c.kq != nil && c.kc == nil {
		c.kc, c.kn = make([][]uint16, len(c.kq.segs)), make([][]float32, len(c.kq.segs))
		if c.cfg.KeyProd {
			c.ks, c.kr = make([][]uint64, len(c.kq.segs)), make([][]float32, len(c.kq.segs))
			for s, sg := range c.kq.segs {
				p, err := NewProd(len(sg.ch), sg.q.bits, c.cfg.Rotation, c.cfg.Seed+uint64(s))
				if err != nil {
					return err
				}
				c.kp = append(c.kp, p)
			}
		}
	}
	if c.vq != nil && c.vc == nil {
		c.vc, c.vn = make([][]uint16, len(c.vq.segs)), make([][]float32, len(c.vq.segs))
	}
	return nil
}

// Len is the number of tokens in the cache.
func (c *Cache) Len() int { return c.n + c.wlen }

// Quantized is the number of tokens stored as codes.
func (c *Cache) Quantized() int { return c.n }

// Bytes is the cache's storage: codes and norms of quantized tokens plus float32 window tokens.
func (c *Cache) Bytes() int {
	b := 8 * c.wlen * c.cfg.Dim
	if c.kq != nil {
		b += c.n * (c.KeyBytesPerVector() + c.vq.BytesPerVector())
	}
	return b
}

// KeyBytesPerVector is the storage of one quantized key (0 before the key quantizer exists).
func (c *Cache) KeyBytesPerVector() int {
	if c.kq == nil {
		return 0
	}
	if c.kp == nil {
		return c.kq.BytesPerVector()
	}
	n := 0
	for _, p := range c.kp {
		n += p.Bytes()
	}
	return n
}

// Append adds one token's key and value.
func (c *Cache) Append(k, v []float32) error {
	if _, err := checkVec(k, c.cfg.Dim); err != nil {
		return fmt.Errorf("key: %w", err)
	}
	if _, err := checkVec(v, c.cfg.Dim); err != nil {
		return fmt.Errorf("value: %w", err)
	}
	w, d := c.cfg.Window, c.cfg.Dim
	if w == 0 {
		return c.quantize(k, v)
	}
	if c.wlen == w {
		j := c.wstart
		if c.kq == nil || c.vq == nil {
			if err := c.initQuantizers(nil, nil, true); err != nil {
				return err
			}
		}
		if err := c.quantize(c.wk[j*d:(j+1)*d], c.wv[j*d:(j+1)*d]); err != nil {
			return err
		}
		c.wstart = (c.wstart + 1) % w
		c.wlen--
	}
	j := (c.wstart + c.wlen) % w
	copy(c.wk[j*d:], k)
	copy(c.wv[j*d:], v)
	c.wlen++
	return nil
}

// quantize appends a validated token to the coded region.
func (c *Cache) quantize(k, v []float32) error {
	if c.sc == nil {
		c.sc = c.kq.scratch()
	}
	sc := c.sc
	for s, sg := range c.kq.segs {
		if c.kp != nil {
			sub := sc.sub[:len(sg.ch)]
			for i, ch := range sg.ch {
				sub[i] = k[ch]
			}
			pc, err := c.kp[s].Encode(sub)
			if err != nil {
				return err
			}
			c.kc[s] = append(c.kc[s], pc.MSE...)
			c.ks[s] = append(c.ks[s], pc.Signs...)
			c.kn[s] = append(c.kn[s], pc.Norm)
			c.kr[s] = append(c.kr[s], pc.Resid)
			continue
		}
		w := sg.q.CodeWords()
		// The room past the end is zeroed by make and never written, so the new code's words start at zero.
		c.kc[s] = reserve(c.kc[s], (1+padTokens)*w+4)[:(c.n+1)*w]
		c.kn[s] = append(reserve(c.kn[s], 1+padTokens), c.kq.encodeSeg(s, c.kc[s][c.n*w:], k, sc))
	}
	for s, sg := range c.vq.segs {
		w := sg.q.CodeWords()
		c.vc[s] = reserve(c.vc[s], (1+padTokens)*w+4)[:(c.n+1)*w]
		c.vn[s] = append(reserve(c.vn[s], 1+padTokens), c.vq.encodeSeg(s, c.vc[s][c.n*w:], v, sc))
	}
	c.n++
	return nil
}

// Scores writes q·k_i for every cached key (quantized first, then window, oldest first) to out (length Len()).
func (c *Cache) Scores(out, q []float32) error {
	if _, err := checkVec(q, c.cfg.Dim); err != nil {
		return fmt.Errorf("query: %w", err)
	}
	if len(out) != c.Len() {
		return fmt.Errorf("turboquant: %d scores for a cache of %d tokens: %w", len(out), c.Len(), ErrInvalid)
	}
	sc := c.scratch(len(out))
	defer c.pool.Put(sc)
	p := sc.p[:len(out)]
	c.scores(p, q, sc)
	copy(out, p)
	return nil
}

// scores writes the scores to out, a prefix of sc.p: the kernels may write whole 16-token blocks past its end.
func (c *Cache) scores(out, q []float32, sc *attnScratch) {
	d := c.cfg.Dim
	if c.n > 0 {
		for s, sg := range c.kq.segs {
			dst := out[:c.n]
			if s > 0 {
				dst = sc.tmp[:c.n] // second channel group's scores, only for fractional rates
			}
			if c.kp != nil {
				c.kp[s].scores(dst, gather(sg.ch, q), c.kc[s], c.ks[s], c.kn[s], c.kr[s])
			} else {
				ry := rotateSubInto(sc.rot, sg, q)
				scoreCodesPadded(dst, ry, c.kc[s], c.kn[s], sg.q.groups, sg.q.bits, sg.q.tunb)
			}
			if s > 0 {
				for i, v := range dst {
					out[i] += v
				}
			}
		}
	}
	for i := 0; i < c.wlen; i++ {
		j := (c.wstart + i) % c.cfg.Window
		out[c.n+i] = dotF32(q, c.wk[j*d:(j+1)*d])
	}
}

// gather returns q's entries at channels ch.
func gather(ch []int, q []float32) []float32 {
	out := make([]float32, len(ch))
	for i, c := range ch {
		out[i] = q[c]
	}
	return out
}

// rotateSub gathers a segment's channels of q and rotates them, padded to the segment's group size.
func rotateSub(sg segment, q []float32) []float32 {
	return rotateSubInto(make([]float32, 3*sg.q.groups*16), sg, q)
}

// rotateSubInto is rotateSub with the result and its temporaries in buf (3·groups·16 floats).
func rotateSubInto(buf []float32, sg segment, q []float32) []float32 {
	g := sg.q.groups * 16
	clear(buf[:g]) // the padding past the segment's channels scores against code 0 and must be zero
	sub := buf[g : g+len(sg.ch)]
	for i, ch := range sg.ch {
		sub[i] = q[ch]
	}
	ry := buf[:g]
	sg.q.rot.apply(ry, sub, buf[2*g:])
	return ry
}

// Attention writes softmax(q·Kᵀ/√d)·V over every cached token to out.
func (c *Cache) Attention(out, q []float32) error {
	d := c.cfg.Dim
	if len(out) != d {
		return fmt.Errorf("turboquant: attention output of %d floats, want %d: %w", len(out), d, ErrInvalid)
	}
	if _, err := checkVec(q, d); err != nil {
		return fmt.Errorf("query: %w", err)
	}
	clear(out)
	n := c.Len()
	if n == 0 {
		return nil
	}
	sc := c.scratch(n)
	defer c.pool.Put(sc)
	p := sc.p[:n]
	c.scores(p, q, sc)
	// Unnormalized weights; the d outputs are divided by their sum at the end instead of the n weights.
	sum := expWeights(p, float32(1/math.Sqrt(float64(d))))
	if c.n > 0 {
		w := sc.w[:c.n]
		for s, sg := range c.vq.segs {
			g := sg.q.groups * 16
			acc := sc.rot[:g]
			clear(acc)
			vn := c.vn[s][:c.n]
			for i, v := range vn {
				w[i] = p[i] * v
			}
			accumCodesImpl(acc, w, c.vc[s], sg.q.groups, sg.q.bits, sg.q.tc32)
			res := sc.rot[g : g+len(sg.ch)]
			sg.q.rot.inverse(res, acc[:len(sg.ch)], sc.rot[2*g:])
			for i, ch := range sg.ch {
				out[ch] += res[i]
			}
		}
	}
	for i := 0; i < c.wlen; i++ {
		j := (c.wstart + i) % c.cfg.Window
		axpyF32(out, p[c.n+i], c.wv[j*d:(j+1)*d])
	}
	inv := 1 / sum
	for i := range out {
		out[i] *= inv
	}
	return nil
}

// AttentionF32 is the float32 reference: softmax(q·Kᵀ/√d)·V with K and V row-major n×d. It uses the same vector
// kernels as the quantized path, so benchmarks compare like with like.
func AttentionF32(out, q, keys, values []float32, d int) {
	n := len(keys) / d
	pp := getF32(n) // pooled like the quantized path's scratch, so neither side pays an allocation
	defer f32Pool.Put(pp)
	p := *pp
	for i := range p {
		p[i] = dotF32(q, keys[i*d:(i+1)*d])
	}
	sum := expWeights(p, float32(1/math.Sqrt(float64(d))))
	clear(out)
	for i, w := range p {
		axpyF32(out, w, values[i*d:(i+1)*d])
	}
	inv := 1 / sum
	for i := range out {
		out[i] *= inv
	}
}
