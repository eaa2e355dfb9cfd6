package turboquant

import (
	"fmt"
	"math"
	"sort"
)

// Quantizer is TurboQuant_mse at a possibly fractional bit rate (arXiv 2504.19874 §4.3): the channels are split into
// an outlier set quantized at ⌈b⌉ bits and the rest at ⌊b⌋ bits, each by its own TurboQuant_mse instance with its
// own rotation and norm. For b = 2.5 at d = 128, 64 channels get 3 bits and 64 get 2 (the paper's example gives
// 32 channels 3 bits and 96 channels 2 bits, which averages 2.25; we keep the stated rate exact instead).
type Quantizer struct {
	d    int
	bits float64
	segs []segment
}

type segment struct {
	ch []int // channels of the input vector, ascending
	q  *MSE
}

// HighChannels is the number of channels quantized at ⌈bits⌉ for a d-dimensional vector at the given rate.
func HighChannels(d int, bits float64) int {
	lo := math.Floor(bits)
	return int(math.Round((bits - lo) * float64(d)))
}

// fractional reports whether the rate splits d channels into two groups.
func fractional(d int, bits float64) bool {
	k := HighChannels(d, bits)
	return k != 0 && k != d
}

// NewQuantizer builds a d-dimensional quantizer at bits per coordinate (1 ≤ bits ≤ 8). For fractional rates
// outliers must list exactly HighChannels(d, bits) distinct channels (see OutlierChannels); otherwise it is ignored.
func NewQuantizer(d int, bits float64, kind RotationKind, seed uint64, outliers []int) (*Quantizer, error) {
	if math.IsNaN(bits) || bits < 1 || bits > MaxBits {
		return nil, fmt.Errorf("turboquant: %v bits per coordinate: need 1…%d: %w", bits, MaxBits, ErrInvalid)
	}
	if d < 2 {
		return nil, fmt.Errorf("turboquant: dimension %d: need d ≥ 2: %w", d, ErrInvalid)
	}
	lo := int(math.Floor(bits))
	nHi := HighChannels(d, bits)
	all := make([]int, d)
	for i := range all {
		all[i] = i
	}
	z := &Quantizer{d: d, bits: bits}
	if nHi == 0 || nHi == d {
		b := lo
		if nHi == d {
			b++
		}
		q, err := NewMSE(d, b, kind, seed)
		if err != nil {
			return nil, err
		}
		z.segs = []segment{{ch: all, q: q}}
		return z, nil
	}
	if nHi < 2 || d-nHi < 2 {
		return nil, fmt.Errorf("turboquant: %v bits at d=%d leaves a channel group below 2 channels: %w", bits, d, ErrInvalid)
	}
	if len(outliers) != nHi {
		return nil, fmt.Errorf("turboquant: %v bits at d=%d needs %d outlier channels, got %d: %w", bits, d, nHi, len(outliers), ErrInvalid)
	}
	isHi := make([]bool, d)
	for _, c := range outliers {
		if c < 0 || c >= d || isHi[c] {
			return nil, fmt.Errorf("turboquant: outlier channel %d out of range or repeated: %w", c, ErrInvalid)
		}
		isHi[c] = true
	}
	var hi, rest []int
	for c := 0; c < d; c++ {
		if isHi[c] {
			hi = append(hi, c)
		} else {
			rest = append(rest, c)
		}
	}
	qh, err := NewMSE(nHi, lo+1, kind, seed)
	if err != nil {
		return nil, err
	}
	ql, err := NewMSE(d-nHi, lo, kind, seed+1)
	if err != nil {
		return nil, err
	}
	z.segs = []segment{{ch: hi, q: qh}, {ch: rest, q: ql}}
	return z, nil
}

// OutlierChannels returns the k channels of largest root-mean-square magnitude over samples, ascending.
func OutlierChannels(samples [][]float32, d, k int) []int {
	ms := make([]float64, d)
	for _, s := range samples {
		for i := 0; i < d && i < len(s); i++ {
			ms[i] += float64(s[i]) * float64(s[i])
		}
	}
	idx := make([]int, d)
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return ms[idx[a]] > ms[idx[b]] })
	out := append([]int(nil), idx[:k]...)
	sort.Ints(out)
	return out
}

// Dim is the vector length.
func (z *Quantizer) Dim() int { return z.d }

// Bits is the average bits per coordinate.
func (z *Quantizer) Bits() float64 { return z.bits }

// BytesPerVector is the real storage of one vector: packed codes plus one float32 norm per channel group.
func (z *Quantizer) BytesPerVector() int {
	n := 0
	for _, s := range z.segs {
		n += 2*s.q.CodeWords() + 4
	}
	return n
}

// qscratch is per-call scratch for segment encoding.
type qscratch struct{ sub, buf []float32 }

func (z *Quantizer) scratch() *qscratch {
	n := z.d + 15
	return &qscratch{sub: make([]float32, n), buf: make([]float32, 3*n)}
}

// encodeSeg writes segment s's code of x (validated) and returns its norm.
func (z *Quantizer) encodeSeg(s int, code []uint16, x []float32, sc *qscratch) float32 {
	sg := z.segs[s]
	sub := sc.sub[:len(sg.ch)]
	var n float64
	for i, c := range sg.ch {
		sub[i] = x[c]
		n += float64(x[c]) * float64(x[c])
	}
	nf := float32(math.Sqrt(n))
	sg.q.encode(code, sub, nf, sc.buf)
	return nf
}
