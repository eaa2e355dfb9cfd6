package serve

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hone-ml/hone/api"
	"github.com/hone-ml/hone/ir"
)

func jsonInfer(d *ir.Tensor) []byte {
	data, _ := api.EncodeData("FP32", d.Bytes(), nil)
	req := api.InferRequest{ID: "42", Inputs: []api.RequestInput{{Name: "input", Shape: shape64(d.Shape), Datatype: "FP32", Data: data}}}
	b, _ := json.Marshal(req)
	return b
}

func TestRESTConformance(t *testing.T) {
	doc := specDoc(t)
	_, hs := newTestServer(t, Config{MaxBatchSize: 8, MaxQueueDelay: Duration(time.Millisecond)}, Options{})
	digits, _ := mnistDigits(t, 1)
	inferBody := jsonInfer(digits[0])
	validate(t, doc, "inference_request", inferBody)
	// The validator must be able to fail: these bodies break the spec's schemas.
	for schema, bad := range map[string]string{
		"inference_response":       `{"outputs":[]}`,
		"inference_request":        `{"inputs":[{"name":"x","shape":[1],"datatype":"FP32"}]}`,
		"metadata_server_response": `{"name":"hone"}`,
	} {
		if validateErr(doc, schema, []byte(bad)) == nil {
			t.Errorf("%s accepted %s", schema, bad)
		}
	}
	for _, tc := range []struct {
		method, path string
		body         []byte
		status       int
		schema       string // "" when the body is not checked
	}{
		{"GET", "/v2", nil, 200, "metadata_server_response"},
		{"GET", "/v2/", nil, 200, "metadata_server_response"},
		{"GET", "/v2/health/live", nil, 200, ""},
		{"GET", "/v2/health/ready", nil, 200, ""},
		{"GET", "/v2/models/mnist", nil, 200, "metadata_model_response"},
		{"GET", "/v2/models/mnist/versions/1", nil, 200, "metadata_model_response"},
		{"GET", "/v2/models/mnist/ready", nil, 200, ""},
		{"GET", "/v2/models/mnist/versions/1/ready", nil, 200, ""},
		{"GET", "/v2/models/nope", nil, 404, "metadata_model_error_response"},
		{"GET", "/v2/models/mnist/versions/7", nil, 404, "metadata_model_error_response"},
		{"GET", "/v2/models/nope/ready", nil, 404, "metadata_model_error_response"},
		{"POST", "/v2/models/mnist/infer", inferBody, 200, "inference_response"},
		{"POST", "/v2/models/mnist/versions/1/infer", inferBody, 200, "inference_response"},
		{"POST", "/v2/models/nope/infer", inferBody, 404, "inference_error_response"},
		{"POST", "/v2/models/mnist/infer", []byte(`{"inputs":[]}`), 400, "inference_error_response"},
		{"POST", "/v2/models/mnist/infer", []byte(`{`), 400, "inference_error_response"},
		{"GET", "/v2/models/mnist/config", nil, 200, ""},
		{"GET", "/v2/models/mnist/stats", nil, 200, ""},
	} {
		t.Run(tc.method+" "+tc.path+" "+strconv.Itoa(tc.status), func(t *testing.T) {
			resp, body := do(t, tc.method, hs.URL+tc.path, tc.body, nil)
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tc.status, body)
			}
			if tc.schema != "" {
				validate(t, doc, tc.schema, body)
			}
			if tc.status >= 400 && !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
				t.Errorf("error reply has Content-Type %q", resp.Header.Get("Content-Type"))
			}
		})
	}
}

