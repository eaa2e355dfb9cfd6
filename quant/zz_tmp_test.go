package quant

import (
	"os"
	"testing"

	"github.com/hone-ml/hone/onnx"
)

func TestZZDump(t *testing.T) {
	m, x, _ := mnist(t)
	q, _, err := Static(m, BatchSamples{"input": rows(x, 200)}, StaticConfig{})
	if err != nil {
		t.Fatal(err)
	}
	onnx.Save(q, "/tmp/mnist_q.onnx")
	onnx.Save(m, "/tmp/mnist_fp.onnx")
	_ = os.Stdout
}
