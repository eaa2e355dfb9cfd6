package turboquant

import (
	"math/rand/v2"
	"time"
)

// BenchRow is one throughput measurement.
type BenchRow struct {
	Op         string  `json:"op"`   // encode, decode, attention-quant, attention-fp32
	Impl       string  `json:"impl"` // avx512 or go
	Dim        int     `json:"dim"`
	Bits       float64 `json:"bits"`
	N          int     `json:"n"`
	VectorsSec float64 `json:"vectors_per_s"`
	CoordsSec  float64 `json:"coords_per_s"`
	GBSec      float64 `json:"gb_per_s"` // bytes of stored vectors read (or written, for encode) per second
}

// SIMDAvailable reports whether the AVX-512 kernels are built and usable.
func SIMDAvailable() bool { return useAVX512 }

// Bench times encode, decode and attention (quantized cache vs float32 cache of n tokens) with the vector kernels
// and, when they exist, again with the pure-Go twins. Each measurement runs for about minDur.
func Bench(d int, bits float64, n int, kind RotationKind, minDur time.Duration) ([]BenchRow, error) {
	impls := []bool{useAVX512}
	if useAVX512 {
		impls = append(impls, false)
	}
	saved := useAVX512
	defer func() { useAVX512 = saved }()
	rng := rand.New(rand.NewPCG(1, 2))
	keys := make([]float32, n*d)
	vals := make([]float32, n*d)
	for i := 0; i < n; i++ {
		kvLike(rng, keys[i*d:(i+1)*d])
		kvLike(rng, vals[i*d:(i+1)*d])
	}
	var out []int
	if fractional(d, bits) {
		out = OutlierChannels([][]float32{keys[:d]}, d, HighChannels(d, bits))
	}
	c, err := NewCache(CacheConfig{Dim: d, KeyBits: bits, ValueBits: bits, Rotation: kind, KeyOutliers: out, ValueOutliers: out})
	if err != nil {
		return nil, err
	}
	for i := 0; i < n; i++ {
		if err := c.Append(keys[i*d:(i+1)*d], vals[i*d:(i+1)*d]); err != nil {
			return nil, err
		}
	}
	z := c.kq
	bpv := float64(z.BytesPerVector())
	q := keys[:d]
	res := make([]float32, d)
	var rows []BenchRow
	for _, simd := range impls {
		useAVX512 = simd
		impl := "go"
		if simd {
			impl = "avx512"
		}
		row := func(op string, vecs int, el time.Duration, bytesPer float64) {
			s := el.Seconds()
			rows = append(rows, BenchRow{Op: op, Impl: impl, Dim: d, Bits: bits, N: n, VectorsSec: float64(vecs) / s,
				CoordsSec: float64(vecs*d) / s, GBSec: float64(vecs) * bytesPer / s / 1e9})
		}
		sc := z.scratch()
		codes := make([][]uint16, len(z.segs))
		for s, sg := range z.segs {
			codes[s] = make([]uint16, sg.q.CodeWords())
		}
		vecs, el := timeIt(minDur, func(i int) {
			x := keys[(i%n)*d : (i%n+1)*d]
			for s := range z.segs {
				z.encodeSeg(s, codes[s], x, sc)
			}
		})
		row("encode", vecs, el, bpv)
		dst := make([]float32, d)
		vecs, el = timeIt(minDur, func(i int) {
			for s, sg := range z.segs {
				_ = sg.q.Decode(dst[:len(sg.ch)], codes[s], 1)
			}
		})
		row("decode", vecs, el, bpv)
		calls, el := timeIt(minDur, func(int) { _ = c.Attention(res, q) })
		row("attention-quant", calls*n, el, bpv*2)
		calls, el = timeIt(minDur, func(int) { AttentionF32(res, q, keys, vals, d) })
		row("attention-fp32", calls*n, el, float64(8*d))
	}
	return rows, nil
}

// timeIt calls fn(0), fn(1), … until minDur has passed and returns the count and elapsed time.
func timeIt(minDur time.Duration, fn func(i int)) (int, time.Duration) {
	start := time.Now()
	i := 0
	for {
		for k := 0; k < 16; k++ {
			fn(i)
			i++
		}
		if el := time.Since(start); el >= minDur {
			return i, el
		}
	}
}
