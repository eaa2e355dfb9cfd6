// Package assets embeds hone's demo model: a small MNIST CNN trained by
// scripts/fixtures/train_mnist.py, the 2000 digits it never saw during training, and the
// accuracy PyTorch measured on them, so that hone can check it reproduces the reference.
package assets

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"fmt"

	"github.com/hone-ml/hone/ir"
	"github.com/hone-ml/hone/npy"
)

//go:embed mnist/mnist_cnn.onnx
var mnistModel []byte

//go:embed mnist/mnist_heldout.npz
var mnistHeldOut []byte

//go:embed mnist/mnist_cnn.json
var mnistReference []byte

// MNISTModel returns the ONNX model (opset 13): input "input" float32 [N,1,28,28] holding pixels
// in [0, 1] (no mean/std normalisation), output "logits" float32 [N,10]. The graph is
// Conv-BatchNormalization-Relu-MaxPool twice, then Flatten and two Gemm layers; the BatchNorms are
// left unfused for hone's optimiser. The slice is shared: do not modify it.
func MNISTModel() []byte { return mnistModel }

// MNISTHeldOut decodes the held-out digits as the model expects them: images float32
// [N,1,28,28] equal to uint8 pixel / 255 (exactly the values PyTorch was evaluated on), and the
// true digit of each image.
func MNISTHeldOut() (images *ir.Tensor, labels []int64, err error) {
	arrays, _, err := npy.DecodeNPZ(bytes.NewReader(mnistHeldOut), int64(len(mnistHeldOut)))
	if err != nil {
		return nil, nil, fmt.Errorf("assets: mnist held-out digits: %w", err)
	}
	img, lab := arrays["images"], arrays["labels"]
	if img == nil || lab == nil {
		return nil, nil, fmt.Errorf("assets: mnist held-out digits: want arrays images and labels")
	}
	if img.DType != ir.Uint8 || img.Rank() != 4 || img.Shape[1] != 1 || img.Shape[2] != 28 || img.Shape[3] != 28 {
		return nil, nil, fmt.Errorf("assets: mnist images are %v, want uint8[N,1,28,28]", img)
	}
	if lab.DType != ir.Int64 || lab.Rank() != 1 || lab.Shape[0] != img.Shape[0] {
		return nil, nil, fmt.Errorf("assets: mnist labels are %v for %d images, want int64[N]", lab, img.Shape[0])
	}
	images = ir.New(ir.Float32, img.Shape...)
	f := images.F32()
	for i, p := range img.U8() {
		f[i] = float32(p) / 255
	}
	return images, append([]int64(nil), lab.I64()...), nil
}

// Reference is what PyTorch measured on the held-out digits when the model was trained.
type Reference struct {
	HeldOut     int     `json:"heldout"`
	Correct     int     `json:"correct"`
	Accuracy    float64 `json:"accuracy"`
	Predictions []int64 `json:"predictions"`
}

// MNISTReference returns PyTorch's held-out accuracy and per-digit predictions.
func MNISTReference() (Reference, error) {
	var r Reference
	if err := json.Unmarshal(mnistReference, &r); err != nil {
		return r, fmt.Errorf("assets: mnist reference: %w", err)
	}
	if len(r.Predictions) != r.HeldOut {
		return r, fmt.Errorf("assets: mnist reference has %d predictions for %d digits", len(r.Predictions), r.HeldOut)
	}
	return r, nil
}
