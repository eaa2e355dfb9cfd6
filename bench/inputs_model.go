package bench

import (
	"github.com/hone-ml/hone/ir"
	"github.com/hone-ml/hone/onnx"
)

// ModelInputs lists the inputs a caller must feed to the model file.
func ModelInputs(path string) ([]*ir.ValueInfo, error) {
	m, err := onnx.Load(path)
	if err != nil {
		return nil, err
	}
	return m.Graph.RealInputs(), nil
}
