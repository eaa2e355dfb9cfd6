package turboquant

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// kvOffset is a fixed per-channel offset of the synthetic key data.
var kvOffset = func() []float64 {
	o := make([]float64, 4096)
	for i := range o {
		o[i] = 0.5 * math.Sin(float64(i))
	}
	return o
}()

// kvLike fills x with "real-looking" key data: Gaussian channels, every 16th channel (from 3) an outlier with 8×
// the scale, and a per-channel offset — the structure reported for LLM key caches (KIVI, KVQuant).
func kvLike(rng *rand.Rand, x []float32) {
	for i := range x {
		scale := 1.0
		if i%16 == 3 {
			scale = 8
		}
		x[i] = float32(scale*rng.NormFloat64() + kvOffset[i%len(kvOffset)])
	}
}

// NIAHConfig sets up a synthetic needle-in-a-haystack retrieval test.
type NIAHConfig struct {
	Dim, N, Trials int
	Bits           float64
	// Margin is how far the needle's true attention logit sits above the best haystack logit, in standard
	// deviations of the haystack logits (the best of 32k Gaussian logits is itself ≈ 4.1 deviations out).
	Margin   float64
	Rotation RotationKind
	Seed     uint64
	KeyProd  bool // keys stored by TurboQuant_prod instead of TurboQuant_mse
}

// NIAHResult counts the trials where the needle stayed the top attention score on the quantized cache.
type NIAHResult struct {
	Bits   float64 `json:"bits"`
	N      int     `json:"n"`
	Trials int     `json:"trials"`
	Hits   int     `json:"hits"`
	Rate   float64 `json:"rate"`
	Margin float64 `json:"margin"`
	Bytes  int     `json:"key_bytes_per_vector"`
	Keys   string  `json:"keys"` // mse or prod
}

// NIAH plants a needle key among N−1 haystack keys and checks that, with keys stored at cfg.Bits, the needle still
// gets the largest attention score for a random query. Each trial draws a new query and needle; the needle is
// built so that its exact logit is the haystack maximum plus Margin haystack standard deviations.
func NIAH(cfg NIAHConfig) (NIAHResult, error) {
	d := cfg.Dim
	if cfg.N < 2 || cfg.Trials < 1 || !(cfg.Margin > 0) {
		return NIAHResult{}, fmt.Errorf("turboquant: niah needs N ≥ 2, trials ≥ 1, margin > 0: %w", ErrInvalid)
	}
	rng := rand.New(rand.NewPCG(cfg.Seed, 99))
	hay := make([]float32, (cfg.N-1)*d)
	for i := 0; i < cfg.N-1; i++ {
		kvLike(rng, hay[i*d:(i+1)*d])
	}
	var out []int
	if fractional(d, cfg.Bits) {
		samples := make([][]float32, min(cfg.N-1, 1024))
		for i := range samples {
			samples[i] = hay[i*d : (i+1)*d]
		}
		out = OutlierChannels(samples, d, HighChannels(d, cfg.Bits))
	}
	c, err := NewCache(CacheConfig{Dim: d, KeyBits: cfg.Bits, ValueBits: 1, Rotation: cfg.Rotation, Seed: cfg.Seed,
		KeyOutliers: out, ValueOutliers: nil, KeyProd: cfg.KeyProd})
	if err != nil {
		return NIAHResult{}, err
	}
	zero := make([]float32, d)
	for i := 0; i < cfg.N-1; i++ {
		if err := c.Append(hay[i*d:(i+1)*d], zero); err != nil {
			return NIAHResult{}, err
		}
	}
	res := NIAHResult{Bits: cfg.Bits, N: cfg.N, Trials: cfg.Trials, Margin: cfg.Margin, Bytes: c.KeyBytesPerVector(),
		Keys: "mse"}
	if cfg.KeyProd {
		res.Keys = "prod"
	}
	q := make([]float32, d)
	needle := make([]float32, d)
	exact := make([]float32, cfg.N-1)
	quant := make([]float32, cfg.N-1)
	for tr := 0; tr < cfg.Trials; tr++ {
		var qq float64
		for i := range q {
			q[i] = float32(rng.NormFloat64())
			qq += float64(q[i]) * float64(q[i])
		}
		var sum, sumsq float64
		best := math.Inf(-1)
		for i := range exact {
			s := dotF32(q, hay[i*d:(i+1)*d])
			exact[i] = s
			sum += float64(s)
			sumsq += float64(s) * float64(s)
			best = math.Max(best, float64(s))
		}
		mean := sum / float64(len(exact))
		sd := math.Sqrt(math.Max(sumsq/float64(len(exact))-mean*mean, 0))
		kvLike(rng, needle)
		alpha := (best + cfg.Margin*sd - float64(dotF32(q, needle))) / qq
		for i := range needle {
			needle[i] += float32(alpha) * q[i]
		}
		if err := c.Scores(quant, q); err != nil {
			return res, err
		}
		ns, err := c.scoreKey(q, needle)
		if err != nil {
			return res, err
		}
		hit := true
		for _, s := range quant {
			if s >= ns {
				hit = false
				break
			}
		}
		if hit {
			res.Hits++
		}
	}
	res.Rate = float64(res.Hits) / float64(res.Trials)
	return res, nil
}

// scoreKey quantizes k with the cache's key quantizer and returns its estimated score against q, exactly as if k
// were a cached token.
func (c *Cache) scoreKey(q, k []float32) (float32, error) {
	if _, err := checkVec(k, c.cfg.Dim); err != nil {
		return 0, err
	}
	sc := c.kq.scratch()
	var total float32
	for s, sg := range c.kq.segs {
		if c.kp != nil {
			pc, err := c.kp[s].Encode(gather(sg.ch, k))
			if err != nil {
				return 0, err
			}
			var out [1]float32
			c.kp[s].scores(out[:], gather(sg.ch, q), pc.MSE, pc.Signs, []float32{pc.Norm}, []float32{pc.Resid})
			total += out[0]
			continue
		}
		code := make([]uint16, sg.q.CodeWords())
		n := c.kq.encodeSeg(s, code, k, sc)
		var out [1]float32
		scoreCodes(out[:], rotateSub(sg, q), code, []float32{n}, sg.q.groups, sg.q.bits, sg.q.unbiased)
		total += out[0]
	}
	return total, nil
}