// TestInferMatchesRuntime checks that answers through the server (JSON and binary, batched or not) are the
// runtime's own outputs for each digit, and that the digits are classified as PyTorch labelled them.
func TestInferMatchesRuntime(t *testing.T) {
	digits, labels := mnistDigits(t, 16)
	ref := referenceLogits(t, digits)
	for _, cfg := range []Config{{}, {MaxBatchSize: 16, MaxQueueDelay: Duration(5 * time.Millisecond)}} {
		_, hs := newTestServer(t, cfg, Options{})
		c := &api.Client{BaseURL: hs.URL}
		for _, binaryIO := range []bool{false, true} {
			t.Run(fmt.Sprintf("batch=%d binary=%v", cfg.MaxBatchSize, binaryIO), func(t *testing.T) {
				errs := make(chan error, len(digits))
				correct := make(chan bool, len(digits))
				for i, d := range digits {
					go func() {
						in := api.RequestInput{Name: "input", Shape: shape64(d.Shape), Datatype: "FP32"}
						req := &api.InferRequest{Inputs: []api.RequestInput{in}}
						if binaryIO {
							req.Inputs[0].Raw = d.Bytes()
							req.Parameters = api.Parameters{api.ParamBinaryOutput: true}
						} else {
							req.Inputs[0].Data, _ = api.EncodeData("FP32", d.Bytes(), nil)
						}
						resp, err := c.Infer(context.Background(), "mnist", req)
						if err != nil {
							errs <- err
							return
						}
						got, err := outputFloats(resp.Outputs[0])
						if err != nil {
							errs <- err
							return
						}
						if len(got) != 10 || resp.Outputs[0].Name != "logits" {
							errs <- fmt.Errorf("digit %d: output %q with %d values", i, resp.Outputs[0].Name, len(got))
							return
						}
						best := 0
						for j, v := range got {
							if math.Abs(float64(v-ref[i][j])) > 1e-4*(1+math.Abs(float64(ref[i][j]))) {
								errs <- fmt.Errorf("digit %d logit %d: %v, runtime says %v", i, j, v, ref[i][j])
								return
							}
							if v > got[best] {
								best = j
							}
						}
						correct <- int64(best) == labels[i]
						errs <- nil
					}()
				}
				n := 0
				for range digits {
					if err := <-errs; err != nil {
						t.Error(err)
					}
				}
				close(correct)
				for c := range correct {
					if c {
						n++
					}
				}
				if n < 15 {
					t.Errorf("%d of 16 digits right; the model gets ~99%%", n)
				}
			})
		}
	}
}

func outputFloats(o api.ResponseOutput) ([]float32, error) {
	if o.Datatype != "FP32" {
		return nil, fmt.Errorf("datatype %s", o.Datatype)
	}
	if o.Raw != nil {
		v := make([]float32, len(o.Raw)/4)
		for i := range v {
			v[i] = math.Float32frombits(binary.LittleEndian.Uint32(o.Raw[4*i:]))
		}
		return v, nil
	}
	var v []float32
	err := json.Unmarshal(o.Data, &v)
	return v, err
}

