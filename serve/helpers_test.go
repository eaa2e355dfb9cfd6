package serve

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/hone-ml/hone/internal/assets"
	"github.com/hone-ml/hone/ir"
	"github.com/hone-ml/hone/onnx"
	"github.com/hone-ml/hone/runtime"
)

// mnistFile writes the embedded MNIST CNN (input "input" float32[N,1,28,28], output "logits"
// float32[N,10]) to a temporary file.
func mnistFile(t testing.TB, dir string) string {
	t.Helper()
	p := filepath.Join(dir, "mnist.onnx")
	if err := os.WriteFile(p, assets.MNISTModel(), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// mnistDigits returns n held-out digits as [1,1,28,28] tensors and their labels.
func mnistDigits(t testing.TB, n int) ([]*ir.Tensor, []int64) {
	t.Helper()
	imgs, labels, err := assets.MNISTHeldOut()
	if err != nil {
		t.Fatal(err)
	}
	var out []*ir.Tensor
	for i := 0; i < n; i++ {
		d := ir.New(ir.Float32, 1, 1, 28, 28)
		copy(d.F32(), imgs.F32()[i*784:(i+1)*784])
		out = append(out, d)
	}
	return out, labels[:n]
}

// referenceLogits runs the MNIST model directly through the runtime, one digit at a time, as the oracle
// for what the server must answer.
func referenceLogits(t testing.TB, digits []*ir.Tensor) [][]float32 {
	t.Helper()
	m, err := onnx.Decode(assets.MNISTModel(), "")
	if err != nil {
		t.Fatal(err)
	}
	p, err := runtime.Compile(m, runtime.Options{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	var out [][]float32
	for _, d := range digits {
		res, err := p.Run(map[string]*ir.Tensor{"input": d})
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, append([]float32(nil), res["logits"].F32()...))
	}
	return out
}

// newTestServer serves the MNIST model under the name "mnist" with cfg over httptest.
func newTestServer(t testing.TB, cfg Config, opts Options) (*Server, *httptest.Server) {
	t.Helper()
	s := New(opts)
	if err := s.Load("mnist", mnistFile(t, t.TempDir()), cfg); err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(s.Handler())
	t.Cleanup(func() {
		hs.Close()
		s.Close()
	})
	return s, hs
}

// specDoc loads the Open Inference Protocol's OpenAPI document that every checkout has beside it.
func specDoc(t testing.TB) *openapi3.T {
	t.Helper()
	path := filepath.Join("..", "..", "shared", "specs", "open-inference-protocol", "open_inference_rest.yaml")
	doc, err := openapi3.NewLoader().LoadFromFile(path)
	if err != nil {
		t.Fatalf("loading the OIP OpenAPI document: %v", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("OIP OpenAPI document: %v", err)
	}
	return doc
}

// validate checks a JSON body against one of the spec's component schemas.
func validate(t testing.TB, doc *openapi3.T, schema string, body []byte) {
	t.Helper()
	if err := validateErr(doc, schema, body); err != nil {
		t.Errorf("%v\n%s", err, body)
	}
}

func validateErr(doc *openapi3.T, schema string, body []byte) error {
	ref := doc.Components.Schemas[schema]
	if ref == nil || ref.Value == nil {
		return fmt.Errorf("spec has no schema %q", schema)
	}
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		return fmt.Errorf("%s body is not JSON: %v", schema, err)
	}
	if err := ref.Value.VisitJSON(v); err != nil {
		return fmt.Errorf("body does not match %s: %v", schema, err)
	}
	return nil
}

func do(t testing.TB, method, url string, body []byte, header http.Header) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, b
}
