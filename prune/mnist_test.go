package prune

import (
	"encoding/json"
	"os"
	"testing"

	"github.com/hone-ml/hone/internal/assets"
	"github.com/hone-ml/hone/ir"
	"github.com/hone-ml/hone/npy"
)

// mnistFixture is testdata/mnist_prune.json and mnist_masks.npz, written by scripts/fixtures/prune_mnist.py:
// PyTorch's predictions on the held-out digits after each pruning case, and its weight masks.
type mnistFixture struct {
	HeldOut int `json:"heldout"`
	Cases   map[string]struct {
		Correct     int     `json:"correct"`
		Accuracy    float64 `json:"accuracy"`
		Predictions []int64 `json:"predictions"`
	} `json:"cases"`
}

// mnistWeights maps the PyTorch parameters of the fixture to the ONNX nodes that read them.
var mnistWeights = []string{"features.0", "features.4", "fc1", "fc2"}

// TestMNISTAccuracyMatchesPyTorch prunes the embedded MNIST CNN as scripts/fixtures/prune_mnist.py does in
// PyTorch, checks the masks are identical, and that hone's accuracy on the same held-out digits matches
// PyTorch's: the same masks on the same weights leave only float summation order between the two, which may
// flip a digit whose top two logits nearly tie, so a couple of disagreements are allowed.
func TestMNISTAccuracyMatchesPyTorch(t *testing.T) {
	raw, err := os.ReadFile("testdata/mnist_prune.json")
	if err != nil {
		t.Fatal(err)
	}
	var fx mnistFixture
	if err := json.Unmarshal(raw, &fx); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open("testdata/mnist_masks.npz")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	st, _ := f.Stat()
	masks, _, err := npy.DecodeNPZ(f, st.Size())
	if err != nil {
		t.Fatal(err)
	}
	images, labels, err := assets.MNISTHeldOut()
	if err != nil {
		t.Fatal(err)
	}
	if len(labels) != fx.HeldOut {
		t.Fatalf("fixture has %d digits, assets %d", fx.HeldOut, len(labels))
	}
	m := mnistModel(t)
	data := EvalData{Inputs: map[string]*ir.Tensor{"": images}, Threads: 2}
	for _, tc := range []struct {
		name string
		cfg  Config
		// maskCfg, when set, produces the model whose zeros are compared with PyTorch's masks (the mask-only
		// twin of a physical pruning).
		maskCfg *Config
	}{
		{"dense", Config{Method: MethodL1, Amount: Fraction(0)}, nil},
		{"l1_30", Config{Method: MethodL1, Amount: Fraction(0.3)}, nil},
		{"ln_20", Config{Method: MethodLn, Amount: Fraction(0.2), Norm: 2},
			&Config{Method: MethodLn, Amount: Fraction(0.2), Norm: 2, MaskOnly: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			want, ok := fx.Cases[tc.name]
			if !ok {
				t.Fatalf("fixture lacks case %s", tc.name)
			}
			pruned, _, err := Prune(m, tc.cfg)
			if err != nil {
				t.Fatal(err)
			}
			zeros := pruned
			if tc.maskCfg != nil {
				if zeros, _, err = Prune(m, *tc.maskCfg); err != nil {
					t.Fatal(err)
				}
			}
			for _, p := range mnistWeights {
				mask := masks[tc.name+"/"+p]
				w := zeros.Graph.Initializers[p+".weight"]
				if mask == nil || w == nil || mask.Len() != w.Len() {
					t.Fatalf("%s: mask %v, weight %v", p, mask, w)
				}
				diff := 0
				for i, v := range w.F32() {
					if (v != 0) != (mask.U8()[i] == 1) {
						diff++
					}
				}
				if diff != 0 {
					t.Errorf("%s.weight: %d of %d mask entries differ from PyTorch's", p, diff, w.Len())
				}
			}
			preds, err := Classify(pruned, data)
			if err != nil {
				t.Fatal(err)
			}
			correct, disagree := 0, 0
			for i, p := range preds {
				if p == labels[i] {
					correct++
				}
				if p != want.Predictions[i] {
					disagree++
				}
			}
			t.Logf("%s: hone %d/%d = %.4f, PyTorch %d/%d = %.4f, %d predictions differ", tc.name, correct, len(labels),
				float64(correct)/float64(len(labels)), want.Correct, len(labels), want.Accuracy, disagree)
			if disagree > 2 || abs(correct-want.Correct) > 2 {
				t.Errorf("hone's accuracy %d/%d is not PyTorch's %d (%d predictions differ)", correct, len(labels), want.Correct, disagree)
			}
		})
	}
	t.Logf("PyTorch's own ln_structured (weight mask only, dead channels still feed their BatchNorm constant on): %.4f",
		fx.Cases["ln_20_mask"].Accuracy)
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}
