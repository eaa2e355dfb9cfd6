package turboquant

import (
	"math"
	"math/rand/v2"
)

// EvalRow is one line of the distortion study (TurboQuant §4.1): measured D_mse = E‖x − x̃‖²/‖x‖² and
// D_prod = E(⟨y,x⟩ − ⟨y,x̃⟩)² for unit y, the inner-product bias factor E⟨y,x̃⟩/⟨y,x⟩, and the paper's bounds.
type EvalRow struct {
	Dim       int     `json:"dim"`
	Bits      int     `json:"bits"`
	Variant   string  `json:"variant"` // mse, prod or polar
	Rate      float64 `json:"rate"`    // stored bits per coordinate, norms and radii included
	Data      string  `json:"data"`    // sphere (uniform unit vectors) or kvlike (outlier channels, offsets)
	DMSE      float64 `json:"d_mse,omitempty"`
	DProd     float64 `json:"d_prod"`
	Bias      float64 `json:"bias"`
	Theory    float64 `json:"d_mse_theory,omitempty"` // mse: d·(codebook MSE); polar: TheoryDMSE
	MSELower  float64 `json:"d_mse_lower"`            // 4^−b
	MSEUpper  float64 `json:"d_mse_upper"`            // √3π/2·4^−b
	ProdLower float64 `json:"d_prod_lower"`           // 4^−b/d
	ProdUpper float64 `json:"d_prod_upper"`           // √3π²/d·4^−b
}

// PolarBits is the PolarQuant level setting Eval pairs with b: b+1 bits for the uniform level-1 angles and b−1 (at
// least 1) for the three concentrated levels above, so that b = 3 is the paper's 4, 2, 2, 2.
func PolarBits(b int) []int {
	lo := max(b-1, 1)
	return []int{b + 1, lo, lo, lo}
}

// Eval measures every (d, b) over n vectors of each data kind for TurboQuant_mse, TurboQuant_prod and, where d is
// a multiple of 16, PolarQuant at PolarBits(b).
func Eval(dims, bits []int, n int, kind RotationKind, seed uint64) ([]EvalRow, error) {
	var rows []EvalRow
	for _, d := range dims {
		for _, b := range bits {
			mq, err := NewMSE(d, b, kind, seed)
			if err != nil {
				return nil, err
			}
			pq, err := NewProd(d, b, kind, seed)
			if err != nil {
				return nil, err
			}
			var pol *Polar
			if d%16 == 0 && b < MaxBits {
				if pol, err = NewPolar(d, PolarBits(b), kind, seed); err != nil {
					return nil, err
				}
			}
			f := math.Pow(4, -float64(b))
			bounds := EvalRow{Dim: d, Bits: b, MSELower: f, MSEUpper: math.Sqrt(3) * math.Pi / 2 * f,
				ProdLower: f / float64(d), ProdUpper: math.Sqrt(3) * math.Pi * math.Pi / float64(d) * f}
			for _, data := range []string{"sphere", "kvlike"} {
				rng := rand.New(rand.NewPCG(seed, uint64(d*16+b)))
				x := make([]float32, d)
				y := make([]float32, d)
				xt := make([]float32, d)
				code := make([]uint16, mq.CodeWords())
				var emse, eprodM, eprodP, numM, numP, den, emseR, eprodR, numR float64
				var pcode []byte
				if pol != nil {
					pcode = make([]byte, pol.Bytes())
				}
				for i := 0; i < n; i++ {
					if data == "sphere" {
						randUnitVec(rng, x)
					} else {
						kvLike(rng, x)
						normalize(x)
					}
					// y: unit, correlated with x so the bias factor is well measured (⟨y,x⟩ = 0.5).
					randUnitVec(rng, y)
					var xy float64
					for j := range x {
						xy += float64(x[j]) * float64(y[j])
					}
					for j := range y {
						y[j] -= float32(xy) * x[j]
					}
					normalize(y)
					for j := range y {
						y[j] = float32(0.5*float64(x[j]) + math.Sqrt(0.75)*float64(y[j]))
					}
					nrm, err := mq.Encode(code, x)
					if err != nil {
						return nil, err
					}
					_ = mq.Decode(xt, code, nrm)
					var ip float64
					for j := range x {
						e := float64(x[j] - xt[j])
						emse += e * e
						ip += float64(y[j]) * float64(xt[j])
					}
					eprodM += (ip - 0.5) * (ip - 0.5)
					numM += ip * 0.5
					pc, err := pq.Encode(x)
					if err != nil {
						return nil, err
					}
					py, _ := pq.Prepare(y)
					pe := float64(pq.Estimate(py, pc))
					eprodP += (pe - 0.5) * (pe - 0.5)
					numP += pe * 0.5
					den += 0.25
					if pol != nil {
						if err := pol.Encode(pcode, x); err != nil {
							return nil, err
						}
						if err := pol.Decode(xt, pcode); err != nil {
							return nil, err
						}
						var ipr float64
						for j := range x {
							e := float64(x[j] - xt[j])
							emseR += e * e
							ipr += float64(y[j]) * float64(xt[j])
						}
						eprodR += (ipr - 0.5) * (ipr - 0.5)
						numR += ipr * 0.5
					}
				}
				r := bounds
				r.Data, r.Variant = data, "mse"
				r.DMSE, r.DProd, r.Bias, r.Theory = emse/float64(n), eprodM/float64(n), numM/den, mq.cb.DMSE(d)
				r.Rate = float64(8*(2*mq.CodeWords()+4)) / float64(d)
				rows = append(rows, r)
				r = bounds
				r.Data, r.Variant = data, "prod"
				r.DProd, r.Bias = eprodP/float64(n), numP/den
				r.Rate = float64(8*pq.Bytes()) / float64(d)
				rows = append(rows, r)
				if pol != nil {
					r = bounds
					r.Data, r.Variant = data, "polar"
					r.DMSE, r.DProd, r.Bias, r.Theory = emseR/float64(n), eprodR/float64(n), numR/den, pol.TheoryDMSE()
					r.Rate = pol.Rate()
					rows = append(rows, r)
				}
			}
		}
	}
	return rows, nil
}

func randUnitVec(rng *rand.Rand, x []float32) {
	for i := range x {
		x[i] = float32(rng.NormFloat64())
	}
	normalize(x)
}

func normalize(x []float32) {
	var s float64
	for _, v := range x {
		s += float64(v) * float64(v)
	}
	inv := 1 / math.Sqrt(s)
	for i := range x {
		x[i] = float32(float64(x[i]) * inv)
	}
}