// TestMalformedRequests is the corpus of broken requests: each must get the right 4xx with an error body,
// and the server must keep answering afterwards.
func TestMalformedRequests(t *testing.T) {
	doc := specDoc(t)
	_, hs := newTestServer(t, Config{MaxBatchSize: 4}, Options{MaxRequestBytes: 1 << 20})
	good := `{"name":"input","shape":[1,1,28,28],"datatype":"FP32","data":[` + strings.Repeat("0,", 783) + `0]}`
	bin := func(json string, header int, tail int) ([]byte, http.Header) {
		b := append([]byte(json), make([]byte, tail)...)
		h := http.Header{}
		if header >= 0 {
			h.Set(api.HeaderContentLength, strconv.Itoa(header))
		}
		return b, h
	}
	binJSON := `{"inputs":[{"name":"input","shape":[1,1,28,28],"datatype":"FP32","parameters":{"binary_data_size":3136}}]}`
	cases := []struct {
		name   string
		path   string
		body   []byte
		header http.Header
		status int
	}{
		{"empty body", "", nil, nil, 400},
		{"not json", "", []byte("hello"), nil, 400},
		{"truncated json", "", []byte(`{"inputs":[{"name":"input","shape":[1,1,28,28],"datatype":"FP32","data":[0,0`), nil, 400},
		{"no inputs", "", []byte(`{"inputs":[]}`), nil, 400},
		{"inputs not array", "", []byte(`{"inputs":{}}`), nil, 400},
		{"unknown input", "", []byte(`{"inputs":[` + strings.Replace(good, `"input"`, `"x"`, 1) + `]}`), nil, 400},
		{"input twice", "", []byte(`{"inputs":[` + good + `,` + good + `]}`), nil, 400},
		{"wrong dtype", "", []byte(`{"inputs":[` + strings.Replace(good, "FP32", "FP64", 1) + `]}`), nil, 400},
		{"unknown dtype", "", []byte(`{"inputs":[` + strings.Replace(good, "FP32", "FLOAT", 1) + `]}`), nil, 400},
		{"wrong shape", "", []byte(`{"inputs":[` + strings.Replace(good, "[1,1,28,28]", "[1,1,784,1]", 1) + `]}`), nil, 400},
		{"wrong rank", "", []byte(`{"inputs":[` + strings.Replace(good, "[1,1,28,28]", "[784]", 1) + `]}`), nil, 400},
		{"too few elements", "", []byte(`{"inputs":[` + strings.Replace(good, "[0,", "[", 1) + `]}`), nil, 400},
		{"too many elements", "", []byte(`{"inputs":[` + strings.Replace(good, "[0,", "[0,0,", 1) + `]}`), nil, 400},
		{"string element", "", []byte(`{"inputs":[` + strings.Replace(good, "[0,", `["a",`, 1) + `]}`), nil, 400},
		{"negative dim", "", []byte(`{"inputs":[` + strings.Replace(good, "[1,1,28,28]", "[-1,1,28,28]", 1) + `]}`), nil, 400},
		{"huge declared shape", "", []byte(`{"inputs":[{"name":"input","shape":[1000000000,1,28,28],"datatype":"FP32","data":[0]}]}`), nil, 400},
		{"overflowing shape", "", []byte(`{"inputs":[{"name":"input","shape":[4294967296,4294967296,28,28],"datatype":"FP32","data":[0]}]}`), nil, 400},
		{"batch above max", "", []byte(`{"inputs":[{"name":"input","shape":[5,1,28,28],"datatype":"FP32","data":[` + strings.Repeat("0,", 5*784-1) + `0]}]}`), nil, 400},
		{"deep nesting", "", []byte(`{"inputs":[{"name":"input","shape":[1,1,28,28],"datatype":"FP32","data":` + strings.Repeat("[", 100) + strings.Repeat("]", 100) + `}]}`), nil, 400},
		{"unknown output", "", []byte(`{"inputs":[` + good + `],"outputs":[{"name":"nope"}]}`), nil, 400},
		{"bad timeout", "", []byte(`{"parameters":{"timeout":"soon"},"inputs":[` + good + `]}`), nil, 400},
		{"unknown model", "/v2/models/nope/infer", []byte(`{"inputs":[` + good + `]}`), nil, 404},
		{"unknown version", "/v2/models/mnist/versions/9/infer", []byte(`{"inputs":[` + good + `]}`), nil, 404},
	}
	b, h := bin(binJSON, len(binJSON), 3136)
	cases = append(cases, struct {
		name   string
		path   string
		body   []byte
		header http.Header
		status int
	}{"binary ok (control)", "", b, h, 200})
	for _, bc := range []struct {
		name         string
		json         string
		header, tail int
		status       int
	}{
		{"binary size lies high", strings.Replace(binJSON, "3136", "9999", 1), -2, 3136, 400},
		{"binary size lies low", strings.Replace(binJSON, "3136", "3000", 1), -2, 3136, 400},
		{"binary size negative", strings.Replace(binJSON, "3136", "-1", 1), -2, 3136, 400},
		{"binary size not integer", strings.Replace(binJSON, "3136", `"x"`, 1), -2, 3136, 400},
		{"binary body truncated", binJSON, -2, 100, 400},
		{"binary extra bytes", binJSON, -2, 4000, 400},
		{"binary without header", binJSON, -1, 3136, 400},
		{"header beyond body", binJSON, 1 << 30, 3136, 400},
		{"header cuts json", binJSON, 10, 3136, 400},
		{"huge binary size", strings.Replace(binJSON, "3136", "9223372036854775807", 1), -2, 3136, 400},
	} {
		hl := bc.header
		if hl == -2 {
			hl = len(bc.json)
		}
		b, h := bin(bc.json, hl, bc.tail)
		cases = append(cases, struct {
			name   string
			path   string
			body   []byte
			header http.Header
			status int
		}{bc.name, "", b, h, bc.status})
	}
	bad := http.Header{}
	bad.Set(api.HeaderContentLength, "abc")
	cases = append(cases, struct {
		name   string
		path   string
		body   []byte
		header http.Header
		status int
	}{"header not a number", "", []byte(`{}`), bad, 400})
	cases = append(cases, struct {
		name   string
		path   string
		body   []byte
		header http.Header
		status int
	}{"body over the size limit", "", make([]byte, 2<<20), nil, 413})
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path := tc.path
			if path == "" {
				path = "/v2/models/mnist/infer"
			}
			resp, body := do(t, "POST", hs.URL+path, tc.body, tc.header)
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tc.status, body)
			}
			if tc.status >= 400 {
				validate(t, doc, "inference_error_response", body)
				var e api.Error
				if json.Unmarshal(body, &e) != nil || e.Error == "" {
					t.Errorf("error body %q has no error text", body)
				}
			}
		})
	}
	// The server still works after the corpus.
	if resp, body := do(t, "POST", hs.URL+"/v2/models/mnist/infer", []byte(`{"inputs":[`+good+`]}`), nil); resp.StatusCode != 200 {
		t.Fatalf("after the corpus: %d %s", resp.StatusCode, body)
	}
}

