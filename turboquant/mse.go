package turboquant

import (
	"errors"
	"fmt"
	"math"
)

// ErrInvalid marks bad input: wrong length, NaN or Inf coordinates, bit widths out of range.
var ErrInvalid = errors.New("invalid input")

// MSE is TurboQuant_mse (arXiv 2504.19874, Alg. 1): x is stored as ‖x‖ and the b-bit Lloyd-Max index of every
// coordinate of Π·x/‖x‖. Reconstruction is ‖x‖·Πᵀ·c[idx]. The zero vector is stored with norm 0 and decodes to zero.
// An MSE is safe for concurrent use.
type MSE struct {
	d, bits, groups int
	rot             rotation
	cb              *Codebook
	unbiased        []float32  // centroids / (1 − D_mse): scoring with them removes the mse variant's shrinkage
	tc32, tunb      *codeTable // kernel forms of cb.c32 and unbiased
}

// NewMSE builds a d-dimensional, b-bit TurboQuant_mse quantizer; seed fixes the rotation.
func NewMSE(d, bits int, kind RotationKind, seed uint64) (*MSE, error) {
	cb, err := SphereCodebook(d, bits)
	if err != nil {
		return nil, err
	}
	q := &MSE{d: d, bits: bits, groups: (d + 15) / 16, rot: newRotation(kind, d, seed), cb: cb}
	q.unbiased = make([]float32, len(cb.c32))
	for i, c := range cb.Centroids {
		q.unbiased[i] = float32(c / (1 - cb.DMSE(d)))
	}
	q.tc32, q.tunb = newCodeTable(cb.c32, bits), newCodeTable(q.unbiased, bits)
	return q, nil
}

// Dim is the vector length.
func (q *MSE) Dim() int { return q.d }

// Bits is the per-coordinate bit width.
func (q *MSE) Bits() int { return q.bits }

// Codebook is the scalar codebook applied to rotated coordinates.
func (q *MSE) Codebook() *Codebook { return q.cb }

// CodeWords is the number of uint16 words in one code (b bits per coordinate, coordinates padded to a multiple of 16).
func (q *MSE) CodeWords() int { return q.groups * q.bits }

// checkVec rejects vectors of the wrong length or with non-finite coordinates, and returns ‖x‖.
func checkVec(x []float32, d int) (float64, error) {
	if len(x) != d {
		return 0, fmt.Errorf("turboquant: vector of length %d, quantizer dimension %d: %w", len(x), d, ErrInvalid)
	}
	var s float64
	for i, v := range x {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return 0, fmt.Errorf("turboquant: coordinate %d is %v: %w", i, v, ErrInvalid)
		}
		s += float64(v) * float64(v)
	}
	if n := math.Sqrt(s); n <= math.MaxFloat32 {
		return n, nil
	}
	return 0, fmt.Errorf("turboquant: vector norm overflows float32: %w", ErrInvalid)
}

// Encode writes the code of x to code (CodeWords words) and returns ‖x‖.
func (q *MSE) Encode(code []uint16, x []float32) (float32, error) {
	norm, err := checkVec(x, q.d)
	if err != nil {
		return 0, err
	}
	if len(code) != q.CodeWords() {
		return 0, fmt.Errorf("turboquant: code of %d words, want %d: %w", len(code), q.CodeWords(), ErrInvalid)
	}
	buf := make([]float32, 3*q.groups*16)
	q.encode(code, x, float32(norm), buf)
	return float32(norm), nil
}

// encode quantizes a validated x with norm n; buf is scratch of ≥ 3·groups·16 floats. It returns the rotated unit
// vector in buf[:d] for callers that need the residual.
func (q *MSE) encode(code []uint16, x []float32, n float32, buf []float32) {
	d := q.d
	u, y, tmp := buf[:d], buf[q.groups*16:q.groups*16+d], buf[2*q.groups*16:]
	if n == 0 {
		// Zero vector: any code decodes to zero through the zero norm; store index 0 everywhere.
		for i := range code {
			code[i] = 0
		}
		for i := range u {
			u[i] = 0
		}
		return
	}
	inv := 1 / float64(n)
	for i, v := range x {
		y[i] = float32(float64(v) * inv)
	}
	q.rot.apply(u, y, tmp)
	var idx [16]uint8
	for g := 0; g < q.groups; g++ {
		for l := range idx {
			j := g*16 + l
			if j < d {
				idx[l] = uint8(q.cb.index(u[j]))
			} else {
				idx[l] = 0
			}
		}
		packPlanes(code[g*q.bits:(g+1)*q.bits], idx[:], q.bits)
	}
}

// Decode writes the reconstruction ‖x‖·Πᵀ·c[idx] to dst (length d).
func (q *MSE) Decode(dst []float32, code []uint16, norm float32) error {
	if len(dst) != q.d || len(code) != q.CodeWords() {
		return fmt.Errorf("turboquant: decode into %d floats from %d words, want %d and %d: %w",
			len(dst), len(code), q.d, q.CodeWords(), ErrInvalid)
	}
	buf := make([]float32, 2*q.groups*16)
	q.decodeRotated(buf[:q.groups*16], code)
	q.rot.inverse(dst, buf[:q.d], buf[q.groups*16:])
	for i := range dst {
		dst[i] *= norm
	}
	return nil
}

// decodeRotated writes c[idx] (the unit-norm reconstruction in the rotated basis) to dst (groups·16 floats).
func (q *MSE) decodeRotated(dst []float32, code []uint16) {
	var idx [16]uint8
	for g := 0; g < q.groups; g++ {
		unpackPlanes(idx[:], code[g*q.bits:(g+1)*q.bits], q.bits)
		for l, k := range idx {
			dst[g*16+l] = q.cb.c32[k]
		}
	}
}

// RotateQuery returns Π·y padded to a multiple of 16, the form Score and the cache kernels take: the query is
// rotated once instead of rotating every key back.
func (q *MSE) RotateQuery(y []float32) ([]float32, error) {
	if _, err := checkVec(y, q.d); err != nil {
		return nil, err
	}
	out := make([]float32, q.groups*16)
	q.rot.apply(out, y, make([]float32, q.d))
	return out, nil
}

// Score estimates ⟨y, x⟩ from x's code and norm, with ry = RotateQuery(y). The estimate is biased towards zero by
// the factor E⟨x̃,x⟩ = 1 − D_mse(b) for unit x (TurboQuant §3.2); Prod removes the bias.
func (q *MSE) Score(ry []float32, code []uint16, norm float32) float32 {
	var out [1]float32
	scoreCodes(out[:], ry, code, []float32{norm}, q.groups, q.bits, q.cb.c32)
	return out[0]
}
