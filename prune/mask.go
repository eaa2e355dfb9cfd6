package prune

import (
	"cmp"
	"fmt"
	"math"
	"slices"
)

// Mask functions work on plain slices and return keep masks (true = the weight stays). A weight that is already
// zero counts as pruned by an earlier round, so the amount applies to the weights still unpruned, as PyTorch's
// PruningContainer does with its stored mask (an ONNX model has no stored mask: zero is the mask).
//
// Tie rule: torch.topk leaves the order of equal values unspecified; hone breaks ties by position, pruning the
// lower flat index first among equal magnitudes (unstructured) and keeping the lower channel index first among
// equal norms (structured). The PyTorch fixtures use weights without ties.

// magnitude orders NaN above every number, as torch.topk does, so a NaN weight is never the first to go.
func magnitude(v float32) float64 {
	if v != v {
		return math.Inf(1)
	}
	return math.Abs(float64(v))
}

// L1Unstructured returns the keep mask of PyTorch's l1_unstructured on w: of the nonzero weights, the
// amount.Of(count) with the smallest |w| are pruned.
func L1Unstructured(w []float32, amount Amount) ([]bool, error) {
	masks, err := GlobalUnstructured([][]float32{w}, amount)
	if err != nil {
		return nil, err
	}
	return masks[0], nil
}

// GlobalUnstructured returns PyTorch's global_unstructured (with L1Unstructured) masks: the weights of all
// tensors compete under one threshold, so amount.Of(total nonzero) weights go, wherever they are.
func GlobalUnstructured(ws [][]float32, amount Amount) ([][]bool, error) {
	type ref struct {
		t, i int
		mag  float64
	}
	var live []ref
	masks := make([][]bool, len(ws))
	for t, w := range ws {
		masks[t] = make([]bool, len(w))
		for i, v := range w {
			if v != 0 {
				masks[t][i] = true
				live = append(live, ref{t, i, magnitude(v)})
			}
		}
	}
	k, err := amount.Of(len(live))
	if err != nil {
		return nil, err
	}
	// Sorting is stable in (tensor, index) order, which the tie rule needs.
	slices.SortStableFunc(live, func(a, b ref) int { return cmp.Compare(a.mag, b.mag) })
	for _, r := range live[:k] {
		masks[r.t][r.i] = false
	}
	return masks, nil
}

// sliceNorms accumulates, for each index c along axis dim of a tensor of the given shape, the Ln "norm power"
// of the slice: Σ|x|^p for finite p > 0, max|x| for +Inf, min|x| for -Inf, the nonzero count for p = 0.
// acc must have shape[dim] entries and starts at the fold's identity (see newNorms).
func sliceNorms(acc []float64, w []float32, shape []int, dim int, p float64) {
	inner := 1
	for _, d := range shape[dim+1:] {
		inner *= d
	}
	n := shape[dim]
	for i, v := range w {
		c := (i / inner) % n
		a := magnitude(v)
		switch {
		case math.IsInf(p, 1):
			acc[c] = math.Max(acc[c], a)
		case math.IsInf(p, -1):
			acc[c] = math.Min(acc[c], a)
		case p == 0:
			if a != 0 {
				acc[c]++
			}
		default:
			acc[c] += math.Pow(a, p)
		}
	}
}

func newNorms(n int, p float64) []float64 {
	acc := make([]float64, n)
	if math.IsInf(p, -1) {
		for i := range acc {
			acc[i] = math.Inf(1)
		}
	}
	return acc
}

// checkNorm rejects orders torch.norm has no vector norm for.
func checkNorm(p float64) error {
	if math.IsNaN(p) || p < 0 && !math.IsInf(p, -1) {
		return fmt.Errorf("prune: norm order %v is not a vector norm (want n >= 0, inf or -inf)", p)
	}
	return nil
}