func TestConfigStatsAndMetrics(t *testing.T) {
	_, hs := newTestServer(t, Config{MaxBatchSize: 8, PreferredBatchSizes: []int{4, 8}, MaxQueueDelay: Duration(time.Millisecond), Instances: 2}, Options{})
	digits, _ := mnistDigits(t, 3)
	for _, d := range digits {
		if resp, body := do(t, "POST", hs.URL+"/v2/models/mnist/infer", jsonInfer(d), nil); resp.StatusCode != 200 {
			t.Fatalf("%d %s", resp.StatusCode, body)
		}
	}
	do(t, "POST", hs.URL+"/v2/models/mnist/infer", []byte(`{"inputs":[]}`), nil) // not counted: rejected before the model

	var cfg tritonConfig
	_, body := do(t, "GET", hs.URL+"/v2/models/mnist/config", nil, nil)
	if err := json.Unmarshal(body, &cfg); err != nil {
		t.Fatal(err)
	}
	if cfg.MaxBatchSize != 8 || cfg.DynamicBatching == nil || len(cfg.Input) != 1 || cfg.Input[0].DataType != "TYPE_FP32" ||
		fmt.Sprint(cfg.Input[0].Dims) != "[1 28 28]" || cfg.InstanceGroup[0].Count != 2 {
		t.Errorf("config: %s", body)
	}

	var st struct {
		ModelStats []modelStatistics `json:"model_stats"`
	}
	_, body = do(t, "GET", hs.URL+"/v2/models/mnist/stats", nil, nil)
	if err := json.Unmarshal(body, &st); err != nil {
		t.Fatal(err)
	}
	if len(st.ModelStats) != 1 || st.ModelStats[0].InferenceStats.Success.Count != 3 || st.ModelStats[0].InferenceCount != 3 {
		t.Errorf("stats: %s", body)
	}

	_, body = do(t, "GET", hs.URL+"/metrics", nil, nil)
	for _, want := range []string{
		`hone_inference_request_success{model="mnist",version="1"} 3`,
		`hone_inference_count{model="mnist",version="1"} 3`,
		`hone_inference_exec_count{model="mnist",version="1"}`,
		`hone_inference_queue_duration_us{model="mnist",version="1"}`,
		`hone_inference_compute_infer_duration_us{model="mnist",version="1"}`,
		`hone_inference_pending_request_count{model="mnist",version="1"} 0`,
		`hone_inference_batch_size_bucket{model="mnist",version="1",le="1"}`,
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}

// TestServerTiming checks the Server-Timing header: a lone request waits max_queue_delay for company before
// its batch runs, so its queue time is at least that, and the server's time nests inside the client's.
func TestServerTiming(t *testing.T) {
	const delay = 20 * time.Millisecond
	_, hs := newTestServer(t, Config{MaxBatchSize: 8, MaxQueueDelay: Duration(delay)}, Options{})
	digits, _ := mnistDigits(t, 1)
	start := time.Now()
	resp, body := do(t, "POST", hs.URL+"/v2/models/mnist/infer", jsonInfer(digits[0]), nil)
	total := time.Since(start)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d: %s", resp.StatusCode, body)
	}
	queue, compute, err := api.ParseServerTiming(resp.Header.Get(api.HeaderServerTiming))
	if err != nil {
		t.Fatal(err)
	}
	if queue < delay-time.Millisecond || compute <= 0 || queue+compute > total {
		t.Errorf("queue %v, compute %v, client saw %v: want queue ≥ %v, compute > 0, their sum ≤ the client's", queue, compute, total, delay)
	}
}