// keepChannels ranks channels by their norms and keeps the largest, PyTorch's LnStructured: of the live channels
// (live[c]), amount.Of(count) with the smallest norms are dropped. Channels not live stay dropped.
func keepChannels(norms []float64, live []bool, amount Amount) ([]bool, error) {
	var idx []int
	for c, ok := range live {
		if ok {
			idx = append(idx, c)
		}
	}
	k, err := amount.Of(len(idx))
	if err != nil {
		return nil, err
	}
	keep := slices.Clone(live)
	// Largest first, lower channel first among equals; the last k go.
	slices.SortStableFunc(idx, func(a, b int) int { return cmp.Compare(norms[b], norms[a]) })
	for _, c := range idx[len(idx)-k:] {
		keep[c] = false
	}
	return keep, nil
}

// LnStructured returns the keep mask of PyTorch's ln_structured(amount, n=p, dim) on w of the given shape:
// whole slices along dim with the smallest Ln norm are zeroed. Slices that are all zero already count as pruned.
func LnStructured(w []float32, shape []int, dim int, p float64, amount Amount) ([]bool, error) {
	if dim < 0 {
		dim += len(shape)
	}
	if dim < 0 || dim >= len(shape) {
		return nil, fmt.Errorf("prune: dim %d is out of range for a weight of shape %v", dim, shape)
	}
	if err := checkNorm(p); err != nil {
		return nil, err
	}
	norms := newNorms(shape[dim], p)
	sliceNorms(norms, w, shape, dim, p)
	keep, err := keepChannels(norms, liveChannels(w, shape, dim), amount)
	if err != nil {
		return nil, err
	}
	return expandChannels(keep, shape, dim), nil
}

// liveChannels reports which slices along dim hold a nonzero weight.
func liveChannels(w []float32, shape []int, dim int) []bool {
	inner := 1
	for _, d := range shape[dim+1:] {
		inner *= d
	}
	live := make([]bool, shape[dim])
	for i, v := range w {
		if v != 0 {
			live[(i/inner)%shape[dim]] = true
		}
	}
	return live
}

// expandChannels turns a per-channel keep mask into a per-weight one.
func expandChannels(keep []bool, shape []int, dim int) []bool {
	inner := 1
	for _, d := range shape[dim+1:] {
		inner *= d
	}
	n := 1
	for _, d := range shape {
		n *= d
	}
	m := make([]bool, n)
	for i := range m {
		m[i] = keep[(i/inner)%shape[dim]]
	}
	return m
}

// NMSparse returns an N:M semi-structured mask (Mishra et al., "Accelerating Sparse Deep Neural Networks",
// 2021, the 2:4 pattern of NVIDIA's sparse tensor cores and ASP's m4n2_1d mask): along axis dim, every group of
// m consecutive weights keeps its n largest |w| (lower index first among equals). shape[dim] must be a
// multiple of m.
func NMSparse(w []float32, shape []int, dim, n, m int) ([]bool, error) {
	if n < 0 || m <= 0 || n > m {
		return nil, fmt.Errorf("prune: pattern %d:%d is not N:M with 0 <= N <= M", n, m)
	}
	if dim < 0 || dim >= len(shape) {
		return nil, fmt.Errorf("prune: dim %d is out of range for a weight of shape %v", dim, shape)
	}
	if shape[dim]%m != 0 {
		return nil, fmt.Errorf("prune: %d input channels are not a multiple of the group size %d", shape[dim], m)
	}
	inner := 1
	for _, d := range shape[dim+1:] {
		inner *= d
	}
	outer := len(w) / max(inner*shape[dim], 1)
	mask := make([]bool, len(w))
	group := make([]int, m)
	for o := range outer {
		for in := range inner {
			for g := 0; g < shape[dim]; g += m {
				for j := range m {
					group[j] = (o*shape[dim]+g+j)*inner + in
				}
				slices.SortStableFunc(group, func(a, b int) int { return cmp.Compare(magnitude(w[b]), magnitude(w[a])) })
				for _, i := range group[:n] {
					mask[i] = true
				}
			}
		}
	}
	return mask, nil
}
